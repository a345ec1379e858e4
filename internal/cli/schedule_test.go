package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenflow/tokenflow/engine/distributed"
)

// runCLI runs tokenflow with args and returns its exit code and stderr.
func runCLI(t *testing.T, args ...string) (int, string) {
	t.Helper()
	io, _, errOut := TestStreams()
	code := Run(context.Background(), args, io)
	return code, errOut.String()
}

// The worker's --rate and --sites are checked before anything connects,
// and a bad value names the flag and the value.
func TestWorkerQueueFlags(t *testing.T) {
	t.Setenv("TOKENFLOW_STATE_KEY", filepath.Join(t.TempDir(), "key.txt"))
	base := []string{"worker", "--temporal", "127.0.0.1:1", "--state", "postgres://u@127.0.0.1:1/db"}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--rate", "vcf=fast"}, `--rate "vcf=fast": want VENDOR=N/s`},
		{[]string{"--rate", "vcf=20/s", "--rate", "acme=0/m"}, `--rate "acme=0/m"`},
		{[]string{"--sites", "dc1,,dc2"}, `--sites "dc1,,dc2"`},
	} {
		code, stderr := runCLI(t, append(base, tt.args...)...)
		if code == 0 || !strings.Contains(stderr, tt.want) {
			t.Errorf("worker %v: exit %d, stderr %q; want an error with %q", tt.args, code, stderr, tt.want)
		}
	}
	var q workerQueues
	q.rates, q.sites = []string{"vcf=20/s", "acme=120/m"}, []string{"dc1", " dc2"}
	var c distributed.WorkerConfig
	if err := q.config(&c); err != nil {
		t.Fatal(err)
	}
	if c.Rates["vcf"] != 20 || c.Rates["acme"] != 2 || strings.Join(c.Sites, ",") != "dc1,dc2" {
		t.Errorf("applied rates %v and sites %v, want vcf 20/s, acme 2/s, sites dc1,dc2", c.Rates, c.Sites)
	}
}

// schedule create's arguments are checked before anything connects.
func TestScheduleCreateArgs(t *testing.T) {
	t.Setenv("TOKENFLOW_STATE_KEY", filepath.Join(t.TempDir(), "key.txt"))
	flow := filepath.Join("..", "..", "flows", "vcf", "onboard.star")
	c := []string{"schedule", "create", "x", "--temporal", "127.0.0.1:1"}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{append(c, "--every", "1h", flow), "then -- and the flow"},
		{[]string{"schedule", "create", "x", "--every", "1h", "--", flow}, "needs --temporal"},
		{append(c, "--", flow), "needs --every DURATION"},
		{append(c, "--every", "soon", "--", flow), `--every "soon"`},
		{append(c, "--every", "1h", "--due", "-1h", "--", flow), `--due "-1h"`},
		{append(c, "--every", "1h", "--", flow, "--bogus"), "after --"},
		{append(c, "--every", "1h", "--", flow, "other.star"), "one flow file"},
		// The key encrypts what is sent to Temporal: it must be there.
		{append(c, "--every", "1h", "--", flow), "TOKENFLOW_STATE_KEY"},
		{[]string{"schedule", "list", "--temporal", "127.0.0.1:1"}, "no shared state key"},
		{[]string{"schedule", "delete", "x", "--temporal", "127.0.0.1:1"}, "no shared state key"},
	} {
		code, stderr := runCLI(t, tt.args...)
		if code == 0 || !strings.Contains(stderr, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want an error with %q", tt.args, code, stderr, tt.want)
		}
	}
}
