package hyperflex

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/engine"
	"github.com/tokenflow/tokenflow/engine/redact"
	"github.com/tokenflow/tokenflow/internal/flowtest"
	"github.com/tokenflow/tokenflow/plugins/hyperflex/sim"
)

// cassetteRuns is the life of one token file, one cassette per run: recorded against the
// simulator by TestRecordCassettes, replayed in the same order by TestReplayCassettes.
var cassetteRuns = []struct {
	cassette string
	flow     string
	// before changes the simulator before the recording run.
	before func(e *env)
	// want are outputs the run must produce, recording or replaying.
	want map[string]any
}{
	{"token_obtain.yaml", "token.star", nil, map[string]any{"action": "obtained"}},
	{"token_reuse.yaml", "token.star", func(e *env) { e.sim.Clock().Advance(10 * time.Minute) }, map[string]any{"action": "reused"}},
	{"token_refresh.yaml", "token.star", func(e *env) { e.sim.Clock().Advance(19 * 24 * time.Hour) }, map[string]any{"action": "refreshed"}},
	{"token_reobtain.yaml", "token.star", func(e *env) {
		e.sim.Clock().Advance(19 * 24 * time.Hour)
		e.sim.RevokeSession(e.readTokenFile().RefreshToken)
	}, map[string]any{"action": "obtained"}},
	{"revoke.yaml", "revoke.star", nil, map[string]any{"revoked": true, "status": int64(200)}},
}

func cassettePath(name string) string {
	return filepath.Join(flowtest.RepoRoot(), "plugins", "hyperflex", "testdata", name)
}

func checkOutputs(t *testing.T, step string, got map[string]any, want map[string]any) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("%s: output %s = %#v, want %#v (outputs %v)", step, k, got[k], v, got)
		}
	}
}

// TestRecordCassettes regenerates the cassettes under plugins/hyperflex/testdata:
//
//	TOKENFLOW_RECORD=1 go test ./plugins/hyperflex/e2e -run TestRecordCassettes
func TestRecordCassettes(t *testing.T) {
	if os.Getenv("TOKENFLOW_RECORD") != "1" {
		t.Skip("set TOKENFLOW_RECORD=1 to record the cassettes")
	}
	e := newEnv(t, sim.Config{})
	for _, r := range cassetteRuns {
		if r.before != nil {
			r.before(e)
		}
		o := e.opts(nil)
		o.Record = cassettePath(r.cassette)
		res, err := e.runOpts(r.flow, o)
		if err != nil {
			t.Fatalf("%s: %v", r.cassette, err)
		}
		checkOutputs(t, r.cassette, flowtest.Outputs(res), r.want)
		checkCassette(t, r.cassette, e.secrets())
	}
}

var (
	jwtLike = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}`)
	hex64   = regexp.MustCompile(`[0-9a-f]{64}`)
)

// checkCassette fails when a cassette holds a credential: a known secret in any form, or
// anything shaped like a HyperFlex token.
func checkCassette(t *testing.T, name string, secrets []string) {
	t.Helper()
	raw, err := os.ReadFile(cassettePath(name))
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	for _, s := range secrets {
		for _, form := range redact.Forms(s) {
			if strings.Contains(text, form) {
				t.Fatalf("%s holds a secret (form %q)", name, form)
			}
		}
	}
	if m := jwtLike.FindString(text); m != "" {
		t.Fatalf("%s holds a JWT-shaped value %q", name, m)
	}
	if m := hex64.FindString(text); m != "" {
		t.Fatalf("%s holds a refresh-token-shaped value %q", name, m)
	}
	if !strings.Contains(text, "/aaa/v1/") {
		t.Fatalf("%s holds no AAA exchange", name)
	}
}

// TestReplayCassettes runs the flows from the committed cassettes, with no simulator and a
// different password: the engine answers every request from the cassette and never reaches
// the network.
func TestReplayCassettes(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "hx_token.xml")
	for _, r := range cassetteRuns {
		checkCassette(t, r.cassette, []string{canaryPassword, "replay-password-not-recorded"})
		res, err := flowtest.Run(t, flowtest.Flow("hyperflex", r.flow), engine.Options{
			Vars: map[string]string{"url": "https://hx-cluster.invalid", "token_file": tokenFile},
			Getenv: func(k string) (string, bool) {
				return "replay-password-not-recorded", k == "HX_PASSWORD"
			},
			Now:    func() time.Time { return start },
			Replay: cassettePath(r.cassette),
		}, "hyperflex")
		if err != nil {
			t.Fatalf("%s: %v", r.cassette, err)
		}
		checkOutputs(t, r.cassette, flowtest.Outputs(res), r.want)
		fi, err := os.Stat(tokenFile)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: token file %v, %v", r.cassette, fi, err)
		}
	}
	// A run the cassette does not hold fails loudly, naming the request.
	_, err := flowtest.Run(t, flowtest.Flow("hyperflex", "token.star"), engine.Options{
		Vars:   map[string]string{"url": "https://hx-cluster.invalid", "token_file": filepath.Join(dir, "new.xml")},
		Getenv: func(k string) (string, bool) { return "pw-12345", k == "HX_PASSWORD" },
		Replay: cassettePath("token_reuse.yaml"),
	}, "hyperflex")
	if err == nil || !strings.Contains(err.Error(), "no recorded exchange for POST") || !strings.Contains(err.Error(), "/aaa/v1/auth") {
		t.Fatalf("replaying a login from a cassette without one: %v", err)
	}
}
