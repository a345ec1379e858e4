package ops

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/tokenflow/tokenflow/sdk"
)

// API token TTL bounds in minutes. Checked before sending, so a dry-run
// reports them too. The spec's 43200 is the minimum of the realm's *default*
// TTL (GlobalIamSettings), not of one token's: seed 004's appliance issued a
// 28-day (40320-minute) token, and no per-token minimum is published (the
// identity broker's TTL policy has only maxima), so none is enforced here.
const (
	minAPITokenTTL    = 1      // one minute: the wire's unit
	maxAPITokenTTL    = 259200 // 180 days
	minAccessTokenTTL = 30
	maxAccessTokenTTL = 480
)

type apiToken struct {
	ID               string `json:"id"`
	APIClientID      string `json:"apiClientId"`
	TokenName        string `json:"tokenName"`
	TokenDescription string `json:"tokenDescription"`
	APITokenTTL      int64  `json:"apiTokenTtl"`
	AccessTokenTTL   int64  `json:"accessTokenTtl"`
	TokenType        string `json:"tokenType"`
	Token            string `json:"token,omitempty"`
	TokenLastChars   string `json:"tokenLastChars"`
	PrincipalName    string `json:"principalName"`
	CreationDate     int64  `json:"creationDate"`
	ExpirationDate   int64  `json:"expirationDate"`
	LastUsedDate     int64  `json:"lastUsedDate"`
	TokenStatus      string `json:"tokenStatus"`
	TokenEndpointURL string `json:"tokenEndpointUrl"`
}

func (t apiToken) result() map[string]any {
	m := map[string]any{
		"id": t.ID, "api_client_id": t.APIClientID, "token_name": t.TokenName,
		"token_description": t.TokenDescription, "token_type": t.TokenType,
		"api_token_ttl":    (time.Duration(t.APITokenTTL) * time.Minute).String(),
		"access_token_ttl": (time.Duration(t.AccessTokenTTL) * time.Minute).String(),
		"token_last_chars": t.TokenLastChars, "principal_name": t.PrincipalName,
		"creation_date": msTime(t.CreationDate), "expiration_date": msTime(t.ExpirationDate),
		"token_status": t.TokenStatus, "token_endpoint_url": t.TokenEndpointURL,
	}
	if t.LastUsedDate != 0 {
		m["last_used_date"] = msTime(t.LastUsedDate)
	}
	if t.Token != "" {
		m["token"] = t.Token
	}
	return m
}

// tokenFields are the result fields of one API token. token is only set by
// issue_token and regenerate_token: VCF shows the secret once.
var tokenFields = []sdk.Field{
	{Name: "id", Type: sdk.String, Doc: "token UUID"},
	{Name: "token", Type: sdk.Secret, Doc: "the API token itself; only on issue and regenerate"},
	{Name: "api_client_id", Type: sdk.String},
	{Name: "token_name", Type: sdk.String},
	{Name: "token_description", Type: sdk.String},
	{Name: "token_type", Type: sdk.String},
	{Name: "api_token_ttl", Type: sdk.Duration},
	{Name: "access_token_ttl", Type: sdk.Duration},
	{Name: "token_last_chars", Type: sdk.String},
	{Name: "principal_name", Type: sdk.String},
	{Name: "creation_date", Type: sdk.Timestamp},
	{Name: "expiration_date", Type: sdk.Timestamp, Doc: "as the vendor computed it"},
	{Name: "last_used_date", Type: sdk.Timestamp},
	{Name: "token_status", Type: sdk.String, Doc: "ACTIVE, EXPIRED or UNKNOWN"},
	{Name: "token_endpoint_url", Type: sdk.String, Doc: "where the API token is exchanged for an access token"},
}

func minutesIn(c *sdk.Call, param string, lo, hi int64) (int64, error) {
	d := c.Args.Duration(param)
	if d%time.Minute != 0 {
		return 0, sdk.InvalidArgument(param, "%s is not a whole number of minutes", d)
	}
	m := int64(d / time.Minute)
	if m < lo || m > hi {
		return 0, sdk.InvalidArgument(param, "%s (%d minutes) is outside VCF's bounds of %d to %d minutes (%s to %s)",
			d, m, lo, hi, time.Duration(lo)*time.Minute, time.Duration(hi)*time.Minute)
	}
	return m, nil
}

