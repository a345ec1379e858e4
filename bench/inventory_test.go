package bench

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/internal/flowtest"
	turbosim "github.com/tokenflow/tokenflow/plugins/turbonomic/sim"
)

// BenchmarkTurbonomicInventory: a whole `tokenflow run` process of
// flows/turbonomic/inventory.star with state against a Turbonomic
// simulator holding 2,500 virtual machines (500 per page), beside
// `tokenflow version`. The figure that matters is the CPU the process and
// its plugin use (user + system, from wait4, so the simulator in this
// process is not counted): ms-cpu/run, and x-version against the CPU of
// `tokenflow version`; ms/run is the wall time. Medians.
func BenchmarkTurbonomicInventory(b *testing.B) {
	bin := flowtest.Binary(b, "./cmd/tokenflow", "tokenflow")
	flowtest.Plugins(b, "turbonomic")
	flow := flowtest.Flow("turbonomic", "inventory.star")
	srv, caFile := flowtest.ServeTLS(b, turbosim.New(turbosim.Config{
		Inventory: map[string]int{"VirtualMachine": 2500}, PageSize: 500, MaxPageSize: 500,
	}).Handler())
	stateDir, cacheDir := filepath.Join(b.TempDir(), "state"), b.TempDir()
	args := []string{"--state", stateDir, "run", flow, "--var", "url=" + srv.URL, "--var", "ca_file=" + caFile,
		"--var", "types=VirtualMachine"}
	env := append(os.Environ(), "TURBO_PASSWORD="+turbosim.DefaultPassword, "TOKENFLOW_CACHE_DIR="+cacheDir)
	cpuProcess(b, env, bin, args...) // state, plugin cache and simulator warmed
	var walls, cpus, versionCPU []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		cpus = append(cpus, cpuProcess(b, env, bin, args...))
		walls = append(walls, time.Since(start))
		versionCPU = append(versionCPU, cpuProcess(b, env, bin, "version"))
	}
	cpu, wall, version := median(cpus), median(walls), median(versionCPU)
	b.ReportMetric(float64(cpu.Microseconds())/1000, "ms-cpu/run")
	b.ReportMetric(float64(wall.Microseconds())/1000, "ms/run")
	b.ReportMetric(float64(cpu)/float64(version), "x-version")
}

// cpuProcess runs a process and returns the user and system CPU it and the
// children it waited for used.
func cpuProcess(b *testing.B, env []string, bin string, args ...string) time.Duration {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("tokenflow %v: %v\n%s", args, err, out)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
