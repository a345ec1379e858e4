package sim

import (
	"cmp"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tokenflow/tokenflow/sdk/simkit"
)

type createTokenRequest struct {
	APIClientID      string   `json:"apiClientId"`
	TokenName        string   `json:"tokenName"`
	TokenDescription string   `json:"tokenDescription"`
	APITokenTTL      *minutes `json:"apiTokenTtl"`
	AccessTokenTTL   *minutes `json:"accessTokenTtl"`
	TokenType        string   `json:"tokenType"`
}

// minutes is a TTL in minutes as a JSON number (40320) or, as seed 004 sends it, a JSON
// string of digits ("40320"); the appliance accepted the string and answered a number.
type minutes int

func (m *minutes) UnmarshalJSON(b []byte) error {
	s := string(b)
	if unq, err := strconv.Unquote(s); err == nil && len(s) > 0 && s[0] == '"' {
		s = strings.TrimSpace(unq)
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("want a whole number of minutes (a number or a string of digits), got %s", b)
	}
	*m = minutes(n)
	return nil
}

// validate checks the request and fills the defaults.
func (req *createTokenRequest) validate() (apiTTL, accessTTL int, err error) {
	switch {
	case req.APIClientID == "":
		return 0, 0, fmt.Errorf("apiClientId is required")
	case strings.TrimSpace(req.TokenName) == "":
		return 0, 0, fmt.Errorf("tokenName is required")
	case req.TokenType != "" && req.TokenType != TokenTypeAPIClient:
		return 0, 0, fmt.Errorf("tokenType must be %s for an API client token, got %q", TokenTypeAPIClient, req.TokenType)
	}
	apiTTL, accessTTL = DefaultAPITokenTTL, DefaultAccessTokenTTL
	if req.APITokenTTL != nil {
		apiTTL = int(*req.APITokenTTL)
		if apiTTL < MinAPITokenTTL || apiTTL > MaxAPITokenTTL {
			return 0, 0, fmt.Errorf("apiTokenTtl must be between %d and %d minutes, got %d", MinAPITokenTTL, MaxAPITokenTTL, apiTTL)
		}
	}
	if req.AccessTokenTTL != nil {
		accessTTL = int(*req.AccessTokenTTL)
		if accessTTL < MinAccessTokenTTL || accessTTL > MaxAccessTokenTTL {
			return 0, 0, fmt.Errorf("accessTokenTtl must be between %d and %d minutes, got %d", MinAccessTokenTTL, MaxAccessTokenTTL, accessTTL)
		}
	}
	return apiTTL, accessTTL, nil
}

// newSecret returns a fresh API token as the appliance writes it: "vidb_" and the unpadded
// base64 of "<token id>#<64 random letters and digits>#<creation time, epoch seconds>".
// Seed 004's tokens decode to "<id>#..." and end in the base64 of their creation second (its
// tokenLastChars "DQxMQ" and "zIwNg" are the tails of 1779354411 and 1779357206), as the
// identity broker's TokenFormData example does in full.
func newSecret(id string, now time.Time) string {
	raw := id + "#" + randomAlnum(64) + "#" + strconv.FormatInt(now.Unix(), 10)
	return "vidb_" + base64.RawURLEncoding.EncodeToString([]byte(raw))
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randomAlnum(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alnum[rand.IntN(len(alnum))]
	}
	return string(b)
}

// setSecret gives t a new secret, valid from now for its apiTokenTtl, and returns the secret.
func (s *Sim) setSecret(t *tokenState, now time.Time) string {
	delete(s.st.secrets, t.secret)
	t.secret = newSecret(t.data.ID, now)
	s.st.secrets[t.secret] = t
	ms := now.UnixMilli()
	t.data.TokenLastChars = t.secret[len(t.secret)-tokenLastCharsLen:]
	t.data.CreationDate = ms
	t.data.ExpirationDate = now.Add(time.Duration(t.data.APITokenTTL) * time.Minute).UnixMilli()
	t.data.LastUsedDate = ms
	return t.secret
}

