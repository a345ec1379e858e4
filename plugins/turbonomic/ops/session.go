package ops

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tokenflow/tokenflow/sdk"
)

// Session cache keys (per connection).
const (
	keyVersion = "version"
	keyLogin   = "login"
)

// cookieName is the session cookie Turbonomic's login sets.
const cookieName = "JSESSIONID"

// loginSession is a connection's login: the cookies the login answer set.
type loginSession struct {
	user    string
	cookies []*http.Cookie
	// noCookie notes a login answer without a JSESSIONID (as a replayed cassette has, whose
	// cookies are masked); a later 401 then says so.
	noCookie bool
}

// apiBase returns the API base URL with a trailing slash: the connection's url plus
// /api/v3/ (a url that already ends in /api/v3 is taken as is).
func apiBase(c *sdk.Call) (string, error) {
	raw := strings.TrimSpace(c.Conn.String("url"))
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", sdk.InvalidArgument("url", "want the appliance's base URL, like https://turbonomic.example.com")
	}
	p := strings.TrimRight(u.Path, "/")
	p = strings.TrimSuffix(p, "/api/v3")
	u.Path, u.RawPath, u.RawQuery, u.Fragment = p+"/api/v3/", "", "", ""
	return u.String(), nil
}

// credentials returns the connection's login: username and password, or vmt-connect's
// pre-encoded auth string (base64 of "user:pass").
func credentials(c *sdk.Call) (string, string, error) {
	user, pass := c.Conn.String("username"), c.Conn.String("password")
	if user != "" || pass != "" {
		if user == "" || pass == "" {
			return "", "", sdk.InvalidArgument("username", "connect() needs both username and password (or auth)")
		}
		return user, pass, nil
	}
	if auth := c.Conn.String("auth"); auth != "" {
		u, p, err := decodeAuth(auth)
		if err != nil {
			return "", "", sdk.InvalidArgument("auth", "%v", err)
		}
		return u, p, nil
	}
	return "", "", sdk.InvalidArgument("username", "connect() needs username and password, or auth (decrypt_credentials(...).auth)")
}

// decodeAuth splits vmt-connect's auth string, base64("user:pass"). Errors never quote it.
func decodeAuth(auth string) (string, string, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(auth))
	if err != nil {
		return "", "", errors.New("auth is not base64 of \"user:password\"")
	}
	u, p, ok := strings.Cut(string(raw), ":")
	if !ok || u == "" || p == "" {
		return "", "", errors.New("auth does not decode to \"user:password\"")
	}
	return u, p, nil
}

// newRequest builds a request for path (relative to the API base) with query.
func newRequest(ctx context.Context, c *sdk.Call, method, path string, query url.Values, body io.Reader) (*http.Request, error) {
	base, err := apiBase(c)
	if err != nil {
		return nil, err
	}
	u := base + strings.TrimLeft(path, "/")
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	if body == nil {
		body = http.NoBody
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, sdk.InvalidArgument("url", "%v", err)
	}
	req.Header.Set("Accept", "application/json")
	return req, nil
}

func jsonBody(v any) (io.Reader, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, sdk.Errorf(sdk.CodeInternal, "encode request: %v", err)
	}
	return bytes.NewReader(b), nil
}

// send performs one exchange without following redirects: Turbonomic's API does not redirect,
// and vmt-connect's login refuses to (a redirect means http where https was meant).
func send(c *sdk.Call, req *http.Request) (*http.Response, []byte, error) {
	hc := *c.HTTP
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, sdk.Errorf(sdk.CodeUnavailable, "read response: %v", err)
	}
	return resp, data, nil
}

// apiErrorBody is Turbonomic's error DTO (turbo-api pkg/api/type.go).
type apiErrorBody struct {
	Type      int    `json:"type"`
	Exception string `json:"exception"`
	Message   string `json:"message"`
}

