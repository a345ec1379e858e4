package sim

import (
	"crypto/subtle"
	"errors"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tokenflow/tokenflow/sdk/simkit"
)

type apiError struct {
	Message string `json:"message"`
}

func fail(w http.ResponseWriter, status int, msg string) {
	simkit.WriteJSON(w, status, apiError{Message: msg})
}

// tokenPair is the body of a successful auth or refresh, and of refresh and revoke requests.
type tokenPair struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
}

type authRequest struct {
	Username     string `json:"username"`
	Password     string `json:"password"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	RedirectURI  string `json:"redirect_uri"`
}

type validateRequest struct {
	AccessToken string `json:"access_token"`
	Scope       string `json:"scope"`
	TokenType   string `json:"token_type"`
}

// decode reads a JSON body, answering 415 or 400 itself when it cannot.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			fail(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
			return false
		}
	} else {
		fail(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return false
	}
	if err := simkit.DecodeJSON(r, v); err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return false
	}
	return true
}

func grantType(w http.ResponseWriter, r *http.Request, want string) bool {
	if got := r.URL.Query().Get("grant_type"); got != want {
		fail(w, http.StatusBadRequest, "grant_type must be "+want)
		return false
	}
	return true
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// auth is POST /aaa/v1/auth?grant_type=password: a login.
func (s *Sim) auth(w http.ResponseWriter, r *http.Request) {
	if wait, limited := s.takeAuthSlot(); limited {
		secs := int64((wait + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
		fail(w, http.StatusTooManyRequests, "Too many authentication requests. Reuse your access token, or try again later.")
		return
	}
	if !grantType(w, r, "password") {
		return
	}
	var req authRequest
	if !decode(w, r, &req) {
		return
	}
	if !equal(req.ClientID, ClientID) || !equal(req.ClientSecret, ClientSecret) {
		fail(w, http.StatusUnauthorized, "Invalid client credentials")
		return
	}
	a, known := s.accounts[req.Username]
	if req.Username == "" || !known || !equal(a.Password, req.Password) {
		fail(w, http.StatusUnauthorized, "Authentication failed: invalid username or password")
		return
	}
	s.mu.Lock()
	se := s.newSession(a, s.clock.Now())
	pair := tokenPair{AccessToken: se.access, RefreshToken: se.refresh, TokenType: "Bearer"}
	s.mu.Unlock()
	simkit.WriteJSON(w, http.StatusCreated, pair)
}

// takeAuthSlot applies the rate limit: it counts the request when it may proceed, or returns
// how long until a slot frees.
func (s *Sim) takeAuthSlot() (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	if s.limit < 0 {
		return 0, false
	}
	cut := 0
	for cut < len(s.authLog) && !s.authLog[cut].After(now.Add(-s.window)) {
		cut++
	}
	s.authLog = s.authLog[cut:]
	if len(s.authLog) >= s.limit {
		return s.authLog[0].Add(s.window).Sub(now), true
	}
	s.authLog = append(s.authLog, now)
	return 0, false
}

// token is POST /aaa/v1/token?grant_type=refresh: a new pair for a live pair.
func (s *Sim) token(w http.ResponseWriter, r *http.Request) {
	if !grantType(w, r, "refresh") {
		return
	}
	var req tokenPair
	if !decode(w, r, &req) {
		return
	}
	if !strings.EqualFold(req.TokenType, "Bearer") {
		fail(w, http.StatusBadRequest, "token_type must be Bearer")
		return
	}
	s.mu.Lock()
	se := s.byRefres[req.RefreshToken]
	if req.RefreshToken == "" || se == nil || !equal(se.access, req.AccessToken) {
		s.mu.Unlock()
		fail(w, http.StatusUnauthorized, "Invalid or revoked refresh token")
		return
	}
	s.drop(se)
	s.issue(se, s.clock.Now())
	pair := tokenPair{AccessToken: se.access, RefreshToken: se.refresh, TokenType: "Bearer"}
	s.mu.Unlock()
	simkit.WriteJSON(w, http.StatusCreated, pair)
}

var errScope = errors.New("scope must be READ or MODIFY")

// check says what validate answers for an access token and scope (with s.mu held).
func (s *Sim) check(access, scope string, now time.Time) (*session, int) {
	if scope != "READ" && scope != "MODIFY" {
		return nil, http.StatusBadRequest
	}
	se := s.byAccess[access]
	if access == "" || se == nil || !now.Before(se.expiresAt) {
		return nil, http.StatusUnauthorized
	}
	if s.idle > 0 && now.Sub(se.lastUsed) >= s.idle {
		return nil, http.StatusUnauthorized
	}
	if !slices.Contains(se.scopes, scope) {
		return se, http.StatusForbidden
	}
	return se, http.StatusOK
}

// validate is POST /aaa/v1/validate.
func (s *Sim) validate(w http.ResponseWriter, r *http.Request) {
	var req validateRequest
	if !decode(w, r, &req) {
		return
	}
	if req.TokenType != "" && !strings.EqualFold(req.TokenType, "Bearer") {
		fail(w, http.StatusBadRequest, "token_type must be Bearer")
		return
	}
	s.mu.Lock()
	now := s.clock.Now()
	se, status := s.check(req.AccessToken, req.Scope, now)
	if status == http.StatusOK {
		se.lastUsed = now
	}
	s.mu.Unlock()
	switch status {
	case http.StatusOK:
		simkit.WriteJSON(w, http.StatusOK, struct{}{})
	case http.StatusBadRequest:
		fail(w, status, errScope.Error())
	case http.StatusForbidden:
		fail(w, status, "The access token does not grant the "+req.Scope+" scope")
	default:
		fail(w, status, "Invalid, expired or revoked access token")
	}
}

// revoke is POST /aaa/v1/revoke.
func (s *Sim) revoke(w http.ResponseWriter, r *http.Request) {
	var req tokenPair
	if !decode(w, r, &req) {
		return
	}
	s.mu.Lock()
	se := s.byRefres[req.RefreshToken]
	if req.RefreshToken == "" || se == nil || !equal(se.access, req.AccessToken) {
		s.mu.Unlock()
		fail(w, http.StatusUnauthorized, "Invalid or already revoked token")
		return
	}
	s.drop(se)
	s.mu.Unlock()
	simkit.WriteJSON(w, http.StatusOK, struct{}{})
}

// bearer wraps a REST handler with "Authorization: Bearer <access_token>" checked like a
// validate for scope.
func (s *Sim) bearer(scope string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := simkit.BearerToken(r, "Bearer")
		s.mu.Lock()
		now := s.clock.Now()
		se, status := s.check(tok, scope, now)
		if ok && status == http.StatusOK {
			se.lastUsed = now
		}
		s.mu.Unlock()
		switch {
		case !ok || status == http.StatusUnauthorized:
			fail(w, http.StatusUnauthorized, "Authentication required")
		case status != http.StatusOK:
			fail(w, http.StatusForbidden, "Insufficient privileges")
		default:
			h(w, r)
		}
	}
}

type clusterRef struct {
	UUID string `json:"uuid"`
	Name string `json:"name"`
}

type clusterAbout struct {
	Hypervisor     string `json:"hypervisor"`
	ModelNumber    string `json:"modelNumber"`
	SerialNumber   string `json:"serialNumber"`
	DisplayVersion string `json:"displayVersion"`
}

// clusters is GET /coreapi/v1/clusters.
func (s *Sim) clusters(w http.ResponseWriter, _ *http.Request) {
	simkit.WriteJSON(w, http.StatusOK, []clusterRef{{UUID: Cluster.UUID, Name: Cluster.Name}})
}

// about is GET /coreapi/v1/clusters/{uuid}/about.
func (s *Sim) about(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("uuid") != Cluster.UUID {
		fail(w, http.StatusNotFound, "Cluster not found")
		return
	}
	simkit.WriteJSON(w, http.StatusOK, clusterAbout{
		Hypervisor: Cluster.Hypervisor, ModelNumber: Cluster.ModelNumber,
		SerialNumber: Cluster.SerialNumber, DisplayVersion: Cluster.DisplayVersion,
	})
}
