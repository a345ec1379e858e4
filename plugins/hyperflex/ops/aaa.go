package ops

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tokenflow/tokenflow/sdk"
)

// The AAA API (vendors.md section 1). Every call is a POST with a JSON body.
const (
	authPath     = "/aaa/v1/auth?grant_type=password"
	refreshPath  = "/aaa/v1/token?grant_type=refresh"
	validatePath = "/aaa/v1/validate"
	revokePath   = "/aaa/v1/revoke"
)

// The OAuth client every HyperFlex login names: the HX Connect GUI's fixed values, which the
// hx-api-token-manager client sends too.
const (
	guiClientID     = "HxGuiClient"
	guiClientSecret = "Sunnyvale"
	guiRedirectURI  = "http://localhost:8080/aaa/redirect"
)

// tokenPair is the body of an auth or refresh answer, and of refresh and revoke requests.
type tokenPair struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
}

// tokenResults are the result fields of an op that returns a token pair.
var tokenResults = []sdk.Field{
	{Name: "access_token", Type: sdk.Secret, Doc: "the access token (a JWT); API calls send Authorization: Bearer <access_token>"},
	{Name: "refresh_token", Type: sdk.Secret, Doc: "the refresh token (64 hex characters)"},
	{Name: "token_type", Type: sdk.String, Doc: `"Bearer"`},
	{Name: "issued_at", Type: sdk.Timestamp, Doc: "from the access token's issuedAt claim; None when the token is not a JWT"},
	{Name: "expires_at", Type: sdk.Timestamp, Doc: "from the access token's exp claim (18 days after issue); None when the token is not a JWT"},
}

// result is the answer of an op returning a pair, with the expiry read from the JWT when it
// is one. A token that is not a JWT (a replayed, redacted one) simply has no dates.
func (p tokenPair) result() map[string]any {
	m := map[string]any{"access_token": p.AccessToken, "refresh_token": p.RefreshToken, "token_type": p.TokenType}
	if c, err := parseClaims(p.AccessToken); err == nil {
		if !c.issuedAt.IsZero() {
			m["issued_at"] = c.issuedAt.Format(time.RFC3339Nano)
		}
		if !c.expiresAt.IsZero() {
			m["expires_at"] = c.expiresAt.Format(time.RFC3339)
		}
	}
	return m
}

var tokenTypeParam = sdk.Field{Name: "token_type", Type: sdk.String, Default: "Bearer", Doc: "the pair's token type, as obtain returned it"}

func obtainTokenOp() sdk.Op {
	return sdk.Op{
		Name: "obtain_token",
		Doc:  "Log in and obtain a new token pair (POST /aaa/v1/auth; rate limited by the cluster, so reuse tokens)",
		// A login creates a session on the cluster and spends the AAA rate limit: a dry-run
		// shows the request instead of sending it.
		Effect: sdk.Write,
		Params: []sdk.Field{
			{Name: "username", Type: sdk.String, Required: true, Doc: "HyperFlex user, e.g. admin or local/root"},
			{Name: "password", Type: sdk.Secret, Required: true},
		},
		Results: tokenResults,
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			user := c.Args.String("username")
			if user == "" {
				return nil, sdk.InvalidArgument("username", "is empty")
			}
			if c.Args.String("password") == "" {
				return nil, sdk.InvalidArgument("password", "is empty")
			}
			body := map[string]string{
				"username":      user,
				"password":      c.Args.String("password"),
				"client_id":     guiClientID,
				"client_secret": guiClientSecret,
				"redirect_uri":  guiRedirectURI,
			}
			resp, data, err := post(ctx, c, authPath, body)
			if err != nil {
				return nil, err
			}
			switch {
			case resp.StatusCode == http.StatusCreated:
			case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
				e := sdk.FromResponse("obtain token", resp, data)
				e.Code = sdk.CodeUnauthenticated
				e.Message = fmt.Sprintf("obtain token: HTTP %d: the cluster rejected the login of user %q (wrong username or password?)", resp.StatusCode, user)
				return nil, e
			default:
				return nil, failure("obtain token", resp, data)
			}
			pair, err := decodePair("obtain token", data)
			if err != nil {
				return nil, err
			}
			return pair.result(), nil
		},
	}
}

