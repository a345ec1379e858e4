package ops

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"

	"github.com/tokenflow/tokenflow/sdk"
)

const (
	authHeader = "X-F5-Auth-Token"
	loginPath  = "/mgmt/shared/authn/login"
	tokensPath = "/mgmt/shared/authz/tokens"
	// tokenGone is what BIG-IP answers (401) for an expired, revoked or
	// unknown X-F5-Auth-Token; clients match on it to log in again.
	tokenGone  = "X-F5-Auth-Token does not exist"
	sessionKey = "bigip.session"
)

// session is the auth token a connection's ops authenticate with: the one
// given in the connection, or one this plugin logged in for. Swapping it
// (re-login after BIG-IP dropped it, or after an op revoked it) happens
// under mu, so calls that fail together log in once, not once each.
type session struct {
	mu       sync.Mutex
	token    string // "" once revoked; the next call logs in
	acquired bool   // we logged in for it, so CloseSession deletes it
}

// loginResponse is the answer of POST /mgmt/shared/authn/login.
type loginResponse struct {
	Username          string    `json:"username"`
	LoginProviderName string    `json:"loginProviderName"`
	Token             tokenItem `json:"token"`
}

// login posts the credentials and returns the token item. markSession says
// whether the request opens the connection's session (sent in a dry-run)
// rather than being the login op's own write.
func login(ctx context.Context, c *sdk.Call, user, pass, provider string, markSession bool) (*tokenItem, error) {
	if user == "" || pass == "" {
		return nil, sdk.InvalidArgument("username", "logging in to BIG-IP needs a username and a password")
	}
	if provider == "" {
		provider = DefaultLoginProvider
	}
	req, err := newRequest(ctx, c, http.MethodPost, loginPath, map[string]string{
		"username": user, "password": pass, "loginProviderName": provider,
	})
	if err != nil {
		return nil, err
	}
	if markSession {
		req = sdk.MarkSession(req)
	}
	resp, data, err := c.Send(req)
	if err != nil {
		return nil, err
	}
	what := "log in as " + user + " (login provider " + provider + ")"
	if resp.StatusCode != http.StatusOK {
		// Never show the body: BIG-IP echoes the request, password
		// included, in originalRequestBody. FromResponse keeps only the
		// message.
		e := sdk.FromResponse(what, resp, data)
		switch {
		case resp.StatusCode == http.StatusUnauthorized:
			e.Message = what + ": HTTP 401: the username or password was rejected"
		case strings.Contains(e.Message, "maximum active login tokens"):
			e.Code = sdk.CodePermissionDenied
			e.Message += " (BIG-IP allows 100 active tokens per user: revoke unused ones, e.g. with flows/bigip/cleanup.star)"
		}
		return nil, e
	}
	var lr loginResponse
	if err := json.Unmarshal(data, &lr); err != nil || lr.Token.Token == "" {
		return nil, sdk.Errorf(sdk.CodeInternal, "%s: the response carries no token", what)
	}
	if lr.Token.UserName == "" {
		lr.Token.UserName = lr.Username
	}
	if lr.Token.AuthProviderName == "" {
		lr.Token.AuthProviderName = provider
	}
	return &lr.Token, nil
}

// connLogin logs in with the connection's credentials for its session.
func connLogin(ctx context.Context, c *sdk.Call) (string, error) {
	if c.Conn.String("username") == "" || c.Conn.String("password") == "" {
		return "", sdk.InvalidArgument("username", "connect(\"bigip\", ...) needs username and password, or token")
	}
	t, err := login(ctx, c, c.Conn.String("username"), c.Conn.String("password"), c.Conn.String("login_provider"), true)
	if err != nil {
		return "", err
	}
	return t.Token, nil
}

// getSession returns the connection's session, logging in on first use: one
// login per connection, shared by all its calls.
func getSession(ctx context.Context, c *sdk.Call) (*session, string, error) {
	v, err := c.Session().Once(sessionKey, func() (any, error) {
		if t := c.Conn.String("token"); t != "" {
			return &session{token: t}, nil
		}
		t, err := connLogin(ctx, c)
		if err != nil {
			return nil, err
		}
		return &session{token: t, acquired: true}, nil
	})
	if err != nil {
		return nil, "", err
	}
	s := v.(*session)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token == "" { // an op revoked it
		t, err := connLogin(ctx, c)
		if err != nil {
			return nil, "", err
		}
		s.token, s.acquired = t, true
	}
	return s, s.token, nil
}