func issueTokenOp() sdk.Op {
	return sdk.Op{
		Name:   "issue_token",
		Doc:    "Generate an API token for an API client (the secret is returned once)",
		Effect: sdk.Write,
		Params: []sdk.Field{
			realmParam,
			{Name: "api_client_id", Type: sdk.String, Required: true, Doc: "the client's client_id"},
			{Name: "token_name", Type: sdk.String, Required: true},
			{Name: "token_description", Type: sdk.String, Default: ""},
			{Name: "api_token_ttl", Type: sdk.Duration, Default: "720h", Doc: "lifetime, whole minutes up to 180d (seed 004 issues 28d)"},
			{Name: "access_token_ttl", Type: sdk.Duration, Default: "8h", Doc: "lifetime of exchanged access tokens, 30m to 8h"},
		},
		Results: tokenFields,
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			apiTTL, err := minutesIn(c, "api_token_ttl", minAPITokenTTL, maxAPITokenTTL)
			if err != nil {
				return nil, err
			}
			accessTTL, err := minutesIn(c, "access_token_ttl", minAccessTokenTTL, maxAccessTokenTTL)
			if err != nil {
				return nil, err
			}
			body := map[string]any{
				"apiClientId":    c.Args.String("api_client_id"),
				"tokenName":      c.Args.String("token_name"),
				"apiTokenTtl":    apiTTL,
				"accessTokenTtl": accessTTL,
				"tokenType":      "API_CLIENT",
			}
			if d := c.Args.String("token_description"); d != "" {
				body["tokenDescription"] = d
			}
			var out apiToken
			if err := do(ctx, c, "generate API token", http.MethodPost, realmPath(c)+"/api-tokens", body, &out, http.StatusCreated); err != nil {
				return nil, err
			}
			if out.Token == "" {
				return nil, sdk.Errorf(sdk.CodeInternal, "generate API token: the response carries no token")
			}
			return out.result(), nil
		},
		// An interrupted issue took effect when the client has a token of
		// that name. Its secret was shown once and lost with the run, so
		// regenerate it: the result then carries a usable secret and no
		// second token exists.
		Reconcile: func(ctx context.Context, c *sdk.Call) (any, bool, error) {
			tokens, _, err := queryTokens(ctx, c, c.Args.String("api_client_id"), c.Args.String("token_name"), "", 50, 0, true)
			if err != nil {
				return nil, false, err
			}
			if len(tokens) == 0 {
				return nil, false, nil
			}
			out, err := regenerate(ctx, c, tokens[0].ID)
			if err != nil {
				return nil, false, err
			}
			return out.result(), true, nil
		},
	}
}

func regenerate(ctx context.Context, c *sdk.Call, tokenID string) (*apiToken, error) {
	var out apiToken
	path := realmPath(c) + "/api-tokens/" + url.PathEscape(tokenID) + "/regenerate"
	if err := do(ctx, c, "regenerate API token", http.MethodPost, path, nil, &out, http.StatusOK); err != nil {
		return nil, err
	}
	if out.Token == "" {
		return nil, sdk.Errorf(sdk.CodeInternal, "regenerate API token: the response carries no token")
	}
	return &out, nil
}

