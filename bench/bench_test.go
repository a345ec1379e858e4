// Package bench measures tokenflow's overhead against baselines taken in the
// same run, because the machines are shared and noisy: ratios survive noise
// that absolute numbers do not.
//
//	make bench
//
// BenchmarkOpOverhead: one VCF op on a warm connection through the whole
// engine against the same request made directly with net/http on a warm
// connection (x-direct) and on a new connection per request (x-cold), with
// the absolute times. Two kinds of op: vcf.version, a read declared as one
// GET, which the engine sends itself after its first call (Starlark ->
// host transport -> simulator on loopback, over TLS; x-direct), and
// vcf.get of the same path, a handler run by the plugin (Starlark -> call
// socket -> plugin -> host transport -> simulator; x-direct-handler).
//
// BenchmarkFleet (fleet_test.go): cost per target of a fleet onboarding
// against one single-target run of the same flow (x-single).
//
// BenchmarkPluginColdStart: launching the VCF plugin until it answers a
// first call, and shutting it down (go-plugin's handshake, mutual TLS, the
// call socket; Describe from the plugin cache) against merely executing
// the same binary. Reports x-exec and ms/start.
//
// BenchmarkJournalOverhead (journal_test.go): a journaled step against the
// same step with no journal (x-memory).
//
// BenchmarkRunProcess and BenchmarkPluginsCommand (process_test.go): a
// whole `tokenflow run` of a VCF onboarding with state, and `tokenflow
// plugins` with a warm and a cold plugin cache, each beside `tokenflow
// version`.
//
// BenchmarkTurbonomicInventory (inventory_test.go): the CPU of a whole
// inventory run over 2,500 entities, beside `tokenflow version`.
package bench

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/engine"
	"github.com/tokenflow/tokenflow/engine/pluginmgr"
	"github.com/tokenflow/tokenflow/internal/flowtest"
	"github.com/tokenflow/tokenflow/plugins/vcf/sim"
	"github.com/tokenflow/tokenflow/sdk/simkit"
)

func TestMain(m *testing.M) { flowtest.Main(m) }

type rig struct {
	srv    *simkit.Server
	caFile string
	dir    string
	flow   string
}

func newRig(b *testing.B) *rig {
	srv, caFile := flowtest.ServeTLS(b, sim.New(sim.Config{}).Handler())
	dir := b.TempDir()
	flow := filepath.Join(dir, "loop.star")
	os.WriteFile(flow, []byte(`vcf = connect("vcf", url = var("url"), ca_file = var("ca_file"), username = "admin", password = secret("env:P"))
vcf.version()  # log in once, outside the measured loop
handler = var("op", default = "") == "handler"
for i in range(var("n", default = 0)):
    if handler:
        vcf.get(path = "/suite-api/api/versions/current")
    else:
        vcf.version()
`), 0o644)
	return &rig{srv: srv, caFile: caFile, dir: flowtest.Plugins(b, "vcf"), flow: flow}
}

