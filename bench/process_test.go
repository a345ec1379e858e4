package bench

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/engine/pluginmgr"
	"github.com/tokenflow/tokenflow/internal/flowtest"
	"github.com/tokenflow/tokenflow/internal/simulators"
	"github.com/tokenflow/tokenflow/plugins/vcf/sim"
)

// BenchmarkRunProcess: a whole `tokenflow run` process of a VCF onboarding
// (flows/vcf/onboard.star) with state, beside a `tokenflow version` process
// in the same iteration, so the cost of merely starting a binary is
// measured in the same conditions. The state directory and the plugin
// cache are an operator's: made by a first run outside the measurement.
// Each iteration gets a fresh simulator (outside the timer), so every run
// does the whole onboarding: log in, find the realm, create the client,
// assign roles, issue and store a token. Reports the medians ms/run and
// ms/version, and x-version.
func BenchmarkRunProcess(b *testing.B) {
	bin := flowtest.Binary(b, "./cmd/tokenflow", "tokenflow")
	flowtest.Plugins(b, "vcf")
	flow := flowtest.Flow("vcf", "onboard.star")
	stateDir, cacheDir := filepath.Join(b.TempDir(), "state"), b.TempDir()
	onboard := func() time.Duration {
		dir := b.TempDir()
		f, err := simulators.StartFleet([]string{"vcf"}, 1, true, filepath.Join(dir, "sims"), nil)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		inst := f.Instances[0]
		return timeProcess(b, cacheDir, bin, "--state", stateDir, "run", flow,
			"--var", "url="+inst.Server.URL, "--var", "ca_file="+f.CAFile,
			"--var", "realm=flt-idb02", "--var", "client_id=ci-bot", "--var", "token_name=ci-bot-main")
	}
	onboard()
	var runs, versions []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		runs = append(runs, onboard())
		versions = append(versions, timeProcess(b, cacheDir, bin, "version"))
	}
	run, version := median(runs), median(versions)
	b.ReportMetric(float64(run.Microseconds())/1000, "ms/run")
	b.ReportMetric(float64(version.Microseconds())/1000, "ms/version")
	b.ReportMetric(float64(run)/float64(version), "x-version")
}

// BenchmarkPluginsCommand: `tokenflow plugins` (every shipped plugin) with
// a warm plugin cache, against `tokenflow version` and against the same
// listing with an empty cache (every plugin launched for Describe).
// Reports medians: ms/warm, ms/cold, ms/version, x-version (warm).
func BenchmarkPluginsCommand(b *testing.B) {
	bin := flowtest.Binary(b, "./cmd/tokenflow", "tokenflow")
	flowtest.Plugins(b, "vcf", "bigip", "hyperflex", "turbonomic", "vigiles")
	warmDir := b.TempDir()
	timeProcess(b, warmDir, bin, "plugins")
	var warm, cold, versions []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		warm = append(warm, timeProcess(b, warmDir, bin, "plugins"))
		cold = append(cold, timeProcess(b, b.TempDir(), bin, "plugins"))
		versions = append(versions, timeProcess(b, warmDir, bin, "version"))
	}
	b.ReportMetric(float64(median(warm).Microseconds())/1000, "ms/warm")
	b.ReportMetric(float64(median(cold).Microseconds())/1000, "ms/cold")
	b.ReportMetric(float64(median(versions).Microseconds())/1000, "ms/version")
	b.ReportMetric(float64(median(warm))/float64(median(versions)), "x-version")
}

func timeProcess(b *testing.B, cacheDir, bin string, args ...string) time.Duration {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "VCF_PASSWORD="+sim.DefaultPassword, pluginmgr.EnvCacheDir+"="+cacheDir)
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("tokenflow %v: %v\n%s", args, err, out)
	}
	return time.Since(start)
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