// apiError turns a non-2xx answer into a typed error carrying Turbonomic's message and
// exception name, and its Retry-After on 429/503.
func apiError(what string, resp *http.Response, body []byte) *sdk.Error {
	e := sdk.FromResponse(what, resp, body)
	var b apiErrorBody
	if json.Unmarshal(body, &b) == nil && b.Message != "" {
		e.Message = fmt.Sprintf("%s: HTTP %d: %s", what, resp.StatusCode, b.Message)
		if b.Exception != "" {
			e.Message += " (" + b.Exception + ")"
		}
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		e.Code = sdk.CodeInvalidArgument
		e.Message = fmt.Sprintf("%s: HTTP %d: redirected to %s; connect to that URL (https?) instead", what, resp.StatusCode, resp.Header.Get("Location"))
	}
	if e.RetryAfter > 0 {
		e.Message += fmt.Sprintf("; the server asks to retry after %s", e.RetryAfter)
	}
	return e
}

// formBody encodes fields as multipart/form-data, as vmt-connect's login sends them
// (requests' files= with no file names). The boundary is fixed so a recorded login matches on
// replay; it is changed only in the unlikely case a value contains it.
func formBody(fields [][2]string) ([]byte, string) {
	boundary := "tokenflow-turbonomic-form"
	for i := 1; ; i++ {
		clash := false
		for _, f := range fields {
			clash = clash || strings.Contains(f[1], boundary)
		}
		if !clash {
			break
		}
		boundary = "tokenflow-turbonomic-form-" + strconv.Itoa(i)
	}
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	_ = w.SetBoundary(boundary)
	for _, f := range fields {
		_ = w.WriteField(f[0], f[1])
	}
	_ = w.Close()
	return buf.Bytes(), w.FormDataContentType()
}

// postLogin sends POST login with a username and password. It is marked as a session
// request, so a dry-run sends it.
func postLogin(ctx context.Context, c *sdk.Call, user, pass string) (*http.Response, []byte, error) {
	body, ctype := formBody([][2]string{{"username", user}, {"password", pass}})
	req, err := newRequest(ctx, c, http.MethodPost, "login", nil, bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", ctype)
	return send(c, sdk.MarkSession(req))
}

// login logs the connection's user in.
func login(ctx context.Context, c *sdk.Call) (*loginSession, error) {
	user, pass, err := credentials(c)
	if err != nil {
		return nil, err
	}
	resp, data, err := postLogin(ctx, c, user, pass)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusUnauthorized {
		return nil, sdk.Unauthenticated("log in as %q: HTTP 401: the username or password was rejected", user)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, apiError("log in as "+strconv.Quote(user), resp, data)
	}
	s := &loginSession{user: user, cookies: resp.Cookies()}
	s.noCookie = true
	for _, ck := range s.cookies {
		if ck.Name == cookieName && ck.Value != "" {
			s.noCookie = false
		}
	}
	if s.noCookie {
		c.Logger.Debug("the login answer set no JSESSIONID cookie (a replayed cassette masks it); later requests may be refused", "user", user)
	}
	return s, nil
}

// session returns the connection's login, logging in once per connection.
func session(ctx context.Context, c *sdk.Call) (*loginSession, error) {
	v, err := c.Session().Once(keyLogin, func() (any, error) { return login(ctx, c) })
	if err != nil {
		return nil, err
	}
	return v.(*loginSession), nil
}

func withCookies(req *http.Request, cookies []*http.Cookie) {
	for _, ck := range cookies {
		req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
	}
}

// checkedVersion returns the appliance's version, fetched and checked against min_version
// and allow_snapshot once per connection, before the connection's first request of any op.
// admin/versions is asked without credentials first, as vmt-connect's probe does, so an
// unsupported appliance never sees a password; when it demands a login, the login comes
// first.
func checkedVersion(ctx context.Context, c *sdk.Call) (*applianceVersion, error) {
	v, err := c.Session().Once(keyVersion, func() (any, error) {
		spec, err := parseVersionSpec(c.Conn.String("min_version"))
		if err != nil {
			return nil, sdk.InvalidArgument("min_version", "%v", err)
		}
		req, err := newRequest(ctx, c, http.MethodGet, "admin/versions", nil, nil)
		if err != nil {
			return nil, err
		}
		resp, data, err := send(c, req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
			// Not session(): Once calls do not nest (this runs inside one).
			s, err := login(ctx, c)
			if err != nil {
				return nil, err
			}
			c.Session().Set(keyLogin, s)
			if req, err = newRequest(ctx, c, http.MethodGet, "admin/versions", nil, nil); err != nil {
				return nil, err
			}
			withCookies(req, s.cookies)
			if resp, data, err = send(c, req); err != nil {
				return nil, err
			}
		}
		if resp.StatusCode != http.StatusOK {
			e := apiError("get versions", resp, data)
			if resp.StatusCode == http.StatusNotFound {
				e.Code = sdk.CodeInvalidArgument
				e.Message += "; the appliance has no /api/v3 (Classic before 7.21 serves /vmturbo/rest/, which this plugin does not use): is url a Turbonomic XL appliance?"
			}
			return nil, e
		}
		var vr versionsResponse
		if err := json.Unmarshal(data, &vr); err != nil || vr.VersionInfo == "" {
			return nil, sdk.Errorf(sdk.CodeInvalidArgument, "get versions: the answer has no versionInfo; is url a Turbonomic appliance? Nothing was changed")
		}
		ver, err := parseVersion(vr)
		if err != nil {
			return nil, sdk.Errorf(sdk.CodeInvalidArgument, "cannot tell the Turbonomic version (vmt-connect would refuse it too): %v; nothing was changed", err)
		}
		if e := spec.check(ver, c.Conn.Bool("allow_snapshot")); e != nil {
			return nil, e
		}
		return ver, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*applianceVersion), nil
}

// do sends an authenticated API request after the version check, with disable_hateoas=true
// as vmt-connect adds to every call but login and versions. A 401 means the session expired:
// it logs in once more and retries once, never more.
func do(ctx context.Context, c *sdk.Call, method, path string, query url.Values, body any) (*http.Response, []byte, error) {
	if _, err := checkedVersion(ctx, c); err != nil {
		return nil, nil, err
	}
	if query.Get("disable_hateoas") == "" {
		q := url.Values{"disable_hateoas": {"true"}}
		for k, v := range query {
			q[k] = v
		}
		query = q
	}
	var payload []byte
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, nil, sdk.Errorf(sdk.CodeInternal, "encode request: %v", err)
		}
		payload = b
	}
	for attempt := 0; ; attempt++ {
		s, err := session(ctx, c)
		if err != nil {
			return nil, nil, err
		}
		var rd io.Reader
		if payload != nil {
			rd = bytes.NewReader(payload)
		}
		req, err := newRequest(ctx, c, method, path, query, rd)
		if err != nil {
			return nil, nil, err
		}
		if payload != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		withCookies(req, s.cookies)
		resp, data, err := send(c, req)
		if err != nil {
			return nil, nil, err
		}
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 {
			c.Session().Delete(keyLogin)
			continue
		}
		if resp.StatusCode == http.StatusUnauthorized && s.noCookie {
			e := apiError(method+" "+path, resp, data)
			e.Message += " (the login answer set no JSESSIONID cookie)"
			return nil, nil, e
		}
		return resp, data, nil
	}
}

