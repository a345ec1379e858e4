package sim

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"time"

	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// expiresAtLayout is how vROps writes OpsToken expiry ("Friday, May 1, 2026 6:00:00 PM UTC").
const expiresAtLayout = "Monday, January 2, 2006 3:04:05 PM MST"

type acquireRequest struct {
	Username   string `json:"username"`
	Password   string `json:"password"`
	AuthSource string `json:"authSource"`
}

type acquireResponse struct {
	Token     string   `json:"token"`
	Validity  int64    `json:"validity"` // epoch ms
	ExpiresAt string   `json:"expiresAt"`
	Roles     []string `json:"roles"`
}

// acquire is POST /suite-api/api/auth/token/acquire.
func (s *Sim) acquire(w http.ResponseWriter, r *http.Request) {
	var req acquireRequest
	if err := simkit.DecodeJSON(r, &req); err != nil {
		fail(http.StatusBadRequest, err.Error()).write(w)
		return
	}
	want, known := s.users[req.Username]
	if req.Username == "" || !known || subtle.ConstantTimeCompare([]byte(want), []byte(req.Password)) != 1 {
		fail(http.StatusUnauthorized, "Invalid username or password").write(w)
		return
	}
	s.locked(func(now time.Time) reply {
		s.st.sweep(now)
		tok := simkit.RandomUUID() + "::" + simkit.RandomUUID()
		exp := now.Add(s.opsTTL)
		s.st.sessions[tok] = session{user: req.Username, expires: exp}
		return respond(http.StatusOK, acquireResponse{
			Token:     tok,
			Validity:  exp.UnixMilli(),
			ExpiresAt: exp.UTC().Format(expiresAtLayout),
			Roles:     []string{"ADMIN"},
		})
	}).write(w)
}

// release is POST /suite-api/api/auth/token/release: it invalidates the OpsToken it carries.
func (s *Sim) release(w http.ResponseWriter, r *http.Request) {
	tok, sent := simkit.BearerToken(r, "OpsToken")
	if !sent {
		tok, sent = simkit.BearerToken(r, "Bearer")
	}
	s.locked(func(now time.Time) reply {
		sess, known := s.st.sessions[tok]
		if !sent || !known || !now.Before(sess.expires) {
			delete(s.st.sessions, tok)
			return fail(http.StatusUnauthorized, "Invalid or expired token")
		}
		delete(s.st.sessions, tok)
		return respond(http.StatusOK, nil)
	}).write(w)
}

var (
	errUnauthenticated = errors.New("authentication required: missing, invalid or expired token")
	errForbidden       = errors.New("the principal lacks the privilege for this operation")
)

// authed wraps an Operations API handler with the token check: `Authorization: OpsToken <t>`,
// or `Bearer <t>` with an OpsToken or an access token from the identity broker endpoint.
func (s *Sim) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := s.authenticate(r); err != nil {
			status := http.StatusUnauthorized
			if errors.Is(err, errForbidden) {
				status = http.StatusForbidden
			}
			fail(status, err.Error()).write(w)
			return
		}
		h(w, r)
	}
}

func (s *Sim) authenticate(r *http.Request) error {
	opsTok, isOps := simkit.BearerToken(r, "OpsToken")
	bearer, isBearer := simkit.BearerToken(r, "Bearer")
	if !isOps && !isBearer {
		return errUnauthenticated
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	now := s.clock.Now()
	tok := opsTok
	if isBearer {
		tok = bearer
	}
	if sess, known := s.st.sessions[tok]; known {
		if now.Before(sess.expires) {
			return nil
		}
		delete(s.st.sessions, tok)
		return errUnauthenticated
	}
	if !isBearer {
		return errUnauthenticated
	}
	g, known := s.st.access[bearer]
	if !known {
		return errUnauthenticated
	}
	if !now.Before(g.expires) {
		delete(s.st.access, bearer)
		return errUnauthenticated
	}
	c := g.realm.client(g.clientID)
	if c == nil {
		return errUnauthenticated
	}
	return s.authorize(c.Roles, isWrite(r))
}

// authorize applies an API client's role assignments to a request made with its access token.
func (s *Sim) authorize(roles []RoleAssignment, write bool) error {
	if len(roles) == 0 {
		return errForbidden
	}
	if !write {
		return nil
	}
	for _, ra := range roles {
		if !s.roles[ra.RoleName].ReadOnly {
			return nil
		}
	}
	return errForbidden
}

type versionInfo struct {
	ReleaseName                string `json:"releaseName"`
	Major                      int    `json:"major"`
	Minor                      int    `json:"minor"`
	MinorMinor                 int    `json:"minorMinor"`
	Patch                      int    `json:"patch"`
	ReleasedDate               int64  `json:"releasedDate"`
	HumanlyReadableReleaseDate string `json:"humanlyReadableReleaseDate"`
	Description                string `json:"description"`
}

// releaseDate of the simulated build; a fixed, plausible date.
var releaseDate = time.Date(2026, time.April, 28, 0, 0, 0, 0, time.UTC)

var currentVersion = versionInfo{
	ReleaseName:                "VCF Operations 9.1.1.0",
	Major:                      9,
	Minor:                      1,
	MinorMinor:                 1,
	Patch:                      0,
	ReleasedDate:               releaseDate.UnixMilli(),
	HumanlyReadableReleaseDate: releaseDate.Format(expiresAtLayout),
	Description:                "VCF Operations 9.1.1.0 (tokenflow simulator)",
}

// versionCurrent is GET /suite-api/api/versions/current.
func (s *Sim) versionCurrent(w http.ResponseWriter, _ *http.Request) {
	respond(http.StatusOK, currentVersion).write(w)
}

// versions is GET /suite-api/api/versions.
func (s *Sim) versions(w http.ResponseWriter, _ *http.Request) {
	respond(http.StatusOK, map[string][]versionInfo{"values": {currentVersion}}).write(w)
}