// runFlow runs n ops of the kind op names: "declared" (vcf.version, a
// read declared as one GET, which the engine sends itself after the first)
// or "handler" (vcf.get of the same path, a handler the plugin runs).
func (r *rig) runFlow(b *testing.B, n int, op string) time.Duration {
	start := time.Now()
	_, err := engine.Run(context.Background(), r.flow, engine.Options{
		Vars:       map[string]string{"url": r.srv.URL, "ca_file": r.caFile, "n": itoa(n), "op": op},
		Getenv:     func(string) (string, bool) { return sim.DefaultPassword, true },
		PluginDirs: []string{r.dir},
	})
	if err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var buf [20]byte
	i := len(buf)
	for n > 0 {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	return string(buf[i:])
}

// direct sends the same GET /api/versions/current with net/http, on a
// kept-alive TLS connection, as an operator's script would.
func (r *rig) direct(b *testing.B, n int) time.Duration {
	client := r.srv.Client()
	// Log in once, as the plugin does.
	req, _ := http.NewRequest(http.MethodPost, r.srv.URL+"/suite-api/api/auth/token/acquire",
		stringsReader(`{"username":"admin","password":"`+sim.DefaultPassword+`"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	var tok struct{ Token string }
	decodeJSON(resp.Body, &tok)
	resp.Body.Close()
	start := time.Now()
	for i := 0; i < n; i++ {
		req, _ := http.NewRequest(http.MethodGet, r.srv.URL+"/suite-api/api/versions/current", nil)
		req.Header.Set("Authorization", "OpsToken "+tok.Token)
		req.Header.Set("Accept", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	return time.Since(start)
}

// cold sends the request on a new connection each time (TLS handshake
// included), as a script that builds a client per call does.
func (r *rig) cold(b *testing.B, n int) time.Duration {
	tr := r.srv.Client().Transport.(*http.Transport)
	start := time.Now()
	for i := 0; i < n; i++ {
		c := &http.Client{Transport: tr.Clone()}
		req, _ := http.NewRequest(http.MethodGet, r.srv.URL+"/suite-api/api/versions/current", nil)
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		c.CloseIdleConnections()
	}
	return time.Since(start)
}

func BenchmarkOpOverhead(b *testing.B) {
	r := newRig(b)
	const n = 400
	r.runFlow(b, 0, "") // warm caches
	b.ResetTimer()
	var declaredTotal, handlerTotal, directTotal, coldTotal time.Duration
	for i := 0; i < b.N; i++ {
		// The per-op engine cost is the difference between a run with n
		// ops and a run with none: plugin start and login cancel out.
		base := r.runFlow(b, 0, "")
		declaredTotal += r.runFlow(b, n, "declared") - base
		handlerTotal += r.runFlow(b, n, "handler") - base
		directTotal += r.direct(b, n)
		coldTotal += r.cold(b, n/10)
	}
	perCold := float64(coldTotal.Nanoseconds()) / float64(b.N*(n/10))
	perDeclared := float64(declaredTotal.Nanoseconds()) / float64(b.N*n)
	perHandler := float64(handlerTotal.Nanoseconds()) / float64(b.N*n)
	perDirect := float64(directTotal.Nanoseconds()) / float64(b.N*n)
	b.ReportMetric(perDeclared/1e3, "µs/engine-op")
	b.ReportMetric(perHandler/1e3, "µs/handler-op")
	b.ReportMetric(perDirect/1e3, "µs/direct-op")
	b.ReportMetric(perDeclared/perDirect, "x-direct")
	b.ReportMetric(perHandler/perDirect, "x-direct-handler")
	b.ReportMetric(perDeclared/perCold, "x-cold")
}

func BenchmarkPluginColdStart(b *testing.B) {
	r := newRig(b)
	bin := filepath.Join(r.dir, "tokenflow-plugin-vcf")
	// Started means answering: a plugin used through its call socket is
	// handed over before its process runs, so the start is timed to the
	// answer of a first call (an op the plugin does not have: answered
	// without reaching the network) and the plugin's shutdown.
	start1 := func() {
		m := pluginmgr.New(pluginmgr.Config{Dirs: []string{r.dir}})
		defer m.Close()
		p, err := m.Get(context.Background(), "vcf")
		if err != nil {
			b.Fatal(err)
		}
		res, err := p.Call(context.Background(), &pluginmgr.CallRequest{Op: "no_such_op", Connection: []byte(`{}`), Args: []byte(`{}`)})
		if err != nil || res.Err == nil || res.Err.Code != "invalid_argument" {
			b.Fatalf("first call: %v %+v", err, res)
		}
	}
	start1() // the plugin cache holds the binary's Describe answer, as on an operator's machine
	b.ResetTimer()
	var start, exe time.Duration
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		start1()
		start += time.Since(t0)
		t1 := time.Now()
		exec.Command(bin).Run() // prints "This binary is a plugin" and exits 1
		exe += time.Since(t1)
	}
	b.ReportMetric(float64(start.Microseconds())/float64(b.N)/1e3, "ms/start")
	b.ReportMetric(float64(exe.Microseconds())/float64(b.N)/1e3, "ms/exec")
	b.ReportMetric(float64(start)/float64(exe), "x-exec")
}
