package sim

import (
	"maps"
	"net/http"
	"strings"
	"time"

	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// Config configures a simulator. The zero value is a working simulator with the defaults.
type Config struct {
	Clock          *simkit.Clock     // nil => simkit.NewRealClock()
	Users          map[string]string // username -> password; nil => DefaultUsers
	Realms         []Realm           // nil => DefaultRealms
	Roles          []Role            // the role catalogue; nil => DefaultRoles
	OpsTokenTTL    time.Duration     // OpsToken lifetime; 0 => 6h
	AdvertisedHost string            // host[:port] in tokenEndpointUrl and oidcIssuerUrl; "" => "vidb.sim.local"
}

// The default login.
const (
	DefaultUser     = "admin"
	DefaultPassword = "VMware1!VMware1!"
)

// DefaultOpsTokenTTL is how long an OpsToken lives unless Config.OpsTokenTTL says otherwise.
const DefaultOpsTokenTTL = 6 * time.Hour

// DefaultAdvertisedHost is the identity broker host in URLs unless Config.AdvertisedHost is set.
const DefaultAdvertisedHost = "vidb.sim.local"

// DefaultUsers holds the default login. New copies it.
var DefaultUsers = map[string]string{DefaultUser: DefaultPassword}

// DefaultRealms are two SSO realms with fixed ids. New copies them and fills their timestamps
// from its clock.
var DefaultRealms = []Realm{
	{
		ID:             "5c0e7d2a-41b8-4f63-9a0d-8e2f6b1c3a01",
		Name:           "flt-idb01",
		VidbResourceID: "a3f19c64-7b2e-4d85-b1c0-6e4d2f8a9b01",
		VcfInstanceID:  "0b7e4c1d-9f2a-4e36-8c5b-1d3f5a7c9e01",
		IdpID:          "8b3e5f1a-7c24-4d96-b2a8-0e6f4c9d3a01",
		SsoRealmCoverage: []RealmCoverage{
			{ID: "0b7e4c1d-9f2a-4e36-8c5b-1d3f5a7c9e01", Name: "sfo-vcf01", SsoEntityType: "VCF_INSTANCE"},
		},
		TotalConfiguredComponents: 1,
	},
	{
		ID:             "9e4b2f7c-0d31-4a58-b6e2-3c7a9d1f5b02",
		Name:           "flt-idb02",
		VidbResourceID: "e81d5a3f-26c4-4b9e-a7f0-4c2e8b6d1a02",
		VcfInstanceID:  "7d2c9e5a-3b14-4f80-9e6d-2a8c4f0b6d02",
		IdpID:          "4f6a2d8e-1c35-4b97-a0e2-7d9c3b5f1e02",
		// As seed 004 lists its realm: the VCF instance and the management appliances, which
		// are MANAGEMENT_COMPONENT entries; totalConfiguredComponents counts more than the
		// coverage lists there too.
		SsoRealmCoverage: []RealmCoverage{
			{ID: "7d2c9e5a-3b14-4f80-9e6d-2a8c4f0b6d02", Name: "sfo-vcf02", SsoEntityType: "VCF_INSTANCE"},
			{ID: "c5a8e1f3-6d27-4b90-8f4c-1e3a5c7b9d02", Name: "Operations Appliance", SsoEntityType: "MANAGEMENT_COMPONENT"},
			{ID: "e2b7d4a9-5f18-4c63-9b0e-8a1c6f3d2b02", Name: "Automation Appliance", SsoEntityType: "MANAGEMENT_COMPONENT"},
		},
		TotalConfiguredComponents: 4,
	},
}

// Sim is a VCF 9.1 Operations simulator. It implements simkit.Simulator.
type Sim struct {
	clock    *simkit.Clock
	faults   *simkit.Faults
	recorder *simkit.Recorder
	handler  http.Handler
	users    map[string]string
	opsTTL   time.Duration
	roles    map[string]Role // the role catalogue by name; read-only after New
	st       state
}

var _ simkit.Simulator = (*Sim)(nil)

// New returns a simulator configured by cfg.
func New(cfg Config) *Sim {
	s := &Sim{
		clock:  cfg.Clock,
		faults: &simkit.Faults{},
		users:  maps.Clone(cfg.Users),
		opsTTL: cfg.OpsTokenTTL,
	}
	if s.clock == nil {
		s.clock = simkit.NewRealClock()
	}
	if cfg.Users == nil {
		s.users = maps.Clone(DefaultUsers)
	}
	if s.opsTTL <= 0 {
		s.opsTTL = DefaultOpsTokenTTL
	}
	roles := cfg.Roles
	if roles == nil {
		roles = DefaultRoles
	}
	s.roles = make(map[string]Role, len(roles))
	for _, r := range roles {
		s.roles[r.Name] = r
	}
	realms := cfg.Realms
	if realms == nil {
		realms = DefaultRealms
	}
	now := s.clock.Now().UnixMilli()
	for _, r := range realms {
		r.Issues = append([]RealmIssue{}, r.Issues...)
		r.SsoRealmCoverage = append([]RealmCoverage{}, r.SsoRealmCoverage...)
		if r.ID == "" {
			r.ID = simkit.RandomUUID()
		}
		if r.Tenant == "" {
			r.Tenant = defaultTenant
		}
		if r.CreatedAt == 0 {
			r.CreatedAt = now
		}
		if r.UpdatedAt == 0 {
			r.UpdatedAt = r.CreatedAt
		}
		s.st.realms = append(s.st.realms, &realmState{Realm: r})
	}
	s.st.sessions = map[string]session{}
	s.st.access = map[string]accessGrant{}
	s.st.secrets = map[string]*tokenState{}
	s.SetAdvertisedHost(cfg.AdvertisedHost)

	s.recorder = simkit.NewRecorder(s.clock)
	s.recorder.ClassifyWrites(isWrite)
	s.handler = simkit.Wrap(s.routes(), s.faults, s.recorder)
	return s
}

// Vendor returns "vcf".
func (s *Sim) Vendor() string { return "vcf" }

// Handler returns the simulator's HTTP handler, fault and recorder middleware included.
func (s *Sim) Handler() http.Handler { return s.handler }

// Clock returns the simulator's clock.
func (s *Sim) Clock() *simkit.Clock { return s.clock }

// Faults returns the faults injected into every request.
func (s *Sim) Faults() *simkit.Faults { return s.faults }

// Recorder returns the record of every request received.
func (s *Sim) Recorder() *simkit.Recorder { return s.recorder }

const (
	authPrefix = "/suite-api/api/auth/token"
	iamPrefix  = "/suite-api/api/fleet-management/iam"
	realmPath  = iamPrefix + "/ssorealms/{ssoRealmId}"
)

func (s *Sim) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+authPrefix+"/acquire", s.acquire)
	mux.HandleFunc("POST "+authPrefix+"/release", s.release)
	mux.HandleFunc("GET /suite-api/api/versions/current", s.authed(s.versionCurrent))
	mux.HandleFunc("GET /suite-api/api/versions", s.authed(s.versions))

	mux.HandleFunc("GET "+iamPrefix+"/settings", s.authed(s.settings))
	mux.HandleFunc("GET "+iamPrefix+"/ssorealms", s.authed(s.listRealms))
	mux.HandleFunc("GET "+realmPath, s.authed(s.getRealm))

	mux.HandleFunc("POST "+realmPath+"/api-clients", s.authed(s.createClient))
	mux.HandleFunc("PATCH "+realmPath+"/api-clients", s.authed(s.updateClient))
	mux.HandleFunc("POST "+realmPath+"/api-clients/query", s.authed(s.queryClients))
	mux.HandleFunc("GET "+realmPath+"/api-clients/{clientId}", s.authed(s.getClient))
	mux.HandleFunc("DELETE "+realmPath+"/api-clients/{clientId}", s.authed(s.deleteClient))

	mux.HandleFunc("POST "+realmPath+"/api-tokens", s.authed(s.createToken))
	mux.HandleFunc("POST "+realmPath+"/api-tokens/query", s.authed(s.queryTokens))
	mux.HandleFunc("GET "+realmPath+"/api-tokens/{apiTokenId}", s.authed(s.getToken))
	mux.HandleFunc("DELETE "+realmPath+"/api-tokens/{apiTokenId}", s.authed(s.deleteToken))
	mux.HandleFunc("POST "+realmPath+"/api-tokens/{apiTokenId}/regenerate", s.authed(s.regenerateToken))

	mux.HandleFunc("GET "+realmPath+"/principals/{principalId}/roles", s.authed(s.getRoles))
	mux.HandleFunc("PUT "+realmPath+"/principals/{principalId}/roles", s.authed(s.putRoles))
	mux.HandleFunc("DELETE "+realmPath+"/principals/{principalId}/roles", s.authed(s.deleteRoles))

	mux.HandleFunc("POST /acs/t/{tenant}/token", s.vidbToken)
	return mux
}