// createToken is POST .../ssorealms/{ssoRealmId}/api-tokens: 201 with the secret.
func (s *Sim) createToken(w http.ResponseWriter, r *http.Request) {
	var req createTokenRequest
	err := simkit.DecodeJSON(r, &req)
	s.inRealm(r, func(rs *realmState, now time.Time) reply {
		if err != nil {
			return fail(http.StatusBadRequest, err.Error())
		}
		apiTTL, accessTTL, err := req.validate()
		if err != nil {
			return fail(http.StatusBadRequest, err.Error())
		}
		c := rs.client(req.APIClientID)
		if c == nil {
			return fail(http.StatusNotFound, "API client "+req.APIClientID+" not found")
		}
		for _, t := range rs.tokens {
			if t.data.APIClientID == c.ClientID && t.data.TokenName == req.TokenName {
				return fail(http.StatusConflict, fmt.Sprintf("API client %s already has a token named %q", c.ClientID, req.TokenName))
			}
		}
		t := &tokenState{
			seq:   s.st.nextSeq(),
			realm: rs,
			data: APIToken{
				ID:               simkit.RandomUUID(),
				APIClientID:      c.ClientID,
				TokenName:        req.TokenName,
				TokenDescription: req.TokenDescription,
				APITokenTTL:      apiTTL,
				AccessTokenTTL:   accessTTL,
				TokenType:        TokenTypeAPIClient,
				PrincipalName:    c.ClientID,
				PrincipalStatus:  "ACTIVE",
			},
		}
		secret := s.setSecret(t, now)
		rs.tokens = append(rs.tokens, t)
		v := s.st.view(t, now)
		v.Token = secret
		return respond(http.StatusCreated, wire(v, createdFields))
	}).write(w)
}

// getToken is GET .../ssorealms/{ssoRealmId}/api-tokens/{apiTokenId}: no secret.
func (s *Sim) getToken(w http.ResponseWriter, r *http.Request) {
	s.inRealm(r, func(rs *realmState, now time.Time) reply {
		t := rs.token(r.PathValue("apiTokenId"))
		if t == nil {
			return fail(http.StatusNotFound, "API token "+r.PathValue("apiTokenId")+" not found")
		}
		return respond(http.StatusOK, s.st.view(t, now))
	}).write(w)
}

// deleteToken is DELETE .../ssorealms/{ssoRealmId}/api-tokens/{apiTokenId}: 204.
func (s *Sim) deleteToken(w http.ResponseWriter, r *http.Request) {
	s.inRealm(r, func(rs *realmState, _ time.Time) reply {
		t := rs.token(r.PathValue("apiTokenId"))
		if t == nil {
			return fail(http.StatusNotFound, "API token "+r.PathValue("apiTokenId")+" not found")
		}
		s.st.deleteToken(rs, t)
		return respond(http.StatusNoContent, nil)
	}).write(w)
}

// regenerateToken is POST .../api-tokens/{apiTokenId}/regenerate: 200 with a new secret under
// a NEW token id (seed 004: 27a20393-... came back as b3a308e3-...). The old id is gone (404
// from then on) and the old secret stops working; the token's life starts again from now.
func (s *Sim) regenerateToken(w http.ResponseWriter, r *http.Request) {
	s.inRealm(r, func(rs *realmState, now time.Time) reply {
		t := rs.token(r.PathValue("apiTokenId"))
		if t == nil {
			return fail(http.StatusNotFound, "API token "+r.PathValue("apiTokenId")+" not found")
		}
		t.data.ID = simkit.RandomUUID()
		secret := s.setSecret(t, now)
		v := s.st.view(t, now)
		v.Token = secret
		return respond(http.StatusOK, wire(v, regeneratedFields))
	}).write(w)
}

var tokenQueryFields = map[string]bool{"TOKEN_NAME": true, "PRINCIPAL_NAME": true, "CLIENT_ID": true}

var (
	tokenTypes    = map[string]bool{TokenTypeAPIClient: true, TokenTypeUser: true, TokenTypeUnknown: true}
	tokenStatuses = map[string]bool{TokenStatusActive: true, TokenStatusExpired: true, TokenStatusUnknown: true}
)

type tokenPage struct {
	PageInfo  PageInfo         `json:"pageInfo"`
	APITokens []map[string]any `json:"apiTokens"`
}

const (
	sortAscending  = "ASCENDING"
	sortDescending = "DESCENDING"
)

