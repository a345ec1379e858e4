package simulators

import (
	"bufio"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestStartFleet200(t *testing.T) {
	dir := t.TempDir()
	start := time.Now()
	f, err := StartFleet([]string{"vcf"}, 200, true, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	t.Logf("200 VCF instances started in %v; RSS %d MiB", time.Since(start), rssMiB())
	if len(f.Instances) != 200 {
		t.Fatalf("%d instances, want 200", len(f.Instances))
	}
	if f.Instances[0].Name != "vcf-001" || f.Instances[199].Name != "vcf-200" {
		t.Fatalf("names %q..%q, want vcf-001..vcf-200", f.Instances[0].Name, f.Instances[199].Name)
	}
	if f.CAFile != filepath.Join(dir, "ca.pem") {
		t.Fatalf("CAFile = %q", f.CAFile)
	}
	urls := map[string]bool{}
	for _, r := range f.Instances {
		if urls[r.Server.URL] {
			t.Fatalf("%s shares URL %s", r.Name, r.Server.URL)
		}
		urls[r.Server.URL] = true
		if f.Get(r.Name) != r {
			t.Fatalf("Get(%q) is not the instance", r.Name)
		}
	}
	// Each instance has its own state: a request to one is recorded by it
	// alone; and all trust the one CA.
	a, b := f.Get("vcf-007"), f.Get("vcf-008")
	c := a.Server.Client()
	resp, err := c.Get(a.Server.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if a.Sim.Recorder().Count("", "") != 1 || b.Sim.Recorder().Count("", "") != 0 {
		t.Fatalf("recorded %d and %d requests, want 1 and 0", a.Sim.Recorder().Count("", ""), b.Sim.Recorder().Count("", ""))
	}
	if a.Sim == b.Sim || a.Sim.Clock() != b.Sim.Clock() {
		t.Fatal("instances share a simulator, or do not share the clock")
	}
	if f.Get("vcf-201") != nil {
		t.Fatal("Get of a missing name returned an instance")
	}
}

func TestStartFleetNamesAndKeyFiles(t *testing.T) {
	dir := t.TempDir()
	f, err := StartFleet([]string{"vigiles", "bigip"}, 12, false, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.Counts(); got["vigiles"] != 12 || got["bigip"] != 12 || len(got) != 2 {
		t.Fatalf("counts %v", got)
	}
	if f.Instances[0].Name != "vigiles-01" || f.Instances[12].Name != "bigip-01" || f.Instances[23].Name != "bigip-12" {
		t.Fatalf("names %q %q %q", f.Instances[0].Name, f.Instances[12].Name, f.Instances[23].Name)
	}
	if f.CAFile != "" || !strings.HasPrefix(f.Instances[0].Server.URL, "http://") {
		t.Fatalf("plain fleet: CAFile %q URL %q", f.CAFile, f.Instances[0].Server.URL)
	}
	for _, name := range []string{"vigiles-01", "vigiles-12"} {
		path := filepath.Join(dir, name, "linuxlink_key")
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Fatalf("%s mode %v, want 0600", path, st.Mode().Perm())
		}
		if got := f.Get(name).Files["key_file"]; got != path {
			t.Fatalf("%s Files[key_file] = %q, want %q", name, got, path)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "bigip-01")); !os.IsNotExist(err) {
		t.Fatalf("a directory was made for an instance with nothing to keep: %v", err)
	}
}

func TestStartFleetErrors(t *testing.T) {
	for _, tt := range []struct {
		vendors []string
		n       int
		want    string
	}{
		{[]string{"vcf"}, 0, "at least 1"},
		{[]string{"vfc"}, 2, `no simulator for "vfc"`},
		{[]string{"vcf", "vcf"}, 2, "named twice"},
	} {
		f, err := StartFleet(tt.vendors, tt.n, false, t.TempDir(), nil)
		if err == nil {
			f.Close()
			t.Fatalf("StartFleet(%v, %d) succeeded", tt.vendors, tt.n)
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Fatalf("StartFleet(%v, %d): %v, want %q", tt.vendors, tt.n, err, tt.want)
		}
	}
}

// Start keeps serving one of each vendor, named after it, with the key file
// in dir itself.
func TestStartSet(t *testing.T) {
	dir := t.TempDir()
	set, err := Start([]string{"vigiles", "vcf"}, true, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	if r := set.Get("vigiles"); r == nil || r.Name != "vigiles" || r.Flags != "--var key_file="+filepath.Join(dir, "linuxlink_key") {
		t.Fatalf("vigiles: %+v", r)
	}
	resp, err := set.Get("vcf").Server.Client().Get(set.Get("vcf").Server.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusInternalServerError {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

// BenchmarkStartFleet1000 starts and stops 1,000 VCF instances over TLS and
// reports the process RSS with them running.
func BenchmarkStartFleet1000(b *testing.B) {
	for i := 0; i < b.N; i++ {
		f, err := StartFleet([]string{"vcf"}, 1000, true, b.TempDir(), nil)
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		b.ReportMetric(float64(rssMiB()), "RSS-MiB")
		f.Close()
	}
}

// rssMiB is the process's resident set size (0 where /proc is missing).
func rssMiB() int {
	fh, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return kb / 1024
		}
	}
	return 0
}
