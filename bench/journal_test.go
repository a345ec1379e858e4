package bench

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/engine"
	"github.com/tokenflow/tokenflow/engine/state"
	"github.com/tokenflow/tokenflow/internal/flowtest"
)

// BenchmarkJournalOverhead: the cost of journaling a step (an intent row
// synced before the call, the result after, secrets sealed with age)
// against the same run with no journal and an in-memory store. The ops are
// the testkit plugin's echo, so the journal's share is not hidden behind
// vendor latency. Reports x-memory and µs/step for both.
func BenchmarkJournalOverhead(b *testing.B) {
	dir := filepath.Dir(flowtest.Binary(b, "./internal/testkit", "tokenflow-plugin-testkit"))
	flow := filepath.Join(b.TempDir(), "steps.star")
	const n = 200
	os.WriteFile(flow, []byte(`k = connect("testkit", url = "http://127.0.0.1:1")
for i in range(`+itoa(n)+`):
    k.echo(text = "step", key = "a-secret-value")
`), 0o644)
	db, err := state.Open(context.Background(), state.Options{Dir: filepath.Join(b.TempDir(), "state")})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	// A state.Backend, not *state.DB: a nil *state.DB in the interface
	// would not be "no state".
	run := func(st state.Backend) time.Duration {
		start := time.Now()
		if _, err := engine.Run(context.Background(), flow, engine.Options{PluginDirs: []string{dir}, State: st, AllowHTTP: true}); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	run(nil)
	b.ResetTimer()
	var mem, journaled time.Duration
	for i := 0; i < b.N; i++ {
		mem += run(nil)
		journaled += run(db)
	}
	b.ReportMetric(float64(mem.Microseconds())/float64(b.N*n), "µs/step-memory")
	b.ReportMetric(float64(journaled.Microseconds())/float64(b.N*n), "µs/step-journal")
	b.ReportMetric(float64(journaled)/float64(mem), "x-memory")
}
