package ops

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/tokenflow/tokenflow/sdk"
)

// claims are the parts of a HyperFlex access token's payload tokenflow reads. Every claim is
// optional: a zero value means the token did not carry it.
type claims struct {
	subject         string
	user            string
	session         string // the "token" claim: a session counter kept across refreshes
	scope           []string
	issuer          string
	issuedAt        time.Time // issuedAt, epoch ms
	expiresAt       time.Time // exp, epoch seconds
	tokenLifetime   time.Duration
	idleTimeout     time.Duration
	warnIdleTimeout time.Duration
}

var errNotJWT = errors.New("not a JWT: want three base64url parts separated by dots")

// parseClaims decodes the payload of a JWT without verifying its signature: the key is the
// cluster's, and the cluster is the one to ask whether a token is valid (validate_token).
// The error never quotes the token.
func parseClaims(token string) (claims, error) {
	parts := strings.Split(strings.TrimSpace(token), ".")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
		return claims{}, errNotJWT
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return claims{}, errors.New("not a JWT: the payload is not base64url")
	}
	var raw map[string]any
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return claims{}, errors.New("not a JWT: the payload is not a JSON object")
	}
	var c claims
	c.subject = str(raw["sub"])
	c.user = str(raw["user"])
	c.session = str(raw["token"])
	c.issuer = str(raw["iss"])
	if s := str(raw["scope"]); s != "" {
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				c.scope = append(c.scope, p)
			}
		}
	}
	if n, ok := num(raw["exp"]); ok {
		c.expiresAt = time.Unix(n, 0).UTC()
	}
	if n, ok := num(raw["issuedAt"]); ok {
		c.issuedAt = time.UnixMilli(n).UTC()
	} else if n, ok := num(raw["iat"]); ok {
		c.issuedAt = time.Unix(n, 0).UTC()
	}
	if n, ok := num(raw["tokenLifeTime"]); ok {
		c.tokenLifetime = time.Duration(n) * time.Millisecond
	}
	if n, ok := num(raw["idleTimeout"]); ok {
		c.idleTimeout = time.Duration(n) * time.Millisecond
	}
	if n, ok := num(raw["warnIdleTimeout"]); ok {
		c.warnIdleTimeout = time.Duration(n) * time.Millisecond
	}
	return c, nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// num reads an integer claim, sent as a JSON number or a numeric string.
func num(v any) (int64, bool) {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n, true
		}
		if f, err := x.Float64(); err == nil {
			return int64(f), true
		}
	case string:
		n, err := json.Number(x).Int64()
		return n, err == nil
	}
	return 0, false
}

func decodeTokenOp() sdk.Op {
	return sdk.Op{
		Name:   "decode_token",
		Doc:    "Read an access token's claims (user, scope, issue and expiry times, lifetime, idle timeout) without a request and without verifying its signature",
		Effect: sdk.Read,
		Params: []sdk.Field{
			{Name: "access_token", Type: sdk.Secret, Required: true},
		},
		Results: []sdk.Field{
			{Name: "user", Type: sdk.String, Doc: "the user claim"},
			{Name: "subject", Type: sdk.String, Doc: `the sub claim, "users/<user>"`},
			{Name: "scope", Type: sdk.List, Elem: sdk.String, Doc: `the scope claim split at commas: ["READ", "MODIFY"]`},
			{Name: "issuer", Type: sdk.String, Doc: "the iss claim"},
			{Name: "session", Type: sdk.String, Doc: "the token claim: a session counter that a refresh keeps"},
			{Name: "issued_at", Type: sdk.Timestamp, Doc: "the issuedAt claim"},
			{Name: "expires_at", Type: sdk.Timestamp, Doc: "the exp claim"},
			{Name: "token_lifetime", Type: sdk.Duration, Doc: "the tokenLifeTime claim (18 days)"},
			{Name: "idle_timeout", Type: sdk.Duration, Doc: "the idleTimeout claim (30 minutes)"},
			{Name: "warn_idle_timeout", Type: sdk.Duration, Doc: "the warnIdleTimeout claim"},
		},
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			cl, err := parseClaims(c.Args.String("access_token"))
			if err != nil {
				return nil, sdk.InvalidArgument("access_token", "%v", err)
			}
			m := map[string]any{
				"user": cl.user, "subject": cl.subject, "issuer": cl.issuer, "session": cl.session,
				"scope": append([]string{}, cl.scope...),
			}
			if !cl.issuedAt.IsZero() {
				m["issued_at"] = cl.issuedAt.Format(time.RFC3339Nano)
			}
			if !cl.expiresAt.IsZero() {
				m["expires_at"] = cl.expiresAt.Format(time.RFC3339)
			}
			for name, d := range map[string]time.Duration{"token_lifetime": cl.tokenLifetime, "idle_timeout": cl.idleTimeout, "warn_idle_timeout": cl.warnIdleTimeout} {
				if d > 0 {
					m[name] = d.String()
				}
			}
			return m, nil
		},
	}
}
