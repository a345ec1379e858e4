package sim

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// The default login: Turbonomic's built-in administrator account.
const (
	DefaultUser     = "administrator"
	DefaultPassword = "Turbo-Sim-Admin-2026"
)

// Defaults used when Config leaves a field zero.
const (
	DefaultPageSize    = 300
	DefaultMaxPageSize = 500
	DefaultSessionTTL  = 30 * time.Minute
)

// Base is the API base path the simulator serves.
const Base = "/api/v3"

// RealtimeMarketUUID is the uuid of the real-time market ("Market"), as XL reports it.
const RealtimeMarketUUID = "777777"

// DefaultInventory is the entity count per className of a new simulator.
var DefaultInventory = map[string]int{
	"VirtualMachine":  48,
	"PhysicalMachine": 6,
	"Storage":         8,
	"DataCenter":      1,
}

// Config configures a simulator. The zero value is a working simulator with the defaults.
type Config struct {
	Clock       *simkit.Clock  // nil => simkit.NewRealClock()
	Users       []User         // nil => one ADMINISTRATOR DefaultUser with DefaultPassword
	Version     *VersionReport // nil => XLVersion(DefaultXLVersion)
	PageSize    int            // items per page when the request has no limit; 0 => DefaultPageSize
	MaxPageSize int            // cap on limit; 0 => DefaultMaxPageSize (never below PageSize)
	SessionTTL  time.Duration  // idle session lifetime; 0 => DefaultSessionTTL
	Inventory   map[string]int // className -> entity count; nil => DefaultInventory
	Targets     []Target       // nil => DefaultTargets
	NoLogout    bool           // answer POST logout with 404, like a server without it
	// VersionsNeedLogin makes admin/versions demand a session, like an appliance that does
	// not answer vmt-connect's unauthenticated probe.
	VersionsNeedLogin bool
}

// Sim is a Turbonomic simulator. It implements simkit.Simulator.
type Sim struct {
	clock    *simkit.Clock
	faults   *simkit.Faults
	recorder *simkit.Recorder
	handler  http.Handler
	noLogout bool
	// versionsNeedLogin: see Config.VersionsNeedLogin.
	versionsNeedLogin bool

	mu          sync.Mutex
	version     VersionReport
	pageSize    int
	maxPageSize int
	sessionTTL  time.Duration
	loseCursor  int // page number whose x-next-cursor is dropped once; 0 = none
	nextID      int64
	users       []*userState
	sessions    map[string]*session
	groups      []*groupState
	entities    []*Entity
	targets     []Target
}

var _ simkit.Simulator = (*Sim)(nil)

// New returns a simulator configured by cfg.
func New(cfg Config) *Sim {
	s := &Sim{
		clock:    cfg.Clock,
		faults:   &simkit.Faults{},
		noLogout: cfg.NoLogout,

		versionsNeedLogin: cfg.VersionsNeedLogin,
		sessions:          map[string]*session{},
		nextID:            285000000000000,
	}
	if s.clock == nil {
		s.clock = simkit.NewRealClock()
	}
	s.version = XLVersion(DefaultXLVersion)
	if cfg.Version != nil {
		s.version = *cfg.Version
	}
	s.pageSize, s.maxPageSize = cfg.PageSize, cfg.MaxPageSize
	if s.pageSize <= 0 {
		s.pageSize = DefaultPageSize
	}
	if s.maxPageSize <= 0 {
		s.maxPageSize = DefaultMaxPageSize
	}
	if s.maxPageSize < s.pageSize {
		s.maxPageSize = s.pageSize
	}
	s.sessionTTL = cfg.SessionTTL
	if s.sessionTTL <= 0 {
		s.sessionTTL = DefaultSessionTTL
	}
	users := cfg.Users
	if users == nil {
		users = []User{{Username: DefaultUser, Password: DefaultPassword, RoleName: "ADMINISTRATOR"}}
	}
	for _, u := range users {
		s.users = append(s.users, s.newUser(u))
	}
	targets := cfg.Targets
	if targets == nil {
		targets = DefaultTargets
	}
	for _, t := range targets {
		t.InputFields = append([]InputField(nil), t.InputFields...)
		s.targets = append(s.targets, t)
	}
	inv := cfg.Inventory
	if inv == nil {
		inv = DefaultInventory
	}
	classes := make([]string, 0, len(inv))
	for c := range inv {
		classes = append(classes, c)
	}
	sort.Strings(classes)
	for _, c := range classes {
		s.addEntities(c, inv[c])
	}

	s.recorder = simkit.NewRecorder(s.clock)
	s.recorder.ClassifyWrites(isWrite)
	s.handler = simkit.Wrap(s.routes(), s.faults, s.recorder)
	return s
}

// Vendor returns "turbonomic".
func (s *Sim) Vendor() string { return "turbonomic" }

// Handler returns the simulator's HTTP handler, fault and recorder middleware included.
func (s *Sim) Handler() http.Handler { return s.handler }

// Clock returns the simulator's clock.
func (s *Sim) Clock() *simkit.Clock { return s.clock }

// Faults returns the faults injected into every request.
func (s *Sim) Faults() *simkit.Faults { return s.faults }

// Recorder returns the record of every request received.
func (s *Sim) Recorder() *simkit.Recorder { return s.recorder }

