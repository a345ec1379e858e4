package sim

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// Link is a BIG-IP reference: {"link": "https://localhost/..."}.
type Link struct {
	Link string `json:"link"`
}

// LoginResponse is the answer of POST /mgmt/shared/authn/login.
type LoginResponse struct {
	Username          string    `json:"username"`
	LoginReference    Link      `json:"loginReference"`
	LoginProviderName string    `json:"loginProviderName"`
	Token             TokenItem `json:"token"`
	Generation        int64     `json:"generation"`
	LastUpdateMicros  int64     `json:"lastUpdateMicros"`
}

type loginRequest struct {
	Username          string `json:"username"`
	Password          string `json:"password"`
	LoginProviderName string `json:"loginProviderName"`
}

// login is POST /mgmt/shared/authn/login.
func (s *Sim) login(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(io.LimitReader(r.Body, simkit.MaxBodyBytes))
	r.Body = io.NopCloser(bytes.NewReader(raw))
	var req loginRequest
	err := simkit.DecodeJSON(r, &req)
	s.mu.Lock()
	rep := func() reply {
		if err != nil {
			return s.fail(r, http.StatusBadRequest, err.Error())
		}
		provider := req.LoginProviderName
		if provider == "" {
			provider = defaultProvider
		}
		if !s.providers[provider] {
			return s.fail(r, http.StatusBadRequest, "Login provider "+provider+" not found.")
		}
		u, known := s.users[req.Username]
		if req.Username == "" || !known || u.Provider != provider ||
			subtle.ConstantTimeCompare([]byte(u.Password), []byte(req.Password)) != 1 {
			rep := s.fail(r, http.StatusUnauthorized, authFailedMessage)
			e := rep.body.(APIError)
			e.OriginalRequestBody = string(raw) // as BIG-IP does, password and all
			rep.body = e
			return rep
		}
		t, msg := s.issueLocked(u, clientAddress(r))
		if t == nil {
			return s.fail(r, http.StatusBadRequest, msg)
		}
		return reply{status: http.StatusOK, body: LoginResponse{
			Username:          u.Name,
			LoginReference:    Link{Link: "https://" + advertisedHost + "/mgmt/cm/system/authn/providers/" + provider + "/" + providerID(provider) + "/login"},
			LoginProviderName: provider,
			Token:             t.item(),
		}}
	}()
	s.mu.Unlock()
	rep.write(w)
}

// providerID is a stable id for a provider in loginReference links.
func providerID(provider string) string {
	return fmt.Sprintf("%x", []byte(provider))
}

// issueLocked creates a token for u, or returns the message of the limit it hit.
func (s *Sim) issueLocked(u User, addr string) (*token, string) {
	now := s.clock.Now()
	s.sweepLocked(now)
	if u.Name != AdminUser {
		n := 0
		for _, t := range s.order {
			if t.user == u.Name {
				n++
			}
		}
		if n >= MaxTokensPerUser {
			return nil, "Bad Request: user " + u.Name + " has reached maximum active login tokens"
		}
	}
	t := &token{
		value:      newTokenString(),
		user:       u.Name,
		provider:   u.Provider,
		address:    addr,
		start:      now,
		timeout:    DefaultTimeout,
		lastUpdate: now,
		generation: 1,
	}
	s.tokens[t.value] = t
	s.order = append(s.order, t)
	return t, ""
}

// newTokenString returns 26 uppercase base32 characters, like FZ42XIKJMI6UGXDD7I3VU52EUY.
func newTokenString() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)
}

// authed authenticates a request (X-F5-Auth-Token, else HTTP Basic) and runs fn with the
// state locked and the caller.
func (s *Sim) authed(w http.ResponseWriter, r *http.Request, fn func(u User) reply) {
	s.mu.Lock()
	rep := func() reply {
		now := s.clock.Now()
		if tok := r.Header.Get(authHeader); tok != "" {
			t := s.tokens[tok]
			if t == nil || !now.Before(t.expires()) {
				if t != nil {
					s.removeLocked(t)
				}
				return s.fail(r, http.StatusUnauthorized, tokenNotExistMsg)
			}
			return fn(s.users[t.user])
		}
		if name, pass, ok := r.BasicAuth(); ok {
			u, known := s.users[name]
			if !known || subtle.ConstantTimeCompare([]byte(u.Password), []byte(pass)) != 1 {
				return s.fail(r, http.StatusUnauthorized, authFailedMessage)
			}
			return fn(u)
		}
		return s.fail(r, http.StatusUnauthorized, fmt.Sprintf(
			"Authorization failed: no user authentication header or token detected. Uri:http://localhost:8100%s Referrer:%s Sender:%s",
			r.URL.Path, clientAddress(r), clientAddress(r)))
	}()
	s.mu.Unlock()
	rep.write(w)
}

// token is a token's state.
type token struct {
	value      string
	user       string
	provider   string
	address    string
	start      time.Time
	timeout    int64 // seconds, measured from start
	lastUpdate time.Time
	generation int64
}

func (t *token) expires() time.Time { return t.start.Add(time.Duration(t.timeout) * time.Second) }

func (t *token) view() Token {
	return Token{Token: t.value, User: t.user, Provider: t.provider, Address: t.address,
		Timeout: t.timeout, Start: t.start, Expires: t.expires()}
}

// TokenItem is a token on the wire (shared:authz:tokens:authtokenitemstate).
type TokenItem struct {
	Token            string `json:"token"`
	Name             string `json:"name"`
	UserName         string `json:"userName"`
	AuthProviderName string `json:"authProviderName"`
	User             Link   `json:"user"`
	GroupReferences  []Link `json:"groupReferences"`
	Timeout          int64  `json:"timeout"`
	StartTime        string `json:"startTime"`
	Address          string `json:"address"`
	Partition        string `json:"partition"`
	Generation       int64  `json:"generation"`
	LastUpdateMicros int64  `json:"lastUpdateMicros"`
	ExpirationMicros int64  `json:"expirationMicros"`
	Kind             string `json:"kind"`
	SelfLink         string `json:"selfLink"`
}

func (t *token) item() TokenItem {
	return TokenItem{
		Token:            t.value,
		Name:             t.value,
		UserName:         t.user,
		AuthProviderName: t.provider,
		User:             Link{Link: "https://" + advertisedHost + "/mgmt/shared/authz/users/" + t.user},
		GroupReferences:  []Link{},
		Timeout:          t.timeout,
		StartTime:        t.start.Format(startTimeLayout),
		Address:          t.address,
		Partition:        "[All]",
		Generation:       t.generation,
		LastUpdateMicros: t.lastUpdate.UnixMicro(),
		ExpirationMicros: t.expires().UnixMicro(),
		Kind:             tokenKind,
		SelfLink:         "https://" + advertisedHost + tokensPath + "/" + t.value,
	}
}

// jsonNumber decodes a number field that may arrive as a JSON number or string.
func jsonNumber(raw json.RawMessage) (int64, bool) {
	var n json.Number
	s := strings.TrimSpace(string(raw))
	s = strings.Trim(s, `"`)
	n = json.Number(s)
	i, err := n.Int64()
	return i, err == nil
}