// isWrite says whether a request changes state. Queries are POSTs but read; logging in, out
// and exchanging an API token are what a read needs.
func isWrite(r *http.Request) bool {
	if !simkit.IsWriteMethod(r.Method) {
		return false
	}
	p := r.URL.Path
	if r.Method == http.MethodPost && (strings.HasSuffix(p, "/query") ||
		strings.HasPrefix(p, authPrefix+"/") || strings.HasPrefix(p, "/acs/")) {
		return false
	}
	return true
}

// locked runs fn with the state locked and returns its answer.
func (s *Sim) locked(fn func(now time.Time) reply) reply {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	return fn(s.clock.Now())
}

// inRealm runs fn with the state locked and the path's realm, or answers 404.
func (s *Sim) inRealm(r *http.Request, fn func(rs *realmState, now time.Time) reply) reply {
	return s.locked(func(now time.Time) reply {
		id := r.PathValue("ssoRealmId")
		rs := s.st.realm(id)
		if rs == nil {
			return fail(http.StatusNotFound, "SSO realm "+id+" not found")
		}
		return fn(rs, now)
	})
}

// SetAdvertisedHost sets the host[:port] of tokenEndpointUrl and oidcIssuerUrl in every answer
// from now on ("" = DefaultAdvertisedHost). Point it at the simulator's own listener, once
// Serve has chosen the port, to make tokenEndpointUrl reachable.
func (s *Sim) SetAdvertisedHost(host string) {
	if host == "" {
		host = DefaultAdvertisedHost
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	s.st.host = host
}

// Realms returns the SSO realms.
func (s *Sim) Realms() []Realm {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	out := make([]Realm, 0, len(s.st.realms))
	for _, rs := range s.st.realms {
		r := rs.Realm
		r.Issues = append([]RealmIssue{}, r.Issues...)
		r.SsoRealmCoverage = append([]RealmCoverage{}, r.SsoRealmCoverage...)
		out = append(out, r)
	}
	return out
}

func (s *Sim) settings(w http.ResponseWriter, _ *http.Request) {
	respond(http.StatusOK, Settings{
		APITokenTTL:             DefaultAPITokenTTL,
		AccessTokenTTL:          DefaultAccessTokenTTL,
		APITokenRetentionPeriod: 43200,
		JitInactiveUserTTL:      0,
		JitInactiveUserEnabled:  false,
		AllUsersGroupEnabled:    false,
	}).write(w)
}

// APIClients returns the API clients of a realm, oldest first, with their role assignments;
// nil for an unknown realm.
func (s *Sim) APIClients(realmID string) []APIClient {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	rs := s.st.realm(realmID)
	if rs == nil {
		return nil
	}
	out := make([]APIClient, 0, len(rs.clients))
	for _, c := range rs.clients {
		out = append(out, clientView(c))
	}
	return out
}

// Tokens returns the API tokens of a realm in creation order, as GET shows them (no secret,
// tokenStatus at the simulator's now); nil for an unknown realm.
func (s *Sim) Tokens(realmID string) []APIToken {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	rs := s.st.realm(realmID)
	if rs == nil {
		return nil
	}
	now := s.clock.Now()
	out := make([]APIToken, 0, len(rs.tokens))
	for _, t := range rs.tokens {
		out = append(out, s.st.view(t, now))
	}
	return out
}

// RoleAssignments returns the role assignments of a principal (an API client's clientUuid);
// nil when the realm or the principal is unknown.
func (s *Sim) RoleAssignments(realmID, principalID string) []RoleAssignment {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	rs := s.st.realm(realmID)
	if rs == nil {
		return nil
	}
	c := rs.clientByUUID(principalID)
	if c == nil {
		return nil
	}
	return cloneRoles(c.Roles)
}

// TokenSecretValid reports whether secret is the current secret of an existing API token that
// has not expired by the simulator's clock.
func (s *Sim) TokenSecretValid(secret string) bool {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	t := s.st.secrets[secret]
	return t != nil && !t.expired(s.clock.Now())
}
