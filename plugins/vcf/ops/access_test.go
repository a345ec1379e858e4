package ops_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/plugins/vcf/ops"
	"github.com/tokenflow/tokenflow/plugins/vcf/sim"
	"github.com/tokenflow/tokenflow/sdk"
	"github.com/tokenflow/tokenflow/sdk/sdktest"
	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// captured is what a test server saw of each request: the query string, the body and the
// Authorization scheme.
type captured struct {
	mu   sync.Mutex
	reqs []string // "METHOD path?query scheme body"
}

func (c *captured) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		c.mu.Lock()
		c.reqs = append(c.reqs, r.Method+" "+r.URL.RequestURI()+" "+scheme+" "+string(body))
		c.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func (c *captured) matching(prefix string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, r := range c.reqs {
		if strings.HasPrefix(r, prefix) {
			out = append(out, r)
		}
	}
	return out
}

func newCapturingFixture(t *testing.T) (*fixture, *captured) {
	t.Helper()
	clock := simkit.NewClock(time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC))
	s := sim.New(sim.Config{Clock: clock})
	cap := &captured{}
	// TLS, since tokenEndpointUrl is https, as on the appliance.
	ca, err := simkit.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := simkit.Serve(cap.wrap(s.Handler()), simkit.ServerOptions{CA: ca})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	s.SetAdvertisedHost(strings.TrimPrefix(srv.URL, "https://"))
	h := sdktest.New(t, ops.Plugin(), srv.Client().Transport)
	return &fixture{t: t, sim: s, h: h, conn: map[string]any{"url": srv.URL, "username": sim.DefaultUser, "password": sim.DefaultPassword}}, cap
}

// The token query is the one seed 004 sends to a real appliance.
func TestQueryTokensSendsTheSeedsQuery(t *testing.T) {
	f, cap := newCapturingFixture(t)
	realm := f.realm()
	f.call("create_api_client", map[string]any{"realm_id": realm, "client_id": "IamClient", "client_name": "Iam Client"})
	f.call("create_api_client", map[string]any{"realm_id": realm, "client_id": "IamClient2", "client_name": "Other"})
	f.call("issue_token", map[string]any{"realm_id": realm, "api_client_id": "IamClient", "token_name": "apitoken-test1000", "api_token_ttl": "672h0m0s"})
	f.call("issue_token", map[string]any{"realm_id": realm, "api_client_id": "IamClient2", "token_name": "other"})
	out := f.call("query_tokens", map[string]any{"realm_id": realm, "client_id": "IamClient"})
	toks := out["tokens"].([]any)
	if len(toks) != 1 || fmt.Sprint(out["total_count"]) != "1" || toks[0].(map[string]any)["token_name"] != "apitoken-test1000" {
		t.Fatalf("query = %v: LIKE matched IamClient2 too and the plugin did not filter it out", out)
	}
	sent := cap.matching("POST /suite-api/api/fleet-management/iam/ssorealms/" + realm + "/api-tokens/query")
	want := `?page=0&pageSize=50&sortOrder=ASCENDING OpsToken {"filters":{"tokenType":["API_CLIENT"]},"searchTerms":{"allOf":[{"field":"CLIENT_ID","operator":"LIKE","terms":["IamClient"]}],"anyOf":[]}}`
	if len(sent) != 1 || !strings.HasSuffix(sent[0], want) {
		t.Fatalf("sent %q\nwant ...%s", sent, want)
	}
}

