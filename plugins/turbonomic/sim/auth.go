package sim

import (
	"crypto/subtle"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// CookieName is the session cookie the login sets.
const CookieName = "JSESSIONID"

type session struct {
	user     string // uuid
	lastUsed time.Time
}

// login is POST /api/v3/login with form fields username and password, multipart/form-data
// (vmt-connect) or application/x-www-form-urlencoded (turbo-api, IBM docs).
func (s *Sim) login(w http.ResponseWriter, r *http.Request) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "multipart/form-data":
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			badRequest("Malformed multipart login form: " + err.Error()).write(w)
			return
		}
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			badRequest("Malformed login form: " + err.Error()).write(w)
			return
		}
	default:
		fail(http.StatusUnsupportedMediaType, "HttpMediaTypeNotSupportedException",
			"Content type '"+mt+"' not supported; send username and password as a form").write(w)
		return
	}
	username, password := r.PostFormValue("username"), r.PostFormValue("password")
	if username == "" || password == "" {
		badRequest("Required request parameters 'username' and 'password' are missing").write(w)
		return
	}
	s.mu.Lock()
	u := s.userByName(username)
	if u == nil || u.LoginProvider != "Local" || subtle.ConstantTimeCompare([]byte(u.password), []byte(password)) != 1 {
		s.mu.Unlock()
		fail(http.StatusUnauthorized, "AuthenticationException", "Unable to login: invalid username or password").write(w)
		return
	}
	now := s.clock.Now()
	s.sweep(now)
	id := strings.ToUpper(simkit.RandomHex(16))
	s.sessions[id] = &session{user: u.UUID, lastUsed: now}
	view := u.view()
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: id, Path: "/", HttpOnly: true, Secure: r.TLS != nil})
	respond(http.StatusOK, view).write(w)
}

// logout is POST /api/v3/logout: it ends the session of its cookie.
func (s *Sim) logout(w http.ResponseWriter, r *http.Request) {
	if s.noLogout {
		fail(http.StatusNotFound, "NotFoundException", "No endpoint POST "+r.URL.Path).write(w)
		return
	}
	if c, err := r.Cookie(CookieName); err == nil {
		s.mu.Lock()
		delete(s.sessions, c.Value)
		s.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1})
	respond(http.StatusOK, map[string]any{}).write(w)
}

// sweep drops expired sessions. Callers hold s.mu.
func (s *Sim) sweep(now time.Time) {
	for id, sess := range s.sessions {
		if now.Sub(sess.lastUsed) >= s.sessionTTL {
			delete(s.sessions, id)
		}
	}
}

type authedHandler func(w http.ResponseWriter, r *http.Request, u *userState, now time.Time) reply

// authed checks the JSESSIONID cookie, renews the session and runs h with the state locked.
func (s *Sim) authed(h authedHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(CookieName)
		s.locked(w, func(now time.Time) reply {
			if err != nil || c.Value == "" {
				return fail(http.StatusUnauthorized, "UnauthorizedObjectException", "Authentication required: log in first")
			}
			sess := s.sessions[c.Value]
			if sess == nil || now.Sub(sess.lastUsed) >= s.sessionTTL {
				delete(s.sessions, c.Value)
				return fail(http.StatusUnauthorized, "UnauthorizedObjectException", "Session expired or invalid: log in again")
			}
			u := s.userByUUID(sess.user)
			if u == nil {
				delete(s.sessions, c.Value)
				return fail(http.StatusUnauthorized, "UnauthorizedObjectException", "Session user no longer exists")
			}
			sess.lastUsed = now
			return h(w, r, u, now)
		})
	}
}

func forbidden() reply {
	return fail(http.StatusForbidden, "AccessDeniedException", "Access is denied")
}

// Sessions returns how many sessions are live by the simulator's clock.
func (s *Sim) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(s.clock.Now())
	return len(s.sessions)
}

// SessionsOf returns how many live sessions a user has.
func (s *Sim) SessionsOf(username string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(s.clock.Now())
	u := s.userByName(username)
	if u == nil {
		return 0
	}
	n := 0
	for _, sess := range s.sessions {
		if sess.user == u.UUID {
			n++
		}
	}
	return n
}