// queryTokens pages through the realm's API client tokens matching the
// filters. It returns the tokens and the server's total count. The query is
// the one seed 004 sends to a real appliance: CLIENT_ID LIKE, an empty anyOf,
// filters.tokenType API_CLIENT, sortOrder=ASCENDING. LIKE may match other
// clients whose id contains this one, so the answer is filtered exactly here
// (and, when every page is fetched, the count is of what is kept).
func queryTokens(ctx context.Context, c *sdk.Call, clientID, tokenName, status string, size, page int64, all bool) ([]apiToken, int, error) {
	terms := []searchTerm{}
	if clientID != "" {
		terms = append(terms, searchTerm{Field: "CLIENT_ID", Operator: "LIKE", Terms: []string{clientID}})
	}
	if tokenName != "" {
		terms = append(terms, searchTerm{Field: "TOKEN_NAME", Operator: "EQUALS", Terms: []string{tokenName}})
	}
	filters := map[string]any{"tokenType": []string{"API_CLIENT"}}
	if status != "" {
		filters["tokenStatus"] = []string{status}
	}
	query := map[string]any{"filters": filters}
	if len(terms) > 0 {
		query["searchTerms"] = map[string]any{"allOf": terms, "anyOf": []searchTerm{}}
	}
	var tokens []apiToken
	total, seen := 0, 0
	for {
		var out struct {
			PageInfo struct {
				TotalCount int `json:"totalCount"`
			} `json:"pageInfo"`
			APITokens []apiToken `json:"apiTokens"`
		}
		path := fmt.Sprintf("%s/api-tokens/query?page=%d&pageSize=%d&sortOrder=ASCENDING", realmPath(c), page, size)
		if err := do(ctx, c, "query API tokens", http.MethodPost, path, query, &out, http.StatusOK); err != nil {
			return nil, 0, err
		}
		total = out.PageInfo.TotalCount
		seen += len(out.APITokens)
		for _, t := range out.APITokens {
			if clientID != "" && t.APIClientID != clientID {
				continue
			}
			t.Token = "" // never listed, whatever the server says
			tokens = append(tokens, t)
		}
		if !all || len(out.APITokens) == 0 || seen >= total {
			break
		}
		page++
	}
	if all && seen < total {
		return nil, 0, sdk.Errorf(sdk.CodeInternal, "query API tokens: the server reported %d tokens but the pages held %d", total, seen)
	}
	if all {
		total = len(tokens)
	}
	return tokens, total, nil
}

type searchTerm struct {
	Field    string   `json:"field"`
	Operator string   `json:"operator"`
	Terms    []string `json:"terms"`
}

func queryTokensOp() sdk.Op {
	return sdk.Op{
		Name:   "query_tokens",
		Doc:    "Query API tokens of a realm, optionally of one client or name; pages through all results unless fetch_all = False",
		Effect: sdk.Read, // a POST, but it changes nothing
		Params: []sdk.Field{
			realmParam,
			{Name: "client_id", Type: sdk.String, Default: "", Doc: "only tokens of this client (principal name)"},
			{Name: "token_name", Type: sdk.String, Default: "", Doc: "only tokens with this name"},
			{Name: "status", Type: sdk.String, Default: "", Doc: "ACTIVE or EXPIRED"},
			{Name: "page_size", Type: sdk.Int, Default: 50},
			{Name: "page", Type: sdk.Int, Default: 0, Doc: "0-based page, when fetch_all is False"},
			{Name: "fetch_all", Type: sdk.Bool, Default: true},
		},
		Results: []sdk.Field{
			{Name: "tokens", Type: sdk.List, Elem: sdk.Object, Doc: "token objects (no secrets); dates are RFC 3339 strings"},
			{Name: "total_count", Type: sdk.Int},
		},
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			size := c.Args.Int("page_size")
			if size < 1 || size > 1000 {
				return nil, sdk.InvalidArgument("page_size", "%d: want 1 to 1000", size)
			}
			tokens, total, err := queryTokens(ctx, c, c.Args.String("client_id"), c.Args.String("token_name"), c.Args.String("status"),
				size, c.Args.Int("page"), c.Args.Bool("fetch_all"))
			if err != nil {
				return nil, err
			}
			out := make([]map[string]any, 0, len(tokens))
			for _, t := range tokens {
				out = append(out, t.result())
			}
			return map[string]any{"tokens": out, "total_count": total}, nil
		},
	}
}

func tokenPath(c *sdk.Call) string {
	return realmPath(c) + "/api-tokens/" + url.PathEscape(c.Args.String("token_id"))
}

var tokenIDParam = sdk.Field{Name: "token_id", Type: sdk.String, Required: true, Doc: "API token UUID"}