// An operator holding an SSO access token connects with it: every request carries it as
// Bearer, and nobody logs in.
func TestAccessTokenConnectionAndGetAccessToken(t *testing.T) {
	f, cap := newCapturingFixture(t)
	realm := f.realm()
	client := f.call("create_api_client", map[string]any{"realm_id": realm, "client_id": "ci", "client_name": "CI"})
	f.call("assign_roles", map[string]any{"realm_id": realm, "principal_id": client["client_uuid"],
		"roles": []any{map[string]any{"role_name": "sddc_admin", "scope_type": "VCF_INSTANCE", "resource_ids": []any{"7d2c9e5a-3b14-4f80-9e6d-2a8c4f0b6d02"}}}})
	tok := f.call("issue_token", map[string]any{"realm_id": realm, "api_client_id": "ci", "token_name": "main"})

	acc := f.call("get_access_token", map[string]any{"token": tok["token"], "token_endpoint_url": tok["token_endpoint_url"]})
	if acc["access_token"] == "" || acc["token_type"] != "Bearer" || acc["expires_in"] != "8h0m0s" {
		t.Fatalf("get_access_token = %v", acc)
	}
	logins := len(cap.matching("POST /suite-api/api/auth/token/acquire"))
	bearer := map[string]any{"url": f.conn["url"], "access_token": acc["access_token"]}
	if _, err := f.h.Call("create_api_client", bearer, map[string]any{"realm_id": realm, "client_id": "made-by-bearer", "client_name": "B"}); err != nil {
		t.Fatalf("write with an access token: %v", err)
	}
	if n := len(cap.matching("POST /suite-api/api/auth/token/acquire")); n != logins {
		t.Fatalf("%d logins with an access token", n-logins)
	}
	if got := cap.matching("POST /suite-api/api/fleet-management/iam/ssorealms/" + realm + "/api-clients "); len(got) != 2 || !strings.Contains(got[1], " Bearer ") {
		t.Fatalf("create sent %q, want the last with Bearer", got)
	}
	// One credential at a time, and the message says which fields.
	both := map[string]any{"url": f.conn["url"], "access_token": "x", "username": "admin", "password": "p"}
	_, err := f.h.Call("list_realms", both, nil)
	var e *sdk.Error
	if !errors.As(err, &e) || e.Code != sdk.CodeInvalidArgument || !strings.Contains(e.Message, "one of access_token, token, or username") {
		t.Fatalf("two credentials: %v", err)
	}
	// A regenerated token's old secret is refused, as unauthenticated, secret-free.
	f.call("regenerate_token", map[string]any{"realm_id": realm, "token_id": tok["id"]})
	_, err = f.h.Call("get_access_token", f.conn, map[string]any{"token": tok["token"], "token_endpoint_url": tok["token_endpoint_url"]})
	if !errors.As(err, &e) || e.Code != sdk.CodeUnauthenticated || strings.Contains(e.Message, tok["token"].(string)) {
		t.Fatalf("old secret: %v", err)
	}
}

// verify_token answers a verdict whatever happens, so rotate.star can always tell the truth.
func TestVerifyTokenAlwaysAnswers(t *testing.T) {
	f, _ := newCapturingFixture(t)
	realm := f.realm()
	f.call("create_api_client", map[string]any{"realm_id": realm, "client_id": "ci", "client_name": "CI"})
	tok := f.call("issue_token", map[string]any{"realm_id": realm, "api_client_id": "ci", "token_name": "main"})
	url := tok["token_endpoint_url"].(string)
	// No role yet: the exchange works, the read is refused.
	if out := f.call("verify_token", map[string]any{"token": tok["token"], "token_endpoint_url": url}); out["valid"] != false || !strings.Contains(out["detail"].(string), "403") {
		t.Fatalf("verify without a role = %v", out)
	}
	regen := f.call("regenerate_token", map[string]any{"realm_id": realm, "token_id": tok["id"]})
	if regen["id"] == tok["id"] {
		t.Fatal("regenerate kept the token id")
	}
	if out := f.call("verify_token", map[string]any{"token": tok["token"], "token_endpoint_url": url}); out["valid"] != false || !strings.Contains(out["detail"].(string), "refused") {
		t.Fatalf("verify of a replaced secret = %v", out)
	}
	// An endpoint that answers 500 is a verdict too, not an error.
	f.sim.Faults().Add(simkit.Fault{Status: 500, PathPrefix: "/acs/"})
	if out := f.call("verify_token", map[string]any{"token": regen["token"], "token_endpoint_url": url}); out["valid"] != false || out["detail"] == "" {
		t.Fatalf("verify against a failing endpoint = %v", out)
	}
}