func refreshTokenOp() sdk.Op {
	return sdk.Op{
		Name:   "refresh_token",
		Doc:    "Exchange a token pair for a new one without the password (POST /aaa/v1/token); the old pair stops working",
		Effect: sdk.Write,
		Params: []sdk.Field{
			{Name: "access_token", Type: sdk.Secret, Required: true, Doc: "the pair's access token (an expired one is fine)"},
			{Name: "refresh_token", Type: sdk.Secret, Required: true},
			tokenTypeParam,
			{Name: "rejected_ok", Type: sdk.Bool, Default: false, Doc: "when the cluster rejects the pair (revoked, replaced, unknown), return refreshed = False instead of failing"},
		},
		Results: append([]sdk.Field{
			{Name: "refreshed", Type: sdk.Bool, Doc: "whether a new pair was issued (False only with rejected_ok)"},
			{Name: "status", Type: sdk.Int, Doc: "HTTP status of the answer"},
		}, tokenResults...),
		// A refresh cut off in flight cannot be looked up: its new pair is known only to the
		// answer that was lost. Sending it again is right either way: when the first one never
		// reached the cluster this one refreshes; when it did, the old pair is refused and, with
		// rejected_ok, the flow learns refreshed = False and logs in anew (token.star). The lost
		// pair is never used and expires on its own.
		Reconcile: sdk.Resend,
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			body := tokenPair{AccessToken: c.Args.String("access_token"), RefreshToken: c.Args.String("refresh_token"), TokenType: c.Args.String("token_type")}
			resp, data, err := post(ctx, c, refreshPath, body)
			if err != nil {
				return nil, err
			}
			if rejected(resp.StatusCode) {
				if c.Args.Bool("rejected_ok") {
					return map[string]any{"refreshed": false, "status": resp.StatusCode}, nil
				}
				e := sdk.FromResponse("refresh token", resp, data)
				e.Code = sdk.CodeUnauthenticated
				e.Message = fmt.Sprintf("refresh token: HTTP %d: the cluster rejected the token pair (revoked, already refreshed, or unknown); obtain a new one", resp.StatusCode)
				return nil, e
			}
			if resp.StatusCode != http.StatusCreated {
				return nil, failure("refresh token", resp, data)
			}
			pair, err := decodePair("refresh token", data)
			if err != nil {
				return nil, err
			}
			m := pair.result()
			m["refreshed"] = true
			m["status"] = resp.StatusCode
			return m, nil
		},
	}
}

func validateTokenOp() sdk.Op {
	return sdk.Op{
		Name:   "validate_token",
		Doc:    "Ask the cluster whether an access token is valid for a scope (POST /aaa/v1/validate); an invalid token is valid = False, not an error",
		Effect: sdk.Read,
		Params: []sdk.Field{
			{Name: "access_token", Type: sdk.Secret, Required: true},
			{Name: "scope", Type: sdk.String, Default: "READ", Doc: "READ or MODIFY"},
			tokenTypeParam,
		},
		Results: []sdk.Field{
			{Name: "valid", Type: sdk.Bool, Doc: "True when the cluster answered 200"},
			{Name: "status", Type: sdk.Int, Doc: "HTTP status of the answer: 200, or 401 (invalid, expired, revoked), 403 (scope not granted), 400"},
		},
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			scope := c.Args.String("scope")
			if scope != "READ" && scope != "MODIFY" {
				return nil, sdk.InvalidArgument("scope", "%q: want READ or MODIFY", scope)
			}
			body := map[string]string{"access_token": c.Args.String("access_token"), "scope": scope, "token_type": c.Args.String("token_type")}
			resp, data, err := post(ctx, c, validatePath, body)
			if err != nil {
				return nil, err
			}
			switch {
			case resp.StatusCode == http.StatusOK:
				return map[string]any{"valid": true, "status": resp.StatusCode}, nil
			case rejected(resp.StatusCode):
				return map[string]any{"valid": false, "status": resp.StatusCode}, nil
			}
			// A throttled or failing cluster says nothing about the token: reporting it as
			// invalid would make a flow log in again, which is what the rate limit punishes.
			return nil, failure("validate token", resp, data)
		},
	}
}

