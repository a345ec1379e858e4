package sim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// Claims are the payload of an access token, in the order the vendor's tokens show them.
type Claims struct {
	Sub             string `json:"sub"`
	Exp             int64  `json:"exp"` // epoch seconds
	User            string `json:"user"`
	Token           string `json:"token"`         // the session counter
	Scope           string `json:"scope"`         // "READ,MODIFY"
	IssuedAt        int64  `json:"issuedAt"`      // epoch ms
	TokenLifeTime   int64  `json:"tokenLifeTime"` // ms
	IdleTimeout     int64  `json:"idleTimeout"`   // ms
	WarnIdleTimeout int64  `json:"warnIdleTimeout"`
	Iss             string `json:"iss"`
	Jti             string `json:"jti"` // simulator addition: unique per token
}

// jwtHeader is the header the vendor's tokens carry, exactly.
var jwtHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256"}`))

// sign issues an access token for a session at now.
func (s *Sim) sign(se *session, now time.Time) string {
	idle := s.idle
	if idle < 0 {
		idle = 0
	}
	c := Claims{
		Sub:             "users/" + se.user,
		Exp:             now.Add(s.lifetime).Unix(),
		User:            se.user,
		Token:           se.id,
		Scope:           strings.Join(se.scopes, ","),
		IssuedAt:        now.UnixMilli(),
		TokenLifeTime:   s.lifetime.Milliseconds(),
		IdleTimeout:     idle.Milliseconds(),
		WarnIdleTimeout: min(DefaultWarnIdle, idle).Milliseconds(),
		Iss:             Issuer,
		Jti:             simkit.RandomUUID(),
	}
	payload, _ := json.Marshal(c)
	signing := jwtHeader + "." + base64.RawURLEncoding.EncodeToString(payload)
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(signing))
	return signing + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// VerifyToken checks an access token's HS256 signature with the simulator's key and returns
// its claims. It says nothing about expiry or revocation (see AccessTokenValid).
func (s *Sim) VerifyToken(token string) (Claims, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || parts[0] != jwtHeader {
		return Claims{}, false
	}
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(parts[0] + "." + parts[1]))
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, mac.Sum(nil)) {
		return Claims{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return Claims{}, false
	}
	var c Claims
	if json.Unmarshal(payload, &c) != nil {
		return Claims{}, false
	}
	return c, true
}

// newSession starts a login for an account (with s.mu held).
func (s *Sim) newSession(a Account, now time.Time) *session {
	s.counter++
	se := &session{id: strconv.Itoa(s.counter), user: a.Username, scopes: a.Scopes}
	s.issue(se, now)
	return se
}

// issue gives a session a fresh token pair (with s.mu held); the caller has dropped the old
// pair from the indexes.
func (s *Sim) issue(se *session, now time.Time) {
	se.issuedAt = now
	se.expiresAt = now.Add(s.lifetime)
	se.lastUsed = now
	se.access = s.sign(se, now)
	se.refresh = simkit.RandomHex(32)
	s.byAccess[se.access] = se
	s.byRefres[se.refresh] = se
}
