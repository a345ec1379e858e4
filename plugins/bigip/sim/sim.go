package sim

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// User is an account that can log in.
type User struct {
	Name     string
	Password string
	Provider string // the login provider holding the user; "" = "tmos"
}

// The default accounts. DefaultUser is an ordinary automation account (it is subject to the
// per-user token limit); AdminUser is exempt from the limit. LDAPUser lives in the "ldap-corp"
// login provider, so it must log in with loginProviderName "ldap-corp".
const (
	DefaultUser     = "automation"
	DefaultPassword = "Autom8-BIG-IP-sim!"
	AdminUser       = "admin"
	AdminPassword   = "Adm1n-BIG-IP-sim!"
	LDAPUser        = "jdoe"
	LDAPPassword    = "Ldap-BIG-IP-sim!"
	LDAPProvider    = "ldap-corp"
)

// Defaults of a BIG-IP's token handling.
const (
	DefaultTimeout    = 1200  // seconds a new token lives
	MaxTimeout        = 36000 // the absolute maximum of a token's timeout, in seconds
	MaxTokensPerUser  = 100   // active tokens a user may hold (admin exempt)
	DefaultVersion    = "17.1.1"
	DefaultBuild      = "0.0.6"
	defaultProvider   = "tmos"
	advertisedHost    = "localhost" // BIG-IP writes selfLinks with https://localhost
	tokensPath        = "/mgmt/shared/authz/tokens"
	loginPath         = "/mgmt/shared/authn/login"
	tokenKind         = "shared:authz:tokens:authtokenitemstate"
	tokenCollKind     = "shared:authz:tokens:authtokencollectionstate"
	errorKind         = ":resterrorresponse"
	microsPerSecond   = int64(time.Second / time.Microsecond)
	startTimeLayout   = "2006-01-02T15:04:05.000-0700"
	authHeader        = "X-F5-Auth-Token"
	tokenNotExistMsg  = "X-F5-Auth-Token does not exist."
	authFailedMessage = "Authentication failed."
)

// DefaultUsers are the accounts of a simulator built with a nil Config.Users.
var DefaultUsers = []User{
	{Name: AdminUser, Password: AdminPassword},
	{Name: DefaultUser, Password: DefaultPassword},
	{Name: LDAPUser, Password: LDAPPassword, Provider: LDAPProvider},
}

// Config configures a simulator. The zero value is a working simulator with the defaults.
type Config struct {
	Clock   *simkit.Clock // nil => simkit.NewRealClock()
	Users   []User        // nil => DefaultUsers
	Version string        // the TMOS version; "" => DefaultVersion
	Build   string        // "" => DefaultBuild
}

// Sim is a BIG-IP iControl REST simulator. It implements simkit.Simulator.
type Sim struct {
	clock    *simkit.Clock
	faults   *simkit.Faults
	recorder *simkit.Recorder
	handler  http.Handler
	version  string
	build    string

	mu        sync.Mutex
	users     map[string]User
	providers map[string]bool
	tokens    map[string]*token // by token string
	order     []*token          // creation order
	opID      int64             // restOperationId of the next error
}

var _ simkit.Simulator = (*Sim)(nil)

// New returns a simulator configured by cfg.
func New(cfg Config) *Sim {
	s := &Sim{
		clock:     cfg.Clock,
		faults:    &simkit.Faults{},
		version:   cfg.Version,
		build:     cfg.Build,
		users:     map[string]User{},
		providers: map[string]bool{defaultProvider: true},
		tokens:    map[string]*token{},
		opID:      1438000,
	}
	if s.clock == nil {
		s.clock = simkit.NewRealClock()
	}
	if s.version == "" {
		s.version = DefaultVersion
	}
	if s.build == "" {
		s.build = DefaultBuild
	}
	users := cfg.Users
	if users == nil {
		users = DefaultUsers
	}
	for _, u := range users {
		s.addUserLocked(u)
	}
	s.recorder = simkit.NewRecorder(s.clock)
	s.recorder.ClassifyWrites(isWrite)
	s.handler = simkit.Wrap(http.HandlerFunc(s.route), s.faults, s.recorder)
	return s
}

// Vendor returns "bigip".
func (s *Sim) Vendor() string { return "bigip" }

// Handler returns the simulator's HTTP handler, fault and recorder middleware included.
func (s *Sim) Handler() http.Handler { return s.handler }

// Clock returns the simulator's clock.
func (s *Sim) Clock() *simkit.Clock { return s.clock }

// Faults returns the faults injected into every request.
func (s *Sim) Faults() *simkit.Faults { return s.faults }

// Recorder returns the record of every request received.
func (s *Sim) Recorder() *simkit.Recorder { return s.recorder }

// AddUser adds an account, or replaces the one with the same name.
func (s *Sim) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addUserLocked(u)
}