func (s *Sim) routes() http.Handler {
	mux := http.NewServeMux()
	if s.versionsNeedLogin {
		mux.HandleFunc("GET "+Base+"/admin/versions", s.authed(s.authedVersions))
	} else {
		mux.HandleFunc("GET "+Base+"/admin/versions", s.versions)
	}
	mux.HandleFunc("POST "+Base+"/login", s.login)
	mux.HandleFunc("POST "+Base+"/logout", s.logout)

	mux.HandleFunc("GET "+Base+"/users", s.authed(s.listUsers))
	mux.HandleFunc("GET "+Base+"/users/me", s.authed(s.me))
	mux.HandleFunc("GET "+Base+"/users/{uuid}", s.authed(s.getUser))
	mux.HandleFunc("POST "+Base+"/users", s.authed(s.createUser))
	mux.HandleFunc("DELETE "+Base+"/users/{uuid}", s.authed(s.deleteUser))

	mux.HandleFunc("GET "+Base+"/markets", s.authed(s.listMarkets))
	mux.HandleFunc("GET "+Base+"/markets/{uuid}", s.authed(s.getMarket))
	mux.HandleFunc("GET "+Base+"/markets/{uuid}/entities", s.authed(s.marketEntities))
	mux.HandleFunc("GET "+Base+"/markets/{uuid}/actions", s.authed(s.marketActions))
	mux.HandleFunc("GET "+Base+"/entities/{uuid}", s.authed(s.getEntity))
	mux.HandleFunc("GET "+Base+"/entities/{uuid}/actions", s.authed(s.entityActions))
	mux.HandleFunc("GET "+Base+"/actions/{uuid}", s.authed(s.getAction))

	mux.HandleFunc("GET "+Base+"/search", s.authed(s.searchQuery))
	mux.HandleFunc("POST "+Base+"/search", s.authed(s.searchCriteria))

	mux.HandleFunc("GET "+Base+"/groups", s.authed(s.listGroups))
	mux.HandleFunc("POST "+Base+"/groups", s.authed(s.createGroup))
	mux.HandleFunc("GET "+Base+"/groups/{uuid}", s.authed(s.getGroup))
	mux.HandleFunc("PUT "+Base+"/groups/{uuid}", s.authed(s.updateGroup))
	mux.HandleFunc("DELETE "+Base+"/groups/{uuid}", s.authed(s.deleteGroup))
	mux.HandleFunc("GET "+Base+"/groups/{uuid}/members", s.authed(s.groupMembers))
	mux.HandleFunc("GET "+Base+"/groups/{uuid}/entities", s.authed(s.groupEntities))
	mux.HandleFunc("GET "+Base+"/groups/{uuid}/actions", s.authed(s.groupActions))

	mux.HandleFunc("GET "+Base+"/targets", s.authed(s.listTargets))
	mux.HandleFunc("GET "+Base+"/targets/{uuid}", s.authed(s.getTarget))
	mux.HandleFunc("GET "+Base+"/targets/{uuid}/actions", s.authed(s.targetActions))

	// Anything else gets Turbonomic's error body rather than net/http's plain text.
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern == "" {
			fail(http.StatusNotFound, "NotFoundException", "No endpoint "+r.Method+" "+r.URL.Path).write(w)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// isWrite says whether a request changes state. Logging in and out and POST search do not.
func isWrite(r *http.Request) bool {
	if !simkit.IsWriteMethod(r.Method) {
		return false
	}
	switch r.URL.Path {
	case Base + "/login", Base + "/logout", Base + "/search":
		return false
	}
	return true
}

// newID returns the next OID-like identifier (XL uses 15-digit numbers). Callers hold s.mu or
// run inside New.
func (s *Sim) newID() string {
	s.nextID++
	return strconv.FormatInt(s.nextID, 10)
}

// SetVersion makes admin/versions answer v from now on.
func (s *Sim) SetVersion(v VersionReport) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.version = v
}

// SetPageSize sets the page size used when a request has no limit, and raises the limit cap
// to it when needed.
func (s *Sim) SetPageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n <= 0 {
		n = DefaultPageSize
	}
	s.pageSize = n
	if s.maxPageSize < n {
		s.maxPageSize = n
	}
}

// LoseCursorAt makes the next paged answer for page number page (1-based) come without its
// x-next-cursor header although more records remain: the cursor "disappears" mid-way, as
// vmt-connect's Pager documents for expired cursors. It applies once.
func (s *Sim) LoseCursorAt(page int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loseCursor = page
}

// errorBody is Turbonomic's error DTO (turbo-api pkg/api/type.go APIErrorDTO).
type errorBody struct {
	Type      int    `json:"type"`
	Exception string `json:"exception,omitempty"`
	Message   string `json:"message"`
}

type reply struct {
	status int
	body   any
	header http.Header
}

func respond(status int, body any) reply { return reply{status: status, body: body} }

func fail(status int, exception, msg string) reply {
	return reply{status: status, body: errorBody{Type: status, Exception: exception, Message: msg}}
}

func (rp reply) write(w http.ResponseWriter) {
	for k, vs := range rp.header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	simkit.WriteJSON(w, rp.status, rp.body)
}

// locked runs fn with the state locked and writes its answer.
func (s *Sim) locked(w http.ResponseWriter, fn func(now time.Time) reply) {
	s.mu.Lock()
	rp := fn(s.clock.Now())
	s.mu.Unlock()
	rp.write(w)
}

func badRequest(msg string) reply {
	return fail(http.StatusBadRequest, "IllegalArgumentException", msg)
}

func notFound(what, uuid string) reply {
	return fail(http.StatusNotFound, "UnknownObjectException", what+" "+uuid+" not found")
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
