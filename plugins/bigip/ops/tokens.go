package ops

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/tokenflow/tokenflow/sdk"
)

// tokenItem is a token on the wire (shared:authz:tokens:authtokenitemstate).
type tokenItem struct {
	Token            string `json:"token"`
	Name             string `json:"name"`
	UserName         string `json:"userName"`
	AuthProviderName string `json:"authProviderName"`
	User             struct {
		Link string `json:"link"`
	} `json:"user"`
	Timeout          int64  `json:"timeout"`
	StartTime        string `json:"startTime"`
	Address          string `json:"address"`
	LastUpdateMicros int64  `json:"lastUpdateMicros"`
	ExpirationMicros int64  `json:"expirationMicros"`
}

// startTimeLayouts are the ways BIG-IP writes startTime
// ("2019-10-17T10:14:52.364-0700").
var startTimeLayouts = []string{"2006-01-02T15:04:05.000-0700", "2006-01-02T15:04:05-0700", time.RFC3339Nano}

func (t tokenItem) start() time.Time {
	for _, l := range startTimeLayouts {
		if ts, err := time.Parse(l, t.StartTime); err == nil {
			return ts
		}
	}
	return time.Time{}
}

// expires is when BIG-IP drops the token: expirationMicros, or, as the
// icontrol client falls back, the last update plus the timeout.
func (t tokenItem) expires() time.Time {
	if t.ExpirationMicros > 0 {
		return time.UnixMicro(t.ExpirationMicros)
	}
	base := t.start()
	if t.LastUpdateMicros > 0 {
		base = time.UnixMicro(t.LastUpdateMicros)
	}
	if base.IsZero() || t.Timeout <= 0 {
		return time.Time{}
	}
	return base.Add(time.Duration(t.Timeout) * time.Second)
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// result is the op result of one token. current says whether it is the
// token the connection itself authenticates with.
func (t tokenItem) result(current string) map[string]any {
	tok := t.Token
	if tok == "" {
		tok = t.Name
	}
	m := map[string]any{
		"token":          tok,
		"user":           t.UserName,
		"login_provider": t.AuthProviderName,
		"timeout":        t.Timeout,
		"address":        t.Address,
		"current":        current != "" && tok == current,
	}
	if s := rfc3339(t.start()); s != "" {
		m["start_time"] = s
	}
	if s := rfc3339(t.expires()); s != "" {
		m["expires_at"] = s
	}
	return m
}

// describe names a token for a dry-run plan without its value.
func (t tokenItem) describe() string {
	return fmt.Sprintf("user %s, started %s, expires %s, from %s", t.UserName, rfc3339(t.start()), rfc3339(t.expires()), t.Address)
}

// tokenFields are the result fields of one token.
var tokenFields = []sdk.Field{
	{Name: "token", Type: sdk.Secret, Doc: "the auth token (X-F5-Auth-Token)"},
	{Name: "user", Type: sdk.String, Doc: "the user it belongs to"},
	{Name: "login_provider", Type: sdk.String},
	{Name: "timeout", Type: sdk.Int, Doc: "lifetime in seconds, measured from start_time"},
	{Name: "start_time", Type: sdk.Timestamp},
	{Name: "expires_at", Type: sdk.Timestamp, Doc: "as BIG-IP computed it (expirationMicros)"},
	{Name: "address", Type: sdk.String, Doc: "client address that logged in"},
	{Name: "current", Type: sdk.Bool, Doc: "whether it is the token the connection itself authenticates with"},
}

var tokenParam = sdk.Field{Name: "token", Type: sdk.Secret, Required: true, Doc: "the auth token"}

func tokenArg(c *sdk.Call) (string, error) {
	t := c.Args.String("token")
	if err := checkToken("token", t); err != nil {
		return "", err
	}
	return t, nil
}

func loginOp() sdk.Op {
	return sdk.Op{
		Name:   "login",
		Doc:    "Log in and return a new auth token (it counts toward the user's 100 active tokens)",
		Effect: sdk.Write, // it creates a token
		Params: []sdk.Field{
			{Name: "username", Type: sdk.String, Required: true},
			{Name: "password", Type: sdk.Secret, Required: true},
			{Name: "login_provider", Type: sdk.String, Default: DefaultLoginProvider, Doc: "loginProviderName: tmos for local and system-auth users"},
		},
		Results: tokenFields,
		// A login lost in flight is sent again: the token it may have
		// created cannot be found (only its owner knows it) and expires
		// after BIG-IP's default 20 minutes.
		Reconcile: sdk.Resend,
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			t, err := login(ctx, c, c.Args.String("username"), c.Args.String("password"), c.Args.String("login_provider"), false)
			if err != nil {
				return nil, err
			}
			return t.result(currentToken(c)), nil
		},
	}
}

