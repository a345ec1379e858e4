package sim

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/sdk/simkit"
)

var testStart = time.Date(2026, time.June, 1, 8, 0, 0, 0, time.UTC)

const iam = "/suite-api/api/fleet-management/iam"

// fixture is a simulator served over TLS with a generated CA, and a plain net/http client that
// trusts that CA.
type fixture struct {
	t      *testing.T
	sim    *Sim
	clock  *simkit.Clock
	url    string
	client *http.Client
	auth   string // Authorization header sent by do; "" = none
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureWith(t, Config{Clock: simkit.NewClock(testStart)})
}

// newFixtureWith serves a simulator configured by cfg (cfg.Clock must be set).
func newFixtureWith(t *testing.T, cfg Config) *fixture {
	t.Helper()
	clock := cfg.Clock
	s := New(cfg)
	ca, err := simkit.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := simkit.Serve(s.Handler(), simkit.ServerOptions{CA: ca})
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		_ = srv.Close()
	})
	return &fixture{t: t, sim: s, clock: clock, url: srv.URL, client: &http.Client{Transport: tr}}
}

// response is a received answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// into decodes the body into a new T, failing the test on error.
func into[T any](t *testing.T, r response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("decode %T from %d %s: %v", v, r.status, r.body, err)
	}
	return v
}

// fields decodes a JSON object body into a map, to check which fields are present.
func (r response) fields(t *testing.T) map[string]any {
	t.Helper()
	return into[map[string]any](t, r)
}

func (r response) message(t *testing.T) string {
	t.Helper()
	return into[apiError](t, r).Message
}

// do sends method path with body (nil = none; string = raw; otherwise JSON) and f.auth.
func (f *fixture) do(method, path string, body any) response {
	f.t.Helper()
	return f.doAuth(f.auth, method, path, body)
}

func (f *fixture) doAuth(auth, method, path string, body any) response {
	f.t.Helper()
	var rd io.Reader
	ctype := "application/json"
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			f.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, f.url+path, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Accept", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

// expect fails the test unless r has the status.
func (f *fixture) expect(r response, status int, what string) response {
	f.t.Helper()
	if r.status != status {
		f.t.Fatalf("%s: status %d, want %d; body %s", what, r.status, status, r.body)
	}
	return r
}

// login acquires an OpsToken and makes do send it.
func (f *fixture) login() acquireResponse {
	f.t.Helper()
	r := f.expect(f.doAuth("", "POST", "/suite-api/api/auth/token/acquire",
		map[string]string{"username": DefaultUser, "password": DefaultPassword}), 200, "acquire")
	a := into[acquireResponse](f.t, r)
	f.auth = "OpsToken " + a.Token
	return a
}

// realmID returns the id of the default realm with the name.
func (f *fixture) realmID(name string) string {
	f.t.Helper()
	for _, r := range DefaultRealms {
		if r.Name == name {
			return r.ID
		}
	}
	f.t.Fatalf("no default realm %q", name)
	return ""
}

func (f *fixture) createClient(realm, clientID string) createClientResponse {
	f.t.Helper()
	r := f.expect(f.do("POST", iam+"/ssorealms/"+realm+"/api-clients",
		map[string]string{"clientId": clientID, "clientName": clientID + " name"}), 201, "create client "+clientID)
	return into[createClientResponse](f.t, r)
}

func (f *fixture) createToken(realm string, body map[string]any) APIToken {
	f.t.Helper()
	r := f.expect(f.do("POST", iam+"/ssorealms/"+realm+"/api-tokens", body), 201, "create token")
	return into[APIToken](f.t, r)
}

// tokenPageView decodes a token query answer.
type tokenPageView struct {
	PageInfo  PageInfo   `json:"pageInfo"`
	APITokens []APIToken `json:"apiTokens"`
}
