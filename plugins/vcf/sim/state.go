package sim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// Realm is an SSO realm (SsoRealm on the wire).
type Realm struct {
	ID                        string          `json:"id"`
	Name                      string          `json:"name"`
	VidbResourceID            string          `json:"vidbResourceId"`
	VcfInstanceID             string          `json:"vcfInstanceId,omitempty"`
	IdpID                     string          `json:"idpId"`
	Issues                    []RealmIssue    `json:"issues"`
	SsoRealmCoverage          []RealmCoverage `json:"ssoRealmCoverage"`
	TotalConfiguredComponents int             `json:"totalConfiguredComponents"`
	CreatedAt                 int64           `json:"createdAt"` // epoch ms; 0 = the clock at New
	UpdatedAt                 int64           `json:"updatedAt"` // epoch ms; 0 = CreatedAt

	// Tenant is the identity broker tenant used in tokenEndpointUrl and oidcIssuerUrl
	// ("CUSTOMER" when empty). It is not part of the SsoRealm wire object.
	Tenant string `json:"-"`
}

// RealmIssue is one entry of SsoRealm.issues.
type RealmIssue struct {
	Name       string `json:"name"`
	Severity   string `json:"severity"`
	Message    string `json:"message"`
	AlertID    string `json:"alertId,omitempty"`
	ResourceID string `json:"resourceId,omitempty"`
}

// RealmCoverage is one entry of SsoRealm.ssoRealmCoverage.
type RealmCoverage struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	SsoEntityType string `json:"ssoEntityType"`
}

// APIClient is an API client (ApiClient on the wire).
type APIClient struct {
	ClientID          string           `json:"clientId"`   // the string id used in paths
	ClientUUID        string           `json:"clientUuid"` // the principalId for role assignment
	ClientName        string           `json:"clientName"`
	ClientDescription string           `json:"clientDescription"`
	Roles             []RoleAssignment `json:"roles"`
}

// APIToken is an API token (ApiToken on the wire). Token, the secret, is set only in the
// answers to create and regenerate.
type APIToken struct {
	ID               string `json:"id"`
	APIClientID      string `json:"apiClientId"`
	TokenName        string `json:"tokenName"`
	TokenDescription string `json:"tokenDescription"`
	APITokenTTL      int    `json:"apiTokenTtl"`    // minutes
	AccessTokenTTL   int    `json:"accessTokenTtl"` // minutes
	TokenType        string `json:"tokenType"`
	Token            string `json:"token,omitempty"`
	TokenLastChars   string `json:"tokenLastChars"`
	PrincipalName    string `json:"principalName"`
	PrincipalStatus  string `json:"principalStatus"`
	CreationDate     int64  `json:"creationDate"`   // epoch ms
	ExpirationDate   int64  `json:"expirationDate"` // epoch ms
	LastUsedDate     int64  `json:"lastUsedDate"`   // epoch ms
	TokenStatus      string `json:"tokenStatus"`
	TokenEndpointURL string `json:"tokenEndpointUrl"`
	OidcIssuerURL    string `json:"oidcIssuerUrl"`
}

// RoleAssignment is a VcfRoleAssignment.
type RoleAssignment struct {
	RoleName        string    `json:"roleName"`
	RoleDisplayName string    `json:"roleDisplayName,omitempty"`
	RoleScope       RoleScope `json:"roleScope"`
	ExpiresAt       int64     `json:"expiresAt,omitempty"` // epoch ms
}

// RoleScope is the scope of a role assignment.
type RoleScope struct {
	ScopeType string          `json:"scopeType"` // VCF_INSTANCE, SSO_REALM or UNKNOWN
	Resources []ScopeResource `json:"resources,omitempty"`
	SsoName   string          `json:"ssoName,omitempty"`
}

// ScopeResource is one resource of a RoleScope.
type ScopeResource struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// PageInfo describes one page of a query answer; page is 0-based. The token query echoes
// the sortOrder it applied (seed 004: "sortOrder": "ASCENDING").
type PageInfo struct {
	TotalCount int    `json:"totalCount"`
	Page       int    `json:"page"`
	PageSize   int    `json:"pageSize"`
	SortOrder  string `json:"sortOrder,omitempty"`
}