func listTokensOp() sdk.Op {
	return sdk.Op{
		Name:   "list_tokens",
		Doc:    "List the connection user's active auth tokens",
		Effect: sdk.Read,
		Results: []sdk.Field{
			{Name: "tokens", Type: sdk.List, Elem: sdk.Object, Doc: "one object per token, with the fields of get_token; token is the auth token itself"},
			{Name: "count", Type: sdk.Int},
		},
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			items, err := listItems(ctx, c)
			if err != nil {
				return nil, err
			}
			cur := currentToken(c)
			out := make([]map[string]any, 0, len(items))
			for _, it := range items {
				out = append(out, it.result(cur))
			}
			return map[string]any{"tokens": out, "count": len(out)}, nil
		},
	}
}

func listItems(ctx context.Context, c *sdk.Call) ([]tokenItem, error) {
	const what = "list auth tokens"
	_, data, err := do(ctx, c, request{what: what, method: http.MethodGet, path: tokensPath})
	if err != nil {
		return nil, err
	}
	var coll struct {
		Items []tokenItem `json:"items"`
	}
	if err := decode(what, data, &coll); err != nil {
		return nil, err
	}
	return coll.Items, nil
}

func getTokenOp() sdk.Op {
	return sdk.Op{
		Name: "get_token",
		Doc:  "Read a token, authenticating with that token itself: success proves it works",
		// It sends the token as its own X-F5-Auth-Token rather than the
		// connection's, so it needs no login and verifies the token.
		Effect: sdk.Read,
		Params: []sdk.Field{tokenParam,
			{Name: "missing_ok", Type: sdk.Bool, Default: false, Doc: "answer exists = False, instead of failing, when BIG-IP no longer has the token (expired, revoked or never issued)"}},
		Results: append([]sdk.Field{
			{Name: "exists", Type: sdk.Bool, Doc: "False when missing_ok and BIG-IP no longer has the token (the other fields are then None)"},
		}, tokenFields...),
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			tok, err := tokenArg(c)
			if err != nil {
				return nil, err
			}
			it, err := readToken(ctx, c, tok)
			if sdk.IsCode(err, sdk.CodeUnauthenticated) && c.Args.Bool("missing_ok") {
				return map[string]any{"exists": false}, nil
			}
			if err != nil {
				return nil, err
			}
			r := it.result(currentToken(c))
			r["exists"] = true
			return r, nil
		},
	}
}

// readToken reads a token, authenticating with the token itself. A token
// BIG-IP does not know is an unauthenticated error.
func readToken(ctx context.Context, c *sdk.Call, tok string) (*tokenItem, error) {
	const what = "get auth token"
	req, err := newRequest(ctx, c, http.MethodGet, tokenPath(tok), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set(authHeader, tok)
	resp, data, err := c.Send(req)
	if err != nil {
		return nil, err
	}
	if isTokenGone(resp, data) {
		return nil, sdk.Unauthenticated("%s: the token does not exist on BIG-IP (expired, revoked or never issued)", what)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, sdk.FromResponse(what, resp, data)
	}
	var it tokenItem
	if err := decode(what, data, &it); err != nil {
		return nil, err
	}
	return &it, nil
}

func extendTokenOp() sdk.Op {
	return sdk.Op{
		Name:   "extend_token",
		Doc:    "Set a token's timeout (seconds from its start, at most 36000): PATCH /mgmt/shared/authz/tokens/<token>",
		Effect: sdk.Write,
		Params: []sdk.Field{
			tokenParam,
			{Name: "timeout", Type: sdk.Int, Required: true, Doc: "lifetime in seconds measured from the token's start, 1 to 36000 (10h)"},
		},
		Results: tokenFields,
		// Setting the same timeout again is harmless.
		Reconcile: sdk.Resend,
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			tok, err := tokenArg(c)
			if err != nil {
				return nil, err
			}
			timeout := c.Args.Int("timeout")
			if timeout > MaxTimeout {
				return nil, sdk.InvalidArgument("timeout", "%d seconds is above BIG-IP's absolute token timeout of %d seconds (10h); BIG-IP would refuse it with 406", timeout, MaxTimeout)
			}
			if timeout < 1 {
				return nil, sdk.InvalidArgument("timeout", "%d: want 1 to %d seconds", timeout, MaxTimeout)
			}
			// The token authenticates its own PATCH, as F5's clients do
			// right after a login: no session login for the connection, so
			// a flow that logs in for a token logs in once.
			const what = "extend auth token"
			req, err := newRequest(ctx, c, http.MethodPatch, tokenPath(tok), map[string]int64{"timeout": timeout})
			if err != nil {
				return nil, err
			}
			req.Header.Set(authHeader, tok)
			resp, data, err := c.Send(req)
			if err != nil {
				return nil, err
			}
			if isTokenGone(resp, data) {
				return nil, sdk.NotFound("%s: the token does not exist on BIG-IP (expired, revoked or never issued)", what)
			}
			if resp.StatusCode != http.StatusOK {
				return nil, sdk.FromResponse(what, resp, data)
			}
			var it tokenItem
			if err := decode(what, data, &it); err != nil {
				return nil, err
			}
			return it.result(currentToken(c)), nil
		},
	}
}

