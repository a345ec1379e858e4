package sim

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tokenflow/tokenflow/sdk/simkit"
)

type createTokenRequest struct {
	APIClientID      string `json:"apiClientId"`
	TokenName        string `json:"tokenName"`
	TokenDescription string `json:"tokenDescription"`
	APITokenTTL      *int   `json:"apiTokenTtl"`
	AccessTokenTTL   *int   `json:"accessTokenTtl"`
	TokenType        string `json:"tokenType"`
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
		apiTTL = *req.APITokenTTL
		if apiTTL < MinAPITokenTTL || apiTTL > MaxAPITokenTTL {
			return 0, 0, fmt.Errorf("apiTokenTtl must be between %d and %d minutes, got %d", MinAPITokenTTL, MaxAPITokenTTL, apiTTL)
		}
	}
	if req.AccessTokenTTL != nil {
		accessTTL = *req.AccessTokenTTL
		if accessTTL < MinAccessTokenTTL || accessTTL > MaxAccessTokenTTL {
			return 0, 0, fmt.Errorf("accessTokenTtl must be between %d and %d minutes, got %d", MinAccessTokenTTL, MaxAccessTokenTTL, accessTTL)
		}
	}
	return apiTTL, accessTTL, nil
}

// newSecret returns a fresh API token secret: 43 URL-safe characters.
func newSecret() string { return simkit.RandomURLSafe(32) }

// setSecret gives t a new secret, valid from now for its apiTokenTtl, and returns the secret.
func (s *Sim) setSecret(t *tokenState, now time.Time) string {
	delete(s.st.secrets, t.secret)
	t.secret = newSecret()
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
		return respond(http.StatusCreated, v)
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

// regenerateToken is POST .../api-tokens/{apiTokenId}/regenerate: 200 with a new secret. The
// old secret stops working; the token's life starts again from now.
func (s *Sim) regenerateToken(w http.ResponseWriter, r *http.Request) {
	s.inRealm(r, func(rs *realmState, now time.Time) reply {
		t := rs.token(r.PathValue("apiTokenId"))
		if t == nil {
			return fail(http.StatusNotFound, "API token "+r.PathValue("apiTokenId")+" not found")
		}
		secret := s.setSecret(t, now)
		v := s.st.view(t, now)
		v.Token = secret
		return respond(http.StatusOK, v)
	}).write(w)
}

var tokenQueryFields = map[string]bool{"TOKEN_NAME": true, "PRINCIPAL_NAME": true, "CLIENT_ID": true}

var (
	tokenTypes    = map[string]bool{TokenTypeAPIClient: true, TokenTypeUser: true, TokenTypeUnknown: true}
	tokenStatuses = map[string]bool{TokenStatusActive: true, TokenStatusExpired: true, TokenStatusUnknown: true}
)

type tokenPage struct {
	PageInfo  PageInfo   `json:"pageInfo"`
	APITokens []APIToken `json:"apiTokens"`
}

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
		desc := false
		switch v := strings.ToUpper(qs.Get("sortOrder")); v {
		case "", "ASC":
		case "DESC":
			desc = true
		default:
			return fail(http.StatusBadRequest, fmt.Sprintf("sortOrder must be ASC or DESC, got %q", qs.Get("sortOrder")))
		}

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
			PageInfo:  PageInfo{TotalCount: len(hits), Page: page, PageSize: size},
			APITokens: make([]APIToken, 0, hi-lo),
		}
		for _, h := range hits[lo:hi] {
			out.APITokens = append(out.APITokens, h.v)
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
