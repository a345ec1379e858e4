package dist_test

import (
	"fmt"
	"testing"
	"time"
)

// TestThroughput onboards the same number of simulated targets with one
// worker and with two and logs targets per second (the machines are
// shared: the figures are indicative; the test asserts only that both
// runs finish every target).
//
//	go test -count=1 -v -run TestThroughput ./internal/e2e/dist/
func TestThroughput(t *testing.T) {
	const n = 30
	rates := map[int]float64{}
	for _, workers := range []int{1, 2} {
		cl := newCluster(t, n, fmt.Sprintf("dist-rate-%d", workers))
		for range workers {
			cl.startWorker().ready(t)
		}
		out, errOut, code, elapsed := cl.run(90*time.Second, "vcf/onboard.star")
		if code != 0 {
			t.Fatalf("%d worker(s): exit %d\n%s\n%s", workers, code, out, errOut)
		}
		if _, s := parse(t, out); s.Summary.Counts["ok"] != n {
			t.Fatalf("%d worker(s): counts %v, want %d ok", workers, s.Summary.Counts, n)
		}
		rates[workers] = float64(n) / elapsed.Seconds()
		t.Logf("throughput: %d worker(s): %d targets in %s = %.1f targets/s", workers, n, elapsed.Round(time.Millisecond), rates[workers])
	}
	t.Logf("throughput: two workers / one worker = %.2f", rates[2]/rates[1])
}
