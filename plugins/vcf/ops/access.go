package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tokenflow/tokenflow/sdk"
)

// APITokenGrant is the identity broker grant that exchanges an API token for
// an access token at the token's token_endpoint_url, form-encoded, the token
// in the field api_token. The identity broker's API reference lists api_token
// among the token endpoint's form fields (TokenFormData, with a vidb_
// example); public scripts that use VCF 9.1 API tokens send this grant with
// it. VCF Automation's API tokens use refresh_token instead; this broker's do
// not.
const APITokenGrant = "urn:custom:vcf:params:oauth:grant-type:api-token"

// accessGrant is the identity broker's answer to an exchange.
type accessGrant struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	Scope       string `json:"scope"`
}

// exchangeRefused is an exchange the broker answered with an OAuth error:
// the API token is not (or no longer) good.
type exchangeRefused struct{ detail string }

func (e *exchangeRefused) Error() string { return e.detail }

// exchange trades an API token for an access token.
func exchange(ctx context.Context, c *sdk.Call, apiToken, endpoint string) (*accessGrant, error) {
	if endpoint == "" {
		return nil, sdk.InvalidArgument("token_endpoint_url", "empty: pass the token_endpoint_url that issue_token, regenerate_token or get_token returned")
	}
	form := url.Values{"grant_type": {APITokenGrant}, "api_token": {apiToken}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, sdk.InvalidArgument("token_endpoint_url", "%v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, body, err := c.Send(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusUnauthorized {
		var oe struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(body, &oe) // the OAuth error code, never the description (it may echo input)
		return nil, &exchangeRefused{fmt.Sprintf("the identity broker refused the API token: HTTP %d %s", resp.StatusCode, oe.Error)}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, sdk.FromResponse("exchange API token", resp, body)
	}
	var g accessGrant
	if err := json.Unmarshal(body, &g); err != nil || g.AccessToken == "" {
		return nil, sdk.Errorf(sdk.CodeInternal, "exchange API token: no access_token in the identity broker's answer")
	}
	return &g, nil
}

func getAccessTokenOp() sdk.Op {
	return sdk.Op{
		Name: "get_access_token",
		Doc:  "Exchange an API token for a VCF SSO access token (what automation sends as Authorization: Bearer)",
		// It changes nothing at the vendor; a dry-run sends it.
		Effect: sdk.Read,
		Params: []sdk.Field{
			{Name: "token", Type: sdk.Secret, Required: true, Doc: "the API token (vidb_...)"},
			{Name: "token_endpoint_url", Type: sdk.String, Required: true, Doc: "the token's token_endpoint_url"},
		},
		Results: []sdk.Field{
			{Name: "access_token", Type: sdk.Secret, Doc: "the bearer access token; pass it to connect(access_token = ...)"},
			{Name: "token_type", Type: sdk.String},
			{Name: "expires_in", Type: sdk.Duration, Doc: "its lifetime (the API token's access_token_ttl)"},
			{Name: "expires_at", Type: sdk.Timestamp},
			{Name: "scope", Type: sdk.String},
		},
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			g, err := exchange(ctx, c, c.Args.String("token"), c.Args.String("token_endpoint_url"))
			var refused *exchangeRefused
			if errors.As(err, &refused) {
				return nil, sdk.Errorf(sdk.CodeUnauthenticated, "get access token: %s; check that the API token is current (a regenerate replaces it) and not expired", refused.detail)
			}
			if err != nil {
				return nil, err
			}
			life := time.Duration(g.ExpiresIn) * time.Second
			return map[string]any{
				"access_token": g.AccessToken, "token_type": g.TokenType, "expires_in": life.String(),
				"expires_at": time.Now().Add(life).UTC().Format(time.RFC3339), "scope": g.Scope,
			}, nil
		},
	}
}

func verifyTokenOp() sdk.Op {
	return sdk.Op{
		Name: "verify_token",
		Doc: "Check that an API token works: exchange it at its token endpoint and make an authenticated read with the access token. " +
			"It answers valid = False with the reason whatever goes wrong (refused, unreachable, an error), so a flow can always say what it knows",
		// It changes nothing; a dry-run sends it.
		Effect: sdk.Read,
		Params: []sdk.Field{
			{Name: "token", Type: sdk.Secret, Required: true},
			{Name: "token_endpoint_url", Type: sdk.String, Required: true, Doc: "the token's token_endpoint_url"},
		},
		Results: []sdk.Field{
			{Name: "valid", Type: sdk.Bool},
			{Name: "detail", Type: sdk.String, Doc: "why not, when not valid"},
		},
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			invalid := func(format string, a ...any) (any, error) {
				return map[string]any{"valid": false, "detail": fmt.Sprintf(format, a...)}, nil
			}
			g, err := exchange(ctx, c, c.Args.String("token"), c.Args.String("token_endpoint_url"))
			// A bad argument is the flow's mistake, and a request a dry-run held is no
			// verdict: both go back as they are.
			if sdk.IsCode(err, sdk.CodeInvalidArgument) || sdk.IsHeld(err) {
				return nil, err
			}
			if err != nil {
				return invalid("exchange at the token endpoint failed: %v", err)
			}
			check, err := newRequest(ctx, c, http.MethodGet, "/suite-api/api/versions/current", nil)
			if err != nil {
				return nil, err
			}
			check.Header.Set("Authorization", "Bearer "+g.AccessToken)
			resp, _, err := c.Send(check)
			switch {
			case sdk.IsHeld(err):
				return nil, err
			case err != nil:
				return invalid("authenticated read failed: %v", err)
			case resp.StatusCode != http.StatusOK:
				return invalid("authenticated read answered HTTP %d", resp.StatusCode)
			}
			return map[string]any{"valid": true, "detail": ""}, nil
		},
	}
}