func revokeTokenOp() sdk.Op {
	return sdk.Op{
		Name:   "revoke_token",
		Doc:    "Revoke a token pair (POST /aaa/v1/revoke); both tokens stop working",
		Effect: sdk.Write,
		Params: []sdk.Field{
			{Name: "access_token", Type: sdk.Secret, Required: true, Doc: "the pair's current access token"},
			{Name: "refresh_token", Type: sdk.Secret, Required: true},
			tokenTypeParam,
			{Name: "rejected_ok", Type: sdk.Bool, Default: false, Doc: "when the cluster rejects the pair (already revoked or unknown), return revoked = False instead of failing"},
		},
		Results: []sdk.Field{
			{Name: "revoked", Type: sdk.Bool, Doc: "whether the cluster revoked the pair (False only with rejected_ok)"},
			{Name: "status", Type: sdk.Int, Doc: "HTTP status of the answer"},
		},
		// Revoking twice is harmless: with rejected_ok the second answers revoked = False.
		Reconcile: sdk.Resend,
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			body := tokenPair{AccessToken: c.Args.String("access_token"), RefreshToken: c.Args.String("refresh_token"), TokenType: c.Args.String("token_type")}
			resp, data, err := post(ctx, c, revokePath, body)
			if err != nil {
				return nil, err
			}
			switch {
			case resp.StatusCode == http.StatusOK:
				return map[string]any{"revoked": true, "status": resp.StatusCode}, nil
			case rejected(resp.StatusCode) && c.Args.Bool("rejected_ok"):
				return map[string]any{"revoked": false, "status": resp.StatusCode}, nil
			case rejected(resp.StatusCode):
				e := sdk.FromResponse("revoke token", resp, data)
				e.Code = sdk.CodeUnauthenticated
				e.Message = fmt.Sprintf("revoke token: HTTP %d: the cluster rejected the token pair (already revoked, refreshed since, or unknown)", resp.StatusCode)
				return nil, e
			}
			return nil, failure("revoke token", resp, data)
		},
	}
}

// rejected reports whether a status means the cluster refused the token or credentials
// themselves, rather than being unable to answer.
func rejected(status int) bool {
	return status == http.StatusBadRequest || status == http.StatusUnauthorized || status == http.StatusForbidden
}

// failure turns an unexpected answer into an error. A 429 gets a message that says what the
// AAA rate limit is and how to stay under it.
func failure(what string, resp *http.Response, data []byte) *sdk.Error {
	e := sdk.FromResponse(what, resp, data)
	if resp.StatusCode == http.StatusTooManyRequests {
		e.Code, e.Retryable = sdk.CodeRateLimited, true
		wait := "later"
		if e.RetryAfter > 0 {
			wait = "in " + e.RetryAfter.String()
		}
		e.Message = fmt.Sprintf("%s: HTTP 429: the cluster's AAA rate limit was reached; the cluster asks to try again %s. "+
			"HyperFlex limits logins since HX 4.0(2a): keep the token in a token file and reuse or refresh it (flows/hyperflex/token.star) instead of logging in on every run", what, wait)
		return e
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		e.Message = fmt.Sprintf("%s: unexpected HTTP %d (the AAA API answers %s)", what, resp.StatusCode, expectedStatus(what))
	}
	return e
}

func expectedStatus(what string) string {
	if strings.HasPrefix(what, "obtain") || strings.HasPrefix(what, "refresh") {
		return "201"
	}
	return "200"
}

func decodePair(what string, data []byte) (tokenPair, error) {
	var p tokenPair
	if err := json.Unmarshal(data, &p); err != nil || p.AccessToken == "" || p.RefreshToken == "" {
		return p, sdk.Errorf(sdk.CodeInternal, "%s: the answer holds no access_token and refresh_token", what)
	}
	if p.TokenType == "" {
		p.TokenType = "Bearer"
	}
	return p, nil
}

// post sends one AAA call: a JSON body, Content-Type application/json, no Authorization
// header, exactly as the vendor's client does.
func post(ctx context.Context, c *sdk.Call, pathQuery string, body any) (*http.Response, []byte, error) {
	base := strings.TrimRight(c.Conn.String("url"), "/")
	b, err := json.Marshal(body)
	if err != nil {
		return nil, nil, sdk.Errorf(sdk.CodeInternal, "encode request: %v", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+pathQuery, bytes.NewReader(b))
	if err != nil {
		return nil, nil, sdk.InvalidArgument("url", "%v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	return c.Send(req)
}
