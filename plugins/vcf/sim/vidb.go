package sim

import (
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// APITokenGrantType is the identity broker grant that exchanges an API token for an access
// token, with the token in the form field api_token. The identity broker's API reference
// documents api_token among the token endpoint's form fields (TokenFormData, with a vidb_
// example), and public scripts that use VCF 9.1 API tokens send this grant with it. The
// refresh_token grant some VCF products use for their own API tokens is not accepted here.
const APITokenGrantType = "urn:custom:vcf:params:oauth:grant-type:api-token"

type oauthToken struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"` // seconds
	Scope       string `json:"scope"`
}

type oauthError struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

func oauthFail(code, desc string) reply {
	return reply{http.StatusBadRequest, oauthError{Error: code, ErrorDescription: desc}}
}

// vidbToken is the identity broker's POST /acs/t/{tenant}/token (tokenEndpointUrl): it
// exchanges a live API token secret for a bearer access token valid for the API token's
// accessTokenTtl.
func (s *Sim) vidbToken(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		oauthFail("invalid_request", "the request must be application/x-www-form-urlencoded").write(w)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, simkit.MaxBodyBytes)
	if err := r.ParseForm(); err != nil {
		oauthFail("invalid_request", "malformed form body: "+err.Error()).write(w)
		return
	}
	var secret string
	switch grant := r.PostForm.Get("grant_type"); grant {
	case APITokenGrantType:
		secret = r.PostForm.Get("api_token")
	case "":
		oauthFail("invalid_request", "grant_type is required").write(w)
		return
	default:
		oauthFail("unsupported_grant_type", "the grant type "+grant+" is not supported").write(w)
		return
	}
	if strings.TrimSpace(secret) == "" {
		oauthFail("invalid_request", "the API token is missing").write(w)
		return
	}
	tenant := r.PathValue("tenant")
	s.locked(func(now time.Time) reply {
		s.st.sweep(now)
		t := s.st.secrets[secret]
		if t == nil || t.realm.Tenant != tenant || t.expired(now) {
			return oauthFail("invalid_grant", "the API token is invalid or expired")
		}
		t.data.LastUsedDate = now.UnixMilli()
		access := simkit.RandomURLSafe(48)
		ttl := time.Duration(t.data.AccessTokenTTL) * time.Minute
		s.st.access[access] = accessGrant{realm: t.realm, clientID: t.data.APIClientID, expires: now.Add(ttl)}
		return respond(http.StatusOK, oauthToken{
			AccessToken: access,
			TokenType:   "Bearer",
			ExpiresIn:   int(ttl / time.Second),
			Scope:       "openid profile user email group",
		})
	}).write(w)
}
