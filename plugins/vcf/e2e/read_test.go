package vcf_test

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/tokenflow/tokenflow/engine"
	"github.com/tokenflow/tokenflow/engine/redact"
	"github.com/tokenflow/tokenflow/internal/flowtest"
)

// expiring stands before the simulator and, from the third GET of the
// version on, refuses the OpsToken of the first login with a 401, as an
// appliance does with an expired token. It logs what it saw as
// "METHOD path tokenN" (N counts the distinct tokens).
type expiring struct {
	next   http.Handler
	mu     sync.Mutex
	tokens []string
	gets   int
	log    []string
}

func (x *expiring) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "OpsToken ")
	x.mu.Lock()
	n := 0
	for i, t := range x.tokens {
		if t == tok {
			n = i + 1
		}
	}
	if n == 0 && tok != "" {
		x.tokens = append(x.tokens, tok)
		n = len(x.tokens)
	}
	entry := r.Method + " " + strings.TrimPrefix(r.URL.Path, "/suite-api/api")
	if tok != "" {
		entry += " token" + string(rune('0'+n))
	}
	x.log = append(x.log, entry)
	if strings.HasSuffix(r.URL.Path, "/versions/current") {
		x.gets++
	}
	refuse := n == 1 && x.gets >= 3
	x.mu.Unlock()
	if refuse {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"message":"token expired"}`))
		return
	}
	x.next.ServeHTTP(w, r)
}

const versionsFlow = `vcf = connect("vcf", url = var("url"), ca_file = var("ca_file"), username = "admin", password = secret("env:VCF_PASSWORD"))
first = vcf.version()
for i in range(4):
    v = vcf.version()
    if v != first:
        fail("version %d differs: %s != %s" % (i, v, first))
output("release", first.release_name)
output("minor_minor", first.minor_minor)
`

// TestVersionReadsAfterTheFirstAreTheEnginesAndSurviveAnExpiredLogin runs a
// declared read (vcf.version) five times: the plugin sends the first, the
// engine the others with the plugin's request; a login that expires
// midway is renewed by the plugin without sending the refused GET twice;
// the results are the same whoever sent the request, and neither the
// cassette of the run (which replays) nor its trace log holds an OpsToken.
func TestVersionReadsAfterTheFirstAreTheEnginesAndSurviveAnExpiredLogin(t *testing.T) {
	e := newEnv(t)
	x := &expiring{next: e.sim.Handler()}
	srv, caFile := flowtest.ServeTLS(t, x)
	e.vars["url"], e.vars["ca_file"] = srv.URL, caFile
	flow := filepath.Join(t.TempDir(), "versions.star")
	if err := os.WriteFile(flow, []byte(versionsFlow), 0o644); err != nil {
		t.Fatal(err)
	}
	cassette := filepath.Join(t.TempDir(), "versions.yaml")
	// The run logs at trace level, through the redactor as the CLI does.
	var log bytes.Buffer
	red := redact.New()
	logOut := red.Writer(&log)
	res, err := flowtest.Run(t, flow, engine.Options{Vars: e.vars, Getenv: e.getenv, Store: e.store, Record: cassette,
		Redactor: red, Log: logOut, Logger: hclog.New(&hclog.LoggerOptions{Output: logOut, Level: hclog.Trace})}, "vcf")
	logOut.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "/suite-api/api/versions/current") {
		t.Fatalf("the trace log shows no exchange:\n%s", log.String())
	}
	out := flowtest.Outputs(res)
	if out["release"] == "" || out["release"] == nil || out["minor_minor"] == nil {
		t.Fatalf("outputs %v", out)
	}
	want := []string{
		"POST /auth/token/acquire",
		"GET /versions/current token1", // the plugin
		"GET /versions/current token1", // the engine
		"GET /versions/current token1", // the engine: refused, handed to the plugin
		"POST /auth/token/acquire",
		"GET /versions/current token2", // the plugin, logged in again
		"GET /versions/current token2", // the engine, with the new token
		"GET /versions/current token2", // the engine
		"POST /auth/token/release token2",
	}
	if got := strings.Join(x.log, "\n"); got != strings.Join(want, "\n") {
		t.Fatalf("the appliance got:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}

	data, err := os.ReadFile(cassette)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range x.tokens {
		if bytes.Contains(data, []byte(tok)) {
			t.Fatal("the cassette holds an OpsToken")
		}
		if strings.Contains(log.String(), tok) {
			t.Fatal("the trace log holds an OpsToken")
		}
	}
	srv.Close()
	replayed, err := flowtest.Run(t, flow, engine.Options{Vars: e.vars, Getenv: e.getenv, Replay: cassette}, "vcf")
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	if got := flowtest.Outputs(replayed); got["release"] != out["release"] {
		t.Fatalf("replayed %v, recorded %v", got, out)
	}
}
