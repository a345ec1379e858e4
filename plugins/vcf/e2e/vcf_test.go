// Package vcf_test runs the shipped VCF flows end to end: the engine, the
// real plugin binary and the simulator over HTTPS with a generated CA.
package vcf_test

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/engine"
	"github.com/tokenflow/tokenflow/engine/state"
	"github.com/tokenflow/tokenflow/engine/store"
	"github.com/tokenflow/tokenflow/internal/flowtest"
	"github.com/tokenflow/tokenflow/plugins/vcf/sim"
	"github.com/tokenflow/tokenflow/sdk/simkit"
)

func TestMain(m *testing.M) { flowtest.Main(m) }

type env struct {
	sim    *sim.Sim
	srv    *simkit.Server
	caFile string
	vars   map[string]string
	getenv func(string) (string, bool)
	store  *store.Memory
}

func newEnv(t *testing.T) *env {
	t.Helper()
	clock := simkit.NewClock(time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC))
	s := sim.New(sim.Config{Clock: clock})
	srv, caFile := flowtest.ServeTLS(t, s.Handler())
	s.SetAdvertisedHost(strings.TrimPrefix(srv.URL, "https://"))
	return &env{
		sim: s, srv: srv, caFile: caFile, store: store.NewMemory(clock.Now),
		vars: map[string]string{
			"url": srv.URL, "ca_file": caFile, "realm": "flt-idb02",
			"client_id": "ci-bot", "token_name": "ci-bot-main",
		},
		getenv: func(k string) (string, bool) {
			if k == "VCF_PASSWORD" {
				return sim.DefaultPassword, true
			}
			return "", false
		},
	}
}

func (e *env) run(t *testing.T, flow string, mod func(*engine.Options)) (*engine.Result, error) {
	t.Helper()
	opts := engine.Options{Vars: e.vars, Getenv: e.getenv, Store: e.store, Now: e.sim.Clock().Now}
	if mod != nil {
		mod(&opts)
	}
	return flowtest.Run(t, flowtest.Flow("vcf", flow), opts, "vcf")
}