// Settings is GlobalIamSettings; every duration is in minutes.
type Settings struct {
	APITokenTTL             int  `json:"apiTokenTtl"`
	AccessTokenTTL          int  `json:"accessTokenTtl"`
	APITokenRetentionPeriod int  `json:"apiTokenRetentionPeriod"`
	JitInactiveUserTTL      int  `json:"jitInactiveUserTtl"`
	JitInactiveUserEnabled  bool `json:"jitInactiveUserEnabled"`
	AllUsersGroupEnabled    bool `json:"allUsersGroupEnabled"`
}

// Enumerations of the wire.
const (
	TokenTypeAPIClient = "API_CLIENT"
	TokenTypeUser      = "USER"
	TokenTypeUnknown   = "UNKNOWN"

	TokenStatusActive  = "ACTIVE"
	TokenStatusExpired = "EXPIRED"
	TokenStatusUnknown = "UNKNOWN"

	ScopeVCFInstance = "VCF_INSTANCE"
	ScopeSSORealm    = "SSO_REALM"
	ScopeUnknown     = "UNKNOWN"
)

// TTL bounds in minutes. The spec's GlobalIamSettings gives 43200 as the minimum of the realm's
// *default* apiTokenTtl, but seed 004's appliance accepted a token of 40320 minutes (28 days:
// its dates are exactly 28 days apart), and the identity broker's TTL policy
// (APITokenTTLPolicyMedia) publishes only maxima. No per-token minimum is published, so the
// simulator enforces none beyond one minute rather than invent one.
const (
	DefaultAPITokenTTL    = 43200  // 30 days
	MinAPITokenTTL        = 1      // no published per-token minimum; see above
	MaxAPITokenTTL        = 259200 // 180 days
	DefaultAccessTokenTTL = 480    // 8 hours
	MinAccessTokenTTL     = 30
	MaxAccessTokenTTL     = 480
)

const (
	defaultTenant = "CUSTOMER"
	// tokenLastCharsLen: seed 004's tokenLastChars ("DQxMQ", "zIwNg") are the last 5
	// characters of the token.
	tokenLastCharsLen = 5
)

// state is everything the simulator remembers. Every field is guarded by mu.
type state struct {
	mu       sync.Mutex
	realms   []*realmState
	sessions map[string]session     // OpsToken -> session
	access   map[string]accessGrant // identity broker access token -> grant
	secrets  map[string]*tokenState // current API token secret -> token
	seq      int64                  // creation order of clients and tokens
	host     string                 // advertised identity broker host[:port]
}

type session struct {
	user    string
	expires time.Time
}

type accessGrant struct {
	realm    *realmState
	clientID string
	expires  time.Time
}

type realmState struct {
	Realm
	clients []*clientState // creation order
	tokens  []*tokenState  // creation order
}

type clientState struct {
	APIClient // Roles holds the client's role assignments
}

type tokenState struct {
	seq    int64
	realm  *realmState
	data   APIToken // Token, TokenStatus and the URLs are set only in views
	secret string
}

func (st *state) nextSeq() int64 {
	st.seq++
	return st.seq
}

// sweep forgets expired OpsTokens and access tokens, so a long-running simulator does not
// grow with every login.
func (st *state) sweep(now time.Time) {
	for k, sess := range st.sessions {
		if !now.Before(sess.expires) {
			delete(st.sessions, k)
		}
	}
	for k, g := range st.access {
		if !now.Before(g.expires) {
			delete(st.access, k)
		}
	}
}

func (st *state) realm(id string) *realmState {
	for _, r := range st.realms {
		if r.ID == id {
			return r
		}
	}
	return nil
}

func (r *realmState) client(clientID string) *clientState {
	for _, c := range r.clients {
		if c.ClientID == clientID {
			return c
		}
	}
	return nil
}

func (r *realmState) clientByUUID(uuid string) *clientState {
	for _, c := range r.clients {
		if c.ClientUUID == uuid {
			return c
		}
	}
	return nil
}

func (r *realmState) token(id string) *tokenState {
	for _, t := range r.tokens {
		if t.data.ID == id {
			return t
		}
	}
	return nil
}

