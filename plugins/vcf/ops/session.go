package ops

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/tokenflow/tokenflow/sdk"
)

// opsToken is the credential of a connection: an OpsToken (given or acquired) or an SSO
// access token, and the Authorization scheme it goes with.
type opsToken struct {
	token     string
	scheme    string // "OpsToken" or "Bearer"
	expiresAt time.Time
	acquired  bool // we logged in (and so must release), rather than being given the token
}

const sessionKey = "opstoken"

type acquireResponse struct {
	Token     string   `json:"token"`
	Validity  int64    `json:"validity"`
	ExpiresAt string   `json:"expiresAt"`
	Roles     []string `json:"roles"`
}

// acquire logs in with username/password: POST /api/auth/token/acquire.
func acquire(ctx context.Context, c *sdk.Call) (*opsToken, *acquireResponse, error) {
	user, pass := c.Conn.String("username"), c.Conn.String("password")
	if user == "" || pass == "" {
		return nil, nil, sdk.InvalidArgument("username", "connect() needs username and password, token (an OpsToken) or access_token (an SSO access token)")
	}
	body := map[string]string{"username": user, "password": pass}
	if src := c.Conn.String("auth_source"); src != "" {
		body["authSource"] = src
	}
	req, err := newRequest(ctx, c, http.MethodPost, "/suite-api/api/auth/token/acquire", body)
	if err != nil {
		return nil, nil, err
	}
	resp, data, err := c.Send(sdk.MarkSession(req))
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		e := sdk.FromResponse("acquire OpsToken", resp, data)
		if resp.StatusCode == http.StatusUnauthorized {
			e.Message = "acquire OpsToken: HTTP 401: the username or password was rejected"
		}
		return nil, nil, e
	}
	var ar acquireResponse
	if err := json.Unmarshal(data, &ar); err != nil || ar.Token == "" {
		return nil, nil, sdk.Errorf(sdk.CodeInternal, "acquire OpsToken: unexpected response body")
	}
	return &opsToken{token: ar.Token, scheme: "OpsToken", expiresAt: time.UnixMilli(ar.Validity), acquired: true}, &ar, nil
}

// token returns the connection's credential: the given SSO access token
// (Bearer) or OpsToken, or one login per connection shared by all calls. At
// most one of access_token, token and username/password may be set, so which
// one is used is never a guess.
func token(ctx context.Context, c *sdk.Call) (*opsToken, error) {
	access, ops, user := c.Conn.String("access_token"), c.Conn.String("token"), c.Conn.String("username")
	set := 0
	for _, v := range []string{access, ops, user} {
		if v != "" {
			set++
		}
	}
	if set > 1 {
		return nil, sdk.InvalidArgument("access_token", "connect() takes one of access_token, token, or username and password; got more than one")
	}
	if access != "" {
		return &opsToken{token: access, scheme: "Bearer"}, nil
	}
	if ops != "" {
		return &opsToken{token: ops, scheme: "OpsToken"}, nil
	}
	v, err := c.Session().Once(sessionKey, func() (any, error) {
		t, _, err := acquire(ctx, c)
		return t, err
	})
	if err != nil {
		return nil, err
	}
	return v.(*opsToken), nil
}

func newRequest(ctx context.Context, c *sdk.Call, method, path string, body any) (*http.Request, error) {
	return sdk.NewJSONRequest(ctx, method, c.Conn.String("url"), path, body)
}

// auth puts the connection's credential on every request (see token). A
// 401 on a token this plugin acquired means it expired: the next request
// logs in once more. A token the flow gave is refused as it is.
var auth = &sdk.Auth{
	Apply: func(ctx context.Context, c *sdk.Call, req *http.Request) error {
		tok, err := token(ctx, c)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", tok.scheme+" "+tok.token)
		return nil
	},
	Expired: func(c *sdk.Call) bool {
		v, ok := c.Session().Get(sessionKey)
		if !ok || !v.(*opsToken).acquired {
			return false
		}
		c.Session().Delete(sessionKey)
		return true
	},
}

// do sends an authenticated IAM request and decodes a 2xx JSON answer into
// out (when not nil).
func do(ctx context.Context, c *sdk.Call, what, method, path string, body, out any, want ...int) error {
	resp, data, err := auth.Send(ctx, c, func() (*http.Request, error) { return newRequest(ctx, c, method, path, body) })
	if err != nil {
		return err
	}
	if !statusIn(resp.StatusCode, want) {
		return sdk.FromResponse(what, resp, data)
	}
	if out != nil && len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return sdk.Errorf(sdk.CodeInternal, "%s: decode response: %v", what, err)
		}
	}
	return nil
}

func statusIn(code int, want []int) bool {
	if len(want) == 0 {
		return code >= 200 && code < 300
	}
	for _, w := range want {
		if code == w {
			return true
		}
	}
	return false
}

// closeSession releases an OpsToken this plugin acquired.
func closeSession(ctx context.Context, c *sdk.Call) error {
	v, ok := c.Session().Get(sessionKey)
	if !ok {
		return nil
	}
	tok := v.(*opsToken)
	if !tok.acquired {
		return nil
	}
	req, err := newRequest(ctx, c, http.MethodPost, "/suite-api/api/auth/token/release", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "OpsToken "+tok.token)
	resp, data, err := c.Send(sdk.MarkSession(req))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 && resp.StatusCode != http.StatusUnauthorized {
		return sdk.FromResponse("release OpsToken", resp, data)
	}
	return nil
}

// msTime converts VCF's epoch milliseconds to RFC 3339 (zero stays empty).
func msTime(ms int64) string {
	if ms == 0 {
		return ""
	}
	return time.UnixMilli(ms).UTC().Format(time.RFC3339)
}