func getTokenOp() sdk.Op {
	return sdk.Op{
		Name:    "get_token",
		Doc:     "Get an API token's metadata (never the secret)",
		Effect:  sdk.Read,
		Params:  []sdk.Field{realmParam, tokenIDParam},
		Results: tokenFields,
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			var out apiToken
			if err := do(ctx, c, "get API token", http.MethodGet, tokenPath(c), nil, &out); err != nil {
				return nil, err
			}
			out.Token = ""
			return out.result(), nil
		},
	}
}

func regenerateTokenOp() sdk.Op {
	return sdk.Op{
		Name: "regenerate_token",
		Doc: "Regenerate an API token: a new secret, a fresh lifetime and a NEW token id (use the result's id from now on); " +
			"the old secret stops working",
		Effect: sdk.Write,
		Params: []sdk.Field{realmParam, tokenIDParam,
			{Name: "api_client_id", Type: sdk.String, Default: "", Doc: "the token's client; with token_name, lets an interrupted regenerate be found under its new id"},
			{Name: "token_name", Type: sdk.String, Default: ""},
		},
		Results: tokenFields,
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			out, err := regenerate(ctx, c, c.Args.String("token_id"))
			if err != nil {
				return nil, err
			}
			return out.result(), nil
		},
		// A regenerate whose answer was lost left a secret nobody has, under
		// an id nobody knows (VCF gives the regenerated token a new id).
		// While the old id still exists, nothing happened: send it again.
		// Once it is gone, find the token by client and name and regenerate
		// that: the only way to a usable secret.
		Reconcile: func(ctx context.Context, c *sdk.Call) (any, bool, error) {
			err := do(ctx, c, "get API token", http.MethodGet, tokenPath(c), nil, nil)
			if err == nil {
				return nil, false, nil
			}
			if !sdk.IsCode(err, sdk.CodeNotFound) {
				return nil, false, err
			}
			client, name := c.Args.String("api_client_id"), c.Args.String("token_name")
			if client == "" || name == "" {
				return nil, false, sdk.Errorf(sdk.CodeNotFound, "regenerate API token: token %s is gone, so the interrupted regenerate took effect under a new id, "+
					"and without api_client_id and token_name it cannot be found; regenerate it by hand (query_tokens shows its id)", c.Args.String("token_id"))
			}
			tokens, _, err := queryTokens(ctx, c, client, name, "", 50, 0, true)
			if err != nil {
				return nil, false, err
			}
			if len(tokens) == 0 {
				return nil, false, sdk.NotFound("regenerate API token: token %s is gone and client %s has no token named %q", c.Args.String("token_id"), client, name)
			}
			out, err := regenerate(ctx, c, tokens[0].ID)
			if err != nil {
				return nil, false, err
			}
			return out.result(), true, nil
		},
	}
}

func deleteTokenOp() sdk.Op {
	return sdk.Op{
		Name:   "delete_token",
		Doc:    "Delete (revoke) an API token",
		Effect: sdk.Write,
		Params: []sdk.Field{realmParam, tokenIDParam,
			{Name: "missing_ok", Type: sdk.Bool, Default: false, Doc: "a token that is already gone counts as deleted"}},
		Results: []sdk.Field{{Name: "deleted", Type: sdk.Bool, Doc: "False when missing_ok and the token was already gone"}},
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			err := do(ctx, c, "delete API token", http.MethodDelete, tokenPath(c), nil, nil, http.StatusNoContent, http.StatusOK)
			if sdk.IsCode(err, sdk.CodeNotFound) && c.Args.Bool("missing_ok") {
				return map[string]any{"deleted": false}, nil
			}
			if err != nil {
				return nil, err
			}
			return map[string]any{"deleted": true}, nil
		},
		// An interrupted delete took effect when the token is gone.
		Reconcile: func(ctx context.Context, c *sdk.Call) (any, bool, error) {
			err := do(ctx, c, "get API token", http.MethodGet, tokenPath(c), nil, nil)
			if sdk.IsCode(err, sdk.CodeNotFound) {
				return map[string]any{"deleted": true}, true, nil
			}
			return nil, false, err
		},
	}
}