// deleteToken removes t and invalidates its secret.
func (st *state) deleteToken(r *realmState, t *tokenState) {
	delete(st.secrets, t.secret)
	r.tokens = removeFirst(r.tokens, t)
}

// deleteClient removes c with its tokens, role assignments and access tokens.
func (st *state) deleteClient(r *realmState, c *clientState) {
	kept := r.tokens[:0:0]
	for _, t := range r.tokens {
		if t.data.APIClientID == c.ClientID {
			delete(st.secrets, t.secret)
			continue
		}
		kept = append(kept, t)
	}
	r.tokens = kept
	for k, g := range st.access {
		if g.realm == r && g.clientID == c.ClientID {
			delete(st.access, k)
		}
	}
	r.clients = removeFirst(r.clients, c)
}

func removeFirst[T comparable](s []T, v T) []T {
	for i, x := range s {
		if x == v {
			return append(s[:i:i], s[i+1:]...)
		}
	}
	return s
}

// view returns the wire form of t at now, without its secret.
func (st *state) view(t *tokenState, now time.Time) APIToken {
	v := t.data
	v.TokenStatus = TokenStatusActive
	if t.expired(now) {
		v.TokenStatus = TokenStatusExpired
	}
	v.OidcIssuerURL = "https://" + st.host + "/acs/t/" + t.realm.Tenant
	v.TokenEndpointURL = v.OidcIssuerURL + "/token"
	return v
}

func (t *tokenState) expired(now time.Time) bool {
	return now.UnixMilli() >= t.data.ExpirationDate
}

// clientView returns the wire form of c with copies of its role assignments.
func clientView(c *clientState) APIClient {
	v := c.APIClient
	v.Roles = cloneRoles(c.Roles)
	return v
}

func cloneRoles(in []RoleAssignment) []RoleAssignment {
	out := make([]RoleAssignment, len(in))
	for i, ra := range in {
		ra.RoleScope.Resources = append([]ScopeResource(nil), ra.RoleScope.Resources...)
		out[i] = ra
	}
	return out
}

// apiError is the error body the simulator answers (the spec declares none for IAM).
type apiError struct {
	Message        string `json:"message"`
	HTTPStatusCode int    `json:"httpStatusCode"`
}

// reply is a computed answer: a status and a body (nil for none).
type reply struct {
	status int
	body   any
}

func respond(status int, body any) reply { return reply{status, body} }

func fail(status int, msg string) reply {
	return reply{status, apiError{Message: msg, HTTPStatusCode: status}}
}

func (rp reply) write(w http.ResponseWriter) {
	simkit.WriteJSON(w, rp.status, rp.body)
}

// The fields of an ApiToken each answer carries, as seed 004 shows them: the create answer
// lacks tokenDescription (though the request sent one), principalName and principalStatus;
// the regenerate answer lacks principalName and principalStatus; a query entry lacks the
// secret, principalStatus and both URLs. GET (not in the seed) answers every field but the
// secret, as the spec's ApiToken has them.
var (
	createdFields = []string{"id", "apiClientId", "tokenName", "apiTokenTtl", "accessTokenTtl", "tokenType", "token",
		"tokenLastChars", "creationDate", "expirationDate", "lastUsedDate", "tokenStatus", "tokenEndpointUrl", "oidcIssuerUrl"}
	regeneratedFields = append(slices.Clone(createdFields), "tokenDescription")
	listedFields      = []string{"id", "apiClientId", "tokenName", "tokenDescription", "apiTokenTtl", "accessTokenTtl", "tokenType",
		"tokenLastChars", "principalName", "creationDate", "expirationDate", "lastUsedDate", "tokenStatus"}
)

// wire returns the fields of v an answer carries, by their wire names.
func wire(v APIToken, fields []string) map[string]any {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err) // APIToken is plain data: it always marshals
	}
	var all map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // epoch milliseconds stay exact
	if err := dec.Decode(&all); err != nil {
		panic(err)
	}
	out := make(map[string]any, len(fields))
	for _, f := range fields {
		if x, ok := all[f]; ok {
			out[f] = x
		}
	}
	return out
}