// doJSON is do for a JSON answer: a non-2xx status is an error, a 2xx body is decoded into
// out (when not nil).
func doJSON(ctx context.Context, c *sdk.Call, what, method, path string, query url.Values, body, out any) error {
	resp, data, err := do(ctx, c, method, path, query, body)
	if err != nil {
		return err
	}
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return apiError(what, resp, data)
	}
	if out != nil && len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return sdk.Errorf(sdk.CodeInternal, "%s: decode response: %v", what, err)
		}
	}
	return nil
}

// logout ends a session (POST logout, marked as a session request). The logout path is not
// documented; a server without it (404, 405) simply lets the session time out.
func logout(ctx context.Context, c *sdk.Call, cookies []*http.Cookie) error {
	req, err := newRequest(ctx, c, http.MethodPost, "logout", nil, nil)
	if err != nil {
		return err
	}
	withCookies(req, cookies)
	resp, data, err := send(c, sdk.MarkSession(req))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 && resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed && resp.StatusCode != http.StatusUnauthorized {
		return apiError("log out", resp, data)
	}
	return nil
}

// closeSession logs out the connection's session, if it logged in.
func closeSession(ctx context.Context, c *sdk.Call) error {
	v, ok := c.Session().Get(keyLogin)
	if !ok {
		return nil
	}
	c.Session().Delete(keyLogin)
	return logout(ctx, c, v.(*loginSession).cookies)
}
