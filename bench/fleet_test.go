package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/internal/flowtest"
	"github.com/tokenflow/tokenflow/internal/simulators"
	"github.com/tokenflow/tokenflow/plugins/vcf/sim"
)

// BenchmarkFleet: a fleet onboarding (flows/vcf/onboard.star with state)
// of fleetSize simulated VCF targets in one `tokenflow run --targets`
// process, against the same onboarding of one target in one `tokenflow run`
// process, measured in the same benchmark. Reports ms/target for the fleet,
// ms/run for the single run, and x-single: how many times cheaper a target
// is in a fleet than in a process of its own. Each iteration gets fresh
// simulators and a fresh state directory, so every run does the whole
// onboarding (the simulators run in this process and share its 2 cores).
func BenchmarkFleet(b *testing.B) {
	const fleetSize = 200
	bin := flowtest.Binary(b, "./cmd/tokenflow", "tokenflow")
	flowtest.Plugins(b, "vcf")
	flow := flowtest.Flow("vcf", "onboard.star")
	run := func(dir string, args ...string) time.Duration {
		cmd := exec.Command(bin, append([]string{"--state", filepath.Join(dir, "state")}, args...)...)
		cmd.Env = append(os.Environ(), "VCF_PASSWORD="+sim.DefaultPassword)
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("tokenflow %v: %v\n%s", args, err, out)
		}
		return time.Since(start)
	}
	start := func(n int) (*simulators.Fleet, string, string) {
		dir := b.TempDir()
		f, err := simulators.StartFleet([]string{"vcf"}, n, true, filepath.Join(dir, "sims"), nil)
		if err != nil {
			b.Fatal(err)
		}
		inv := filepath.Join(dir, "inventory.yaml")
		if err := f.WriteInventory(inv); err != nil {
			b.Fatal(err)
		}
		return f, dir, inv
	}
	var fleetTime, singleTime time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		f, dir, inv := start(fleetSize)
		b.StartTimer()
		fleetTime += run(dir, "run", flow, "--targets", inv, "--parallel", "32")
		b.StopTimer()
		f.Close()

		one, dir1, _ := start(1)
		r := one.Instances[0]
		singleTime += run(dir1, "run", flow, "--var", "url="+r.Server.URL, "--var", "ca_file="+one.CAFile,
			"--var", "realm=flt-idb02", "--var", "client_id=ci-bot", "--var", "token_name=ci-bot-main")
		one.Close()
		b.StartTimer()
	}
	perTarget := fleetTime / time.Duration(b.N*fleetSize)
	perRun := singleTime / time.Duration(b.N)
	b.ReportMetric(float64(perTarget.Microseconds())/1000, "ms/target")
	b.ReportMetric(float64(perRun.Microseconds())/1000, "ms/single-run")
	b.ReportMetric(float64(perRun)/float64(perTarget), "x-single")
	b.Log(fmt.Sprintf("%d targets per fleet run; %d iteration(s)", fleetSize, b.N))
}