// relogin replaces stale, the token BIG-IP just said does not exist. When
// another call already replaced it, that token is used: one login per
// expiry, never a storm.
func (s *session) relogin(ctx context.Context, c *sdk.Call, stale string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token != stale && s.token != "" {
		return s.token, nil
	}
	if c.Conn.String("username") == "" || c.Conn.String("password") == "" {
		return "", sdk.Unauthenticated("BIG-IP says the connection's token does not exist (expired or revoked), and the connection has no username and password to log in again")
	}
	t, err := connLogin(ctx, c)
	if err != nil {
		return "", err
	}
	s.token, s.acquired = t, true
	return t, nil
}

// forget drops the session token when an op revoked it.
func (s *session) forget(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token == tok {
		s.token, s.acquired = "", false
	}
}

// currentToken is the session token if the connection has one, without
// logging in.
func currentToken(c *sdk.Call) string {
	v, ok := c.Session().Get(sessionKey)
	if !ok {
		return ""
	}
	s := v.(*session)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.token
}

func newRequest(ctx context.Context, c *sdk.Call, method, path string, body any) (*http.Request, error) {
	return sdk.NewJSONRequest(ctx, method, c.Conn.String("url"), path, body)
}

// isTokenGone reports whether a response says the auth token does not exist.
func isTokenGone(resp *http.Response, body []byte) bool {
	if resp.StatusCode != http.StatusUnauthorized {
		return false
	}
	var e struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(body, &e)
	return strings.Contains(e.Message, tokenGone) || strings.Contains(string(body), tokenGone)
}

// request is one authenticated iControl REST request.
type request struct {
	what   string // names it in errors: "extend token"
	method string
	path   string
	body   any
	// note is shown beside the request in a dry-run plan.
	noteKey, note string
}

// do sends an authenticated request with the session token and returns the
// 2xx answer. When BIG-IP says the token does not exist, it logs in once
// more and retries once, never more.
func do(ctx context.Context, c *sdk.Call, r request) (*http.Response, []byte, error) {
	s, tok, err := getSession(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	for attempt := 0; ; attempt++ {
		req, err := newRequest(ctx, c, r.method, r.path, r.body)
		if err != nil {
			return nil, nil, err
		}
		req.Header.Set(authHeader, tok)
		if r.note != "" {
			req = sdk.WithNote(req, r.noteKey, r.note)
		}
		resp, data, err := c.Send(req)
		if err != nil {
			return nil, nil, err
		}
		if attempt == 0 && isTokenGone(resp, data) {
			if tok, err = s.relogin(ctx, c, tok); err != nil {
				return nil, nil, err
			}
			continue
		}
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return resp, data, sdk.FromResponse(r.what, resp, data)
		}
		return resp, data, nil
	}
}

// decode unmarshals a JSON answer.
func decode(what string, data []byte, out any) error {
	if err := json.Unmarshal(data, out); err != nil {
		return sdk.Errorf(sdk.CodeInternal, "%s: decode response: %v", what, err)
	}
	return nil
}

// tokenPath is the URL path of a token. BIG-IP tokens are base32 and need no
// escaping; checkToken has refused anything that could change the URL's
// structure. (Not escaping also keeps a cassette's masked "***" as it was
// recorded.)
func tokenPath(tok string) string { return tokensPath + "/" + tok }

// checkToken refuses a value that cannot be an auth token in a URL path,
// without repeating the value.
func checkToken(param, tok string) error {
	if tok == "" {
		return sdk.InvalidArgument(param, "empty token")
	}
	if strings.ContainsAny(tok, "/?#%\\ \t\r\n") || strings.ContainsFunc(tok, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return sdk.InvalidArgument(param, "not a BIG-IP auth token (it holds characters that cannot appear in one)")
	}
	return nil
}

// closeSession deletes the token this plugin logged in for (a logout). A
// token given in the connection is left alone.
func closeSession(ctx context.Context, c *sdk.Call) error {
	v, ok := c.Session().Get(sessionKey)
	if !ok {
		return nil
	}
	s := v.(*session)
	s.mu.Lock()
	tok, acquired := s.token, s.acquired
	s.token, s.acquired = "", false
	s.mu.Unlock()
	if !acquired || tok == "" {
		return nil
	}
	req, err := newRequest(ctx, c, http.MethodDelete, tokenPath(tok), nil)
	if err != nil {
		return err
	}
	req.Header.Set(authHeader, tok)
	resp, data, err := c.Send(sdk.MarkSession(req))
	if err != nil {
		return err
	}
	// Already gone (expired, or revoked by the flow): nothing to do.
	if resp.StatusCode >= 300 && resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusNotFound {
		return sdk.FromResponse("log out (delete the session token)", resp, data)
	}
	return nil
}