func revokeTokenOp() sdk.Op {
	return sdk.Op{
		Name:   "revoke_token",
		Doc:    "Revoke (delete) an auth token: DELETE /mgmt/shared/authz/tokens/<token>",
		Effect: sdk.Write,
		Params: []sdk.Field{
			tokenParam,
			{Name: "missing_ok", Type: sdk.Bool, Default: false, Doc: "succeed (revoked = False) when the token no longer exists, e.g. it expired"},
		},
		Results: []sdk.Field{
			{Name: "revoked", Type: sdk.Bool, Doc: "False when missing_ok and the token was already gone"},
		},
		// A DELETE lost in flight took effect when the token is gone.
		Reconcile: func(ctx context.Context, c *sdk.Call) (any, bool, error) {
			tok, err := tokenArg(c)
			if err != nil {
				return nil, false, err
			}
			if _, err := readToken(ctx, c, tok); err != nil {
				var e *sdk.Error
				if errors.As(err, &e) && e.Code == sdk.CodeUnauthenticated {
					return map[string]any{"revoked": true}, true, nil
				}
				return nil, false, err
			}
			return nil, false, nil
		},
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			tok, err := tokenArg(c)
			if err != nil {
				return nil, err
			}
			gone, err := revoke(ctx, c, tokenItem{Token: tok}, false)
			if err != nil {
				return nil, err
			}
			if gone && !c.Args.Bool("missing_ok") {
				return nil, sdk.NotFound("revoke auth token: the token does not exist on BIG-IP (expired, revoked or never issued); pass missing_ok = True to accept that")
			}
			return map[string]any{"revoked": !gone}, nil
		},
	}
}

// revoke deletes one token with the session's authentication. gone reports
// that BIG-IP no longer had it. A token the session itself used is
// forgotten, so the next call logs in afresh.
func revoke(ctx context.Context, c *sdk.Call, it tokenItem, note bool) (gone bool, err error) {
	if err := checkToken("token", it.Token); err != nil {
		return false, err
	}
	r := request{what: "revoke auth token", method: http.MethodDelete, path: tokenPath(it.Token)}
	if note {
		r.noteKey, r.note = "token", it.describe()
	}
	s, cur, err := getSession(ctx, c)
	if err != nil {
		return false, err
	}
	resp, _, err := do(ctx, c, r)
	if resp != nil && resp.StatusCode == http.StatusNotFound {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	if it.Token == cur {
		s.forget(cur)
	}
	return false, nil
}

func revokeAllTokensOp() sdk.Op {
	return sdk.Op{
		Name:   "revoke_all_tokens",
		Doc:    "Revoke every auth token of the connection's user, except the connection's own when keep_current",
		Effect: sdk.Write,
		Params: []sdk.Field{
			{Name: "keep_current", Type: sdk.Bool, Default: true, Doc: "keep the token the connection authenticates with"},
		},
		Results: []sdk.Field{
			{Name: "revoked", Type: sdk.Int, Doc: "tokens deleted"},
			{Name: "already_gone", Type: sdk.Int, Doc: "tokens that expired between listing and deleting"},
			{Name: "kept", Type: sdk.Int, Doc: "tokens left (the current one when keep_current)"},
		},
		// Listing again and deleting what is left finishes the job.
		Reconcile: sdk.Resend,
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			items, err := listItems(ctx, c)
			if err != nil {
				return nil, err
			}
			cur := currentToken(c)
			keep := c.Args.Bool("keep_current")
			var targets []tokenItem
			var own *tokenItem
			kept := 0
			for i, it := range items {
				switch {
				case it.Token != cur:
					targets = append(targets, it)
				case keep:
					kept++
				default:
					own = &items[i]
				}
			}
			// The connection's own token goes last: the others need it.
			if own != nil {
				targets = append(targets, *own)
			}
			revoked, gone := 0, 0
			var held, failed []error
			for _, it := range targets {
				g, err := revoke(ctx, c, it, true)
				switch {
				case sdk.IsHeld(err):
					// A dry-run holds each DELETE; go on so the plan shows
					// every one of them.
					held = append(held, err)
				case err != nil:
					failed = append(failed, err)
				case g:
					gone++
				default:
					revoked++
				}
			}
			if len(held) > 0 {
				return nil, held[0]
			}
			if len(failed) > 0 {
				prefix := fmt.Sprintf("revoked %d of %d tokens; %d failed, the first: ", revoked, len(targets), len(failed))
				var first *sdk.Error
				if errors.As(failed[0], &first) {
					e := *first
					e.Message = prefix + e.Message
					return nil, &e
				}
				return nil, sdk.Errorf(sdk.CodeInternal, "%s%v", prefix, failed[0])
			}
			return map[string]any{"revoked": revoked, "already_gone": gone, "kept": kept}, nil
		},
	}
}