func TestOnboardDryRunSendsNoWrite(t *testing.T) {
	e := newEnv(t)
	res, err := e.run(t, "onboard.star", func(o *engine.Options) { o.DryRun = true })
	if err != nil {
		t.Fatal(err)
	}
	if w := e.sim.Recorder().Writes(); w != 0 {
		t.Fatalf("the simulator saw %d writes during a dry-run: %+v", w, e.sim.Recorder().Entries())
	}
	if n := e.sim.Recorder().Count(http.MethodGet, "/suite-api/api/fleet-management/iam/ssorealms"); n != 1 {
		t.Fatalf("realm lookup sent %d times, want 1 (reads run for real)", n)
	}
	var plan bytes.Buffer
	res.Plan.WriteText(&plan, res.Redactor)
	p := plan.String()
	realm := "9e4b2f7c-0d31-4a58-b6e2-3c7a9d1f5b02"
	for _, want := range []string{
		"would send: POST " + e.srv.URL + "/suite-api/api/fleet-management/iam/ssorealms/" + realm + "/api-clients",
		`"clientId": "ci-bot"`,
		"would send: PUT " + e.srv.URL + "/suite-api/api/fleet-management/iam/ssorealms/" + realm + "/principals/(known after apply: create_api_client.client_uuid)/roles",
		`"roleName": "vcf_viewer"`,
		"would send: POST " + e.srv.URL + "/suite-api/api/fleet-management/iam/ssorealms/" + realm + "/api-tokens",
		`"apiClientId": "(known after apply: create_api_client.client_id)"`,
		`"apiTokenTtl": 43200`,
		"Authorization: OpsToken ***",
		"4 change(s) pending",
	} {
		if !strings.Contains(p, want) {
			t.Errorf("plan lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(p)
	}
	if len(e.sim.APIClients(realm)) != 0 {
		t.Fatal("a client exists after a dry-run")
	}
	// The OpsToken the dry-run acquired was released.
	if n := e.sim.Recorder().Count(http.MethodPost, "/suite-api/api/auth/token/release"); n != 1 {
		t.Fatalf("release sent %d times, want 1", n)
	}
}

func TestOnboardThenRotate(t *testing.T) {
	e := newEnv(t)
	res, err := e.run(t, "onboard.star", nil)
	if err != nil {
		t.Fatal(err)
	}
	out := flowtest.Outputs(res)
	realm := out["realm_id"].(string)
	clients := e.sim.APIClients(realm)
	if len(clients) != 1 || clients[0].ClientUUID != out["client_uuid"] {
		t.Fatalf("clients = %+v, outputs = %v", clients, out)
	}
	tok, err := e.store.Get(t.Context(), e.srv.URL, "vcf/ci-bot/ci-bot-main")
	if err != nil {
		t.Fatal(err)
	}
	if !e.sim.TokenSecretValid(tok.Value) {
		t.Fatal("stored token is not live on the simulator")
	}
	if want := time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC); !tok.ExpiresAt.Equal(want) {
		t.Fatalf("stored expiry %v, want the vendor's %v", tok.ExpiresAt, want)
	}

	// Nothing expires within 7 days yet: nothing rotates.
	e.vars["window"] = "7d"
	res, err = e.run(t, "rotate.star", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := flowtest.Outputs(res)["rotated"]; len(got.([]any)) != 0 {
		t.Fatalf("rotated %v on day 0", got)
	}

	e.sim.Clock().Advance(25 * 24 * time.Hour)
	res, err = e.run(t, "rotate.star", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := flowtest.Outputs(res)["rotated"].([]any); len(got) != 1 || got[0] != "ci-bot-main" {
		t.Fatalf("rotated = %v", got)
	}
	newTok, _ := e.store.Get(t.Context(), e.srv.URL, "vcf/ci-bot/ci-bot-main")
	if newTok.Value == tok.Value || !e.sim.TokenSecretValid(newTok.Value) || e.sim.TokenSecretValid(tok.Value) {
		t.Fatal("rotation did not store the new live token")
	}
	if newTok.RotatedAt.IsZero() {
		t.Fatal("rotation time not recorded")
	}
}

func TestRecordThenReplayWithoutSimulator(t *testing.T) {
	e := newEnv(t)
	cassette := filepath.Join(t.TempDir(), "onboard.yaml")
	recorded, err := e.run(t, "onboard.star", func(o *engine.Options) { o.Record = cassette })
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(cassette)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("cassette %v mode %v", err, fi.Mode())
	}
	e.srv.Close() // no simulator from here on

	replayed, err := e.run(t, "onboard.star", func(o *engine.Options) {
		o.Replay = cassette
		o.Store = store.NewMemory(nil)
		o.Getenv = func(string) (string, bool) { return "a-different-password", true }
	})
	if err != nil {
		t.Fatal(err)
	}
	if a, b := flowtest.Outputs(recorded), flowtest.Outputs(replayed); a["client_uuid"] != b["client_uuid"] || a["token_id"] != b["token_id"] {
		t.Fatalf("replay differs: %v vs %v", a, b)
	}

	e.vars["client_id"] = "someone-else"
	_, err = e.run(t, "onboard.star", func(o *engine.Options) { o.Replay = cassette })
	if err == nil {
		t.Fatal("replay of an unrecorded request succeeded")
	}
	for _, want := range []string{"onboard.star:12:", "replay: no recorded exchange for POST", "/api-clients", "never falls back to the network"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("replay miss %q lacks %q", err, want)
		}
	}
}

func TestCommittedCassetteReplays(t *testing.T) {
	cassette := filepath.Join(flowtest.RepoRoot(), "plugins", "vcf", "testdata", "onboard.yaml")
	if os.Getenv("TOKENFLOW_RECORD") == "1" {
		e := newEnv(t)
		if _, err := e.run(t, "onboard.star", func(o *engine.Options) { o.Record = cassette }); err != nil {
			t.Fatal(err)
		}
	}
	st := store.NewMemory(nil)
	res, err := flowtest.Run(t, flowtest.Flow("vcf", "onboard.star"), engine.Options{
		Vars:   map[string]string{"url": "https://vcf-ops.example.test", "realm": "flt-idb02", "client_id": "ci-bot", "token_name": "ci-bot-main"},
		Getenv: func(string) (string, bool) { return "replay-needs-no-real-password", true },
		Replay: cassette, Store: st,
	}, "vcf")
	if err != nil {
		t.Fatal(err)
	}
	if flowtest.Outputs(res)["realm_id"] != "9e4b2f7c-0d31-4a58-b6e2-3c7a9d1f5b02" {
		t.Fatalf("outputs = %v", flowtest.Outputs(res))
	}
	if _, err := st.Get(t.Context(), "https://vcf-ops.example.test", "vcf/ci-bot/ci-bot-main"); err != nil {
		t.Fatalf("replayed run stored nothing: %v", err)
	}
	data, _ := os.ReadFile(cassette)
	if bytes.Contains(data, []byte(sim.DefaultPassword)) {
		t.Fatal("committed cassette holds the simulator password")
	}
}

func TestTLSWithoutTheCAFails(t *testing.T) {
	e := newEnv(t)
	delete(e.vars, "ca_file")
	_, err := e.run(t, "onboard.star", nil)
	var fe *engine.FlowError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "certificate signed by unknown authority") || !strings.Contains(err.Error(), "ca_file") {
		t.Fatalf("got %v", err)
	}
}

// TestUnwritableStateStopsBeforeAnyWrite: when the journal cannot be
// written, nothing is sent to the vendor (a rotation cannot revoke what it
// could not record).
func TestUnwritableStateStopsBeforeAnyWrite(t *testing.T) {
	e := newEnv(t)
	dir := filepath.Join(t.TempDir(), "state")
	db, err := state.Open(t.Context(), state.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	ro, err := state.Open(t.Context(), state.Options{Dir: dir, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	_, err = e.run(t, "onboard.star", func(o *engine.Options) { o.State = ro; o.Store = nil })
	if err == nil || !strings.Contains(err.Error(), "cannot be written") || !strings.Contains(err.Error(), "nothing further was sent") {
		t.Fatalf("got %v", err)
	}
	if n := len(e.sim.Recorder().Entries()); n != 0 {
		t.Fatalf("the simulator got %d requests", n)
	}
}