// tokenSortKeys are the sortBy values, normalised (lower case, no '_').
var tokenSortKeys = map[string]func(a, b *APIToken) int{
	"creationdate":   func(a, b *APIToken) int { return cmp.Compare(a.CreationDate, b.CreationDate) },
	"expirationdate": func(a, b *APIToken) int { return cmp.Compare(a.ExpirationDate, b.ExpirationDate) },
	"tokenname":      func(a, b *APIToken) int { return strings.Compare(a.TokenName, b.TokenName) },
}

// queryTokens is POST .../ssorealms/{ssoRealmId}/api-tokens/query?page=&pageSize=&sortBy=&sortOrder=.
func (s *Sim) queryTokens(w http.ResponseWriter, r *http.Request) {
	qs := r.URL.Query()
	page, size, perr := paging(qs)
	q, qerr := decodeQuery(r, tokenQueryFields)
	s.inRealm(r, func(rs *realmState, now time.Time) reply {
		switch {
		case perr != nil:
			return fail(http.StatusBadRequest, perr.Error())
		case qerr != nil:
			return fail(http.StatusBadRequest, qerr.Error())
		}
		var types, statuses map[string]bool
		if q.Filters != nil {
			var err error
			if types, err = filterSet("tokenType", q.Filters.TokenType, tokenTypes); err != nil {
				return fail(http.StatusBadRequest, err.Error())
			}
			if statuses, err = filterSet("tokenStatus", q.Filters.TokenStatus, tokenStatuses); err != nil {
				return fail(http.StatusBadRequest, err.Error())
			}
		}
		var byKey func(a, b *APIToken) int
		if v := qs.Get("sortBy"); v != "" {
			if byKey = tokenSortKeys[strings.ToLower(strings.ReplaceAll(v, "_", ""))]; byKey == nil {
				return fail(http.StatusBadRequest, fmt.Sprintf("sortBy must be one of creationDate, tokenName, expirationDate, got %q", v))
			}
		}
		// The spec's sort order values are ASCENDING and DESCENDING (seed 004 sends
		// ASCENDING); ascending when none is sent.
		order := strings.ToUpper(qs.Get("sortOrder"))
		switch order {
		case "":
			order = sortAscending
		case sortAscending, sortDescending:
		default:
			return fail(http.StatusBadRequest, fmt.Sprintf("sortOrder must be %s or %s, got %q", sortAscending, sortDescending, qs.Get("sortOrder")))
		}
		desc := order == sortDescending

		type hit struct {
			seq int64
			v   APIToken
		}
		var hits []hit
		for _, t := range rs.tokens {
			v := s.st.view(t, now)
			if types != nil && !types[v.TokenType] || statuses != nil && !statuses[v.TokenStatus] {
				continue
			}
			if q.matches(func(field string) []string { return tokenField(&v, field) }) {
				hits = append(hits, hit{t.seq, v})
			}
		}
		// Creation order by default; ties on the sort key are broken by creation order.
		slices.SortFunc(hits, func(a, b hit) int {
			c := 0
			if byKey != nil {
				c = byKey(&a.v, &b.v)
			}
			if c == 0 {
				c = cmp.Compare(a.seq, b.seq)
			}
			if desc {
				c = -c
			}
			return c
		})
		lo, hi := pageOf(len(hits), page, size)
		out := tokenPage{
			PageInfo:  PageInfo{TotalCount: len(hits), Page: page, PageSize: size, SortOrder: order},
			APITokens: make([]map[string]any, 0, hi-lo),
		}
		for _, h := range hits[lo:hi] {
			out.APITokens = append(out.APITokens, wire(h.v, listedFields))
		}
		return respond(http.StatusOK, out)
	}).write(w)
}

// filterSet validates a filter list; nil (no filtering) when it is empty.
func filterSet(name string, vals []string, allowed map[string]bool) (map[string]bool, error) {
	if len(vals) == 0 {
		return nil, nil
	}
	set := map[string]bool{}
	for _, v := range vals {
		v = strings.ToUpper(v)
		if !allowed[v] {
			return nil, fmt.Errorf("filters.%s: unsupported value %q (supported: %s)", name, v, strings.Join(sortedKeys(allowed), ", "))
		}
		set[v] = true
	}
	return set, nil
}

func tokenField(v *APIToken, field string) []string {
	switch field {
	case "TOKEN_NAME":
		return []string{v.TokenName}
	case "PRINCIPAL_NAME":
		return []string{v.PrincipalName}
	case "CLIENT_ID":
		return []string{v.APIClientID}
	}
	return nil
}