func (s *Sim) addUserLocked(u User) {
	if u.Provider == "" {
		u.Provider = defaultProvider
	}
	s.users[u.Name] = u
	s.providers[u.Provider] = true
}

// isWrite says whether a request changes state, for Recorder().Writes(). Logging in and
// deleting the token the request authenticates with (logging out) are what a dry-run needs.
func isWrite(r *http.Request) bool {
	if !simkit.IsWriteMethod(r.Method) {
		return false
	}
	p := strings.TrimSuffix(r.URL.Path, "/")
	if r.Method == http.MethodPost && p == loginPath {
		return false
	}
	if r.Method == http.MethodDelete {
		if own := r.Header.Get(authHeader); own != "" && p == tokensPath+"/"+own {
			return false
		}
	}
	return true
}

// route dispatches a request. BIG-IP answers unknown paths with its own 404 shape, so the
// routing is done here rather than by a ServeMux.
func (s *Sim) route(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == loginPath || p == loginPath+"/":
		if r.Method != http.MethodPost {
			s.methodNotAllowed(w, r)
			return
		}
		s.login(w, r)
	case p == tokensPath || p == tokensPath+"/":
		s.authed(w, r, func(u User) reply {
			switch r.Method {
			case http.MethodGet:
				return s.listTokens(u)
			case http.MethodDelete:
				return s.deleteAllTokens(u)
			}
			return s.notAllowed(r)
		})
	case strings.HasPrefix(p, tokensPath+"/") && !strings.Contains(p[len(tokensPath)+1:], "/"):
		name := p[len(tokensPath)+1:]
		s.authed(w, r, func(u User) reply {
			switch r.Method {
			case http.MethodGet:
				return s.getToken(u, name, r)
			case http.MethodPatch, http.MethodPut:
				return s.updateToken(u, name, r)
			case http.MethodDelete:
				return s.deleteToken(u, name, r)
			}
			return s.notAllowed(r)
		})
	case p == "/mgmt/tm/sys" || p == "/mgmt/tm/sys/":
		s.authed(w, r, func(User) reply {
			if r.Method != http.MethodGet {
				return s.notAllowed(r)
			}
			return s.sysCollection()
		})
	case p == "/mgmt/tm/sys/version" || p == "/mgmt/tm/sys/version/":
		s.authed(w, r, func(User) reply {
			if r.Method != http.MethodGet {
				return s.notAllowed(r)
			}
			return s.sysVersion()
		})
	default:
		s.authed(w, r, func(User) reply {
			return s.fail(r, http.StatusNotFound, "URI path "+p+" not registered.  Please verify URI is supported and wait for /available suffix to be responsive.")
		})
	}
}

func (s *Sim) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	rep := s.notAllowed(r)
	s.mu.Unlock()
	rep.write(w)
}

// notAllowed must be called with s.mu held.
func (s *Sim) notAllowed(r *http.Request) reply {
	return s.fail(r, http.StatusMethodNotAllowed, "Method "+r.Method+" is not supported on "+r.URL.Path)
}

// Token is a token as the simulator holds it, for tests.
type Token struct {
	Token    string
	User     string
	Provider string
	Address  string
	Timeout  int64 // seconds
	Start    time.Time
	Expires  time.Time
}

// Tokens returns the active tokens of a user in creation order ("" = every user).
func (s *Sim) Tokens(user string) []Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked(s.clock.Now())
	var out []Token
	for _, t := range s.order {
		if user == "" || t.user == user {
			out = append(out, t.view())
		}
	}
	return out
}

// TokenValid reports whether tok is an active token by the simulator's clock.
func (s *Sim) TokenValid(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tokens[tok]
	return t != nil && s.clock.Now().Before(t.expires())
}

// IssueToken creates a token for user as a login would (the per-user limit applies), without
// an HTTP request: a quick way for tests to give a user many tokens.
func (s *Sim) IssueToken(user string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[user]
	if !ok {
		return "", errorf("no user %q", user)
	}
	t, msg := s.issueLocked(u, "127.0.0.1")
	if t == nil {
		return "", errorf("%s", msg)
	}
	return t.value, nil
}

// RevokeToken deletes a token as an administrator would; it reports whether it existed.
func (s *Sim) RevokeToken(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tokens[tok]
	if t == nil {
		return false
	}
	s.removeLocked(t)
	return true
}

// sweepLocked forgets expired tokens.
func (s *Sim) sweepLocked(now time.Time) {
	s.order = slices.DeleteFunc(s.order, func(t *token) bool {
		if now.Before(t.expires()) {
			return false
		}
		delete(s.tokens, t.value)
		return true
	})
}

func (s *Sim) removeLocked(t *token) {
	delete(s.tokens, t.value)
	s.order = slices.DeleteFunc(s.order, func(x *token) bool { return x == t })
}
