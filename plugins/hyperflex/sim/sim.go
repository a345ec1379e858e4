package sim

import (
	"crypto/rand"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// Account is a HyperFlex user the simulator accepts.
type Account struct {
	Username string
	Password string
	// Scopes the user's tokens carry: "READ", "MODIFY". Empty means both.
	Scopes []string
}

// Config configures a simulator. The zero value is a working simulator with the defaults.
type Config struct {
	Clock    *simkit.Clock // nil => simkit.NewRealClock()
	Accounts []Account     // nil => DefaultAccounts
	// TokenLifetime is how long an access token lives; 0 => DefaultTokenLifetime (18 days).
	TokenLifetime time.Duration
	// IdleTimeout invalidates an access token not used for that long; 0 =>
	// DefaultIdleTimeout (30 minutes); negative disables it.
	IdleTimeout time.Duration
	// AuthRateLimit is how many POST /aaa/v1/auth requests the cluster accepts per
	// AuthRateWindow; 0 => DefaultAuthRateLimit; negative means unlimited.
	AuthRateLimit int
	// AuthRateWindow is the sliding window of AuthRateLimit; 0 => DefaultAuthRateWindow.
	AuthRateWindow time.Duration
	// SigningKey signs access tokens (HS256); nil => 32 random bytes.
	SigningKey []byte
}

// The default login: the cluster's admin user, with READ and MODIFY scope.
const (
	DefaultUser     = "admin"
	DefaultPassword = "Cisco123!HyperFlex"
)

// A second default account whose tokens carry the READ scope only.
const (
	ReadOnlyUser     = "monitor"
	ReadOnlyPassword = "Monitor123!HyperFlex"
)

// The OAuth client the HyperFlex GUI and the hx-api-token-manager client send with every
// login; the simulator accepts no other.
const (
	ClientID     = "HxGuiClient"
	ClientSecret = "Sunnyvale"
	RedirectURI  = "http://localhost:8080/aaa/redirect"
)

// Defaults (vendors.md section 1).
const (
	DefaultTokenLifetime  = 18 * 24 * time.Hour // tokenLifeTime 1555200000 ms
	DefaultIdleTimeout    = 30 * time.Minute    // idleTimeout 1800000 ms
	DefaultWarnIdle       = 25 * time.Minute    // warnIdleTimeout; the value is a guess
	DefaultAuthRateLimit  = 5
	DefaultAuthRateWindow = 15 * time.Minute
	Issuer                = "HyperFlex"
)

// DefaultAccounts are the accounts of a simulator built with a nil Config.Accounts.
var DefaultAccounts = []Account{
	{Username: DefaultUser, Password: DefaultPassword, Scopes: []string{"READ", "MODIFY"}},
	{Username: ReadOnlyUser, Password: ReadOnlyPassword, Scopes: []string{"READ"}},
}

// Cluster is what GET /coreapi/v1/clusters lists.
var Cluster = ClusterInfo{
	UUID:           "7e1c5f2a-3b9d-4c60-8a1e-2f4b6d8c0a13",
	Name:           "hx-sim-cluster",
	Hypervisor:     "ESXi 7.0 U3",
	ModelNumber:    "HXAF240C-M5SX",
	SerialNumber:   "WZP2318083N",
	DisplayVersion: "5.0(2c)",
}

// ClusterInfo is the simulated cluster.
type ClusterInfo struct {
	UUID, Name, Hypervisor, ModelNumber, SerialNumber, DisplayVersion string
}

// Sim is a HyperFlex AAA simulator. It implements simkit.Simulator.
type Sim struct {
	clock    *simkit.Clock
	faults   *simkit.Faults
	recorder *simkit.Recorder
	handler  http.Handler
	key      []byte
	lifetime time.Duration
	idle     time.Duration

	mu       sync.Mutex
	accounts map[string]Account
	byAccess map[string]*session
	byRefres map[string]*session
	counter  int
	limit    int
	window   time.Duration
	authLog  []time.Time // accepted /aaa/v1/auth requests inside the window, oldest first
}

var _ simkit.Simulator = (*Sim)(nil)

// session is one login: a token pair and what it was issued for. A refresh replaces the
// pair and keeps the session.
type session struct {
	id        string // the "token" claim
	user      string
	scopes    []string
	access    string
	refresh   string
	issuedAt  time.Time
	expiresAt time.Time
	lastUsed  time.Time
}

// New returns a simulator configured by cfg.
func New(cfg Config) *Sim {
	s := &Sim{
		clock:    cfg.Clock,
		faults:   &simkit.Faults{},
		key:      slices.Clone(cfg.SigningKey),
		lifetime: cfg.TokenLifetime,
		idle:     cfg.IdleTimeout,
		accounts: map[string]Account{},
		byAccess: map[string]*session{},
		byRefres: map[string]*session{},
	}
	if s.clock == nil {
		s.clock = simkit.NewRealClock()
	}
	if len(s.key) == 0 {
		s.key = make([]byte, 32)
		_, _ = rand.Read(s.key)
	}
	if s.lifetime <= 0 {
		s.lifetime = DefaultTokenLifetime
	}
	if s.idle == 0 {
		s.idle = DefaultIdleTimeout
	}
	accounts := cfg.Accounts
	if accounts == nil {
		accounts = DefaultAccounts
	}
	for _, a := range accounts {
		if len(a.Scopes) == 0 {
			a.Scopes = []string{"READ", "MODIFY"}
		}
		a.Scopes = slices.Clone(a.Scopes)
		s.accounts[a.Username] = a
	}
	s.SetAuthRateLimit(cfg.AuthRateLimit, cfg.AuthRateWindow)

	s.recorder = simkit.NewRecorder(s.clock)
	s.recorder.ClassifyWrites(isWrite)
	s.handler = simkit.Wrap(s.routes(), s.faults, s.recorder)
	return s
}

// Vendor returns "hyperflex".
func (s *Sim) Vendor() string { return "hyperflex" }

// Handler returns the simulator's HTTP handler, fault and recorder middleware included.
func (s *Sim) Handler() http.Handler { return s.handler }

// Clock returns the simulator's clock.
func (s *Sim) Clock() *simkit.Clock { return s.clock }

// Faults returns the faults injected into every request.
func (s *Sim) Faults() *simkit.Faults { return s.faults }

// Recorder returns the record of every request received.
func (s *Sim) Recorder() *simkit.Recorder { return s.recorder }

// The paths the simulator serves.
const (
	AuthPath     = "/aaa/v1/auth"
	TokenPath    = "/aaa/v1/token"
	ValidatePath = "/aaa/v1/validate"
	RevokePath   = "/aaa/v1/revoke"
	ClustersPath = "/coreapi/v1/clusters"
)

func (s *Sim) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+AuthPath, s.auth)
	mux.HandleFunc("POST "+TokenPath, s.token)
	mux.HandleFunc("POST "+ValidatePath, s.validate)
	mux.HandleFunc("POST "+RevokePath, s.revoke)
	mux.HandleFunc("GET "+ClustersPath, s.bearer("READ", s.clusters))
	mux.HandleFunc("GET "+ClustersPath+"/{uuid}/about", s.bearer("READ", s.about))
	return mux
}

// isWrite says whether a request changes state: logging in, refreshing and revoking do;
// validating is a POST that only reads.
func isWrite(r *http.Request) bool {
	return simkit.IsWriteMethod(r.Method) && r.URL.Path != ValidatePath
}

// SetAuthRateLimit changes the rate limit of POST /aaa/v1/auth from now on: at most limit
// requests in any window (0 => DefaultAuthRateLimit, negative => unlimited; a zero window
// means DefaultAuthRateWindow). Requests already counted stay counted.
func (s *Sim) SetAuthRateLimit(limit int, window time.Duration) {
	if limit == 0 {
		limit = DefaultAuthRateLimit
	}
	if window <= 0 {
		window = DefaultAuthRateWindow
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limit, s.window = limit, window
}

// Session is a live or expired login, as the inspection methods show it.
type Session struct {
	ID           string // the "token" claim, constant across refreshes
	User         string
	Scopes       []string
	AccessToken  string
	RefreshToken string
	IssuedAt     time.Time
	ExpiresAt    time.Time
	LastUsed     time.Time
}

// Sessions returns every login that has not been revoked, oldest first.
func (s *Sim) Sessions() []Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Session, 0, len(s.byRefres))
	for _, se := range s.byRefres {
		out = append(out, Session{
			ID: se.id, User: se.user, Scopes: slices.Clone(se.scopes), AccessToken: se.access,
			RefreshToken: se.refresh, IssuedAt: se.issuedAt, ExpiresAt: se.expiresAt, LastUsed: se.lastUsed,
		})
	}
	slices.SortFunc(out, func(a, b Session) int { return strings.Compare(pad(a.ID), pad(b.ID)) })
	return out
}

func pad(id string) string { return strings.Repeat("0", max(0, 12-len(id))) + id }

// AccessTokenValid reports whether validate would accept the access token for scope ("READ"
// or "MODIFY") now. It does not count as activity.
func (s *Sim) AccessTokenValid(accessToken, scope string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	se, status := s.check(accessToken, scope, s.clock.Now())
	return se != nil && status == http.StatusOK
}

// RefreshTokenValid reports whether the refresh token belongs to a live session.
func (s *Sim) RefreshTokenValid(refreshToken string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byRefres[refreshToken] != nil
}

// RevokeSession revokes the session a refresh token belongs to, as an administrator would:
// its access and refresh tokens stop working. It reports whether there was such a session.
func (s *Sim) RevokeSession(refreshToken string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	se := s.byRefres[refreshToken]
	if se == nil {
		return false
	}
	s.drop(se)
	return true
}

// RevokeUser revokes every session of a user and returns how many there were.
func (s *Sim) RevokeUser(user string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, se := range s.byRefres {
		if se.user == user {
			s.drop(se)
			n++
		}
	}
	return n
}

func (s *Sim) drop(se *session) {
	delete(s.byAccess, se.access)
	delete(s.byRefres, se.refresh)
}
