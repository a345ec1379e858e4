package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/tokenflow/tokenflow/internal/simulators"
	turbosim "github.com/tokenflow/tokenflow/plugins/turbonomic/sim"
	"gopkg.in/yaml.v3"
)

// runSim runs `tokenflow sim ARGS...`; ready sees the running fleet instead
// of waiting for Ctrl-C.
func runSim(t *testing.T, ready func(*simulators.Fleet) error, args ...string) (string, error) {
	t.Helper()
	streams, out, _ := TestStreams()
	var cmd *cobra.Command
	cmd = NewCmdSim(newFactory(streams), func(o *SimOptions) error {
		o.readyFleet = ready
		o.ready = func(*simulators.Set) error { return nil }
		return simRun(cmd, o)
	})
	cmd.SetArgs(args)
	cmd.SetOut(out)
	cmd.SetErr(out)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestSimTargets(t *testing.T) {
	dir := t.TempDir()
	inv := filepath.Join(dir, "fleet.yaml")
	var urls []string
	out, err := runSim(t, func(f *simulators.Fleet) error {
		// The fleet is up while the command serves.
		for _, r := range f.Instances {
			urls = append(urls, r.Server.URL)
			resp, err := r.Server.Client().Get(r.Server.URL + "/")
			if err != nil {
				return err
			}
			resp.Body.Close()
		}
		return nil
	}, "--targets", "3", "vcf", "bigip", "--inventory", inv, "--dir", dir)
	if err != nil {
		t.Fatalf("sim --targets: %v\n%s", err, out)
	}
	for _, want := range []string{
		"6 instances", "vcf", "bigip", "CA certificate: " + filepath.Join(dir, "ca.pem"),
		"Inventory:      " + inv, "export VCF_PASSWORD=", "export BIGIP_PASSWORD=",
		"tokenflow run flows/vcf/onboard.star --targets " + inv,
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}
	raw, err := os.ReadFile(inv)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Groups map[string]struct {
			Vars    map[string]string
			Targets map[string]struct {
				Vendor string
				URL    string
				TLS    struct {
					CAFile string `yaml:"ca_file"`
				}
				Credentials map[string]string
			}
		}
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("parse %s: %v\n%s", inv, err, raw)
	}
	if len(doc.Groups) != 2 || len(doc.Groups["vcf"].Targets) != 3 || len(doc.Groups["bigip"].Targets) != 3 {
		t.Fatalf("groups: %s", raw)
	}
	seen := 0
	for _, name := range []string{"vcf-1", "vcf-2", "vcf-3"} {
		tg, ok := doc.Groups["vcf"].Targets[name]
		if !ok {
			t.Fatalf("no target %s:\n%s", name, raw)
		}
		if tg.Vendor != "vcf" || tg.TLS.CAFile != "ca.pem" || tg.Credentials["VCF_PASSWORD"] != "env:VCF_PASSWORD" {
			t.Fatalf("%s: %+v", name, tg)
		}
		for _, u := range urls {
			if u == tg.URL {
				seen++
			}
		}
	}
	if seen != 3 {
		t.Fatalf("the inventory's vcf URLs are not the served ones:\n%s\nserved: %v", raw, urls)
	}
	if doc.Groups["vcf"].Vars["realm"] != "flt-idb02" || doc.Groups["bigip"].Vars["username"] != "automation" {
		t.Fatalf("group vars: %s", raw)
	}
}

func TestSimTargetsDefaultInventoryAndTuning(t *testing.T) {
	dir := t.TempDir()
	var vms int
	out, err := runSim(t, func(f *simulators.Fleet) error {
		vms = len(f.Get("turbonomic-1").Sim.(*turbosim.Sim).Entities("VirtualMachine"))
		return nil
	}, "--targets", "1", "turbonomic", "--set", "turbonomic.entities=500", "--dir", dir)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if vms != 500 {
		t.Fatalf("%d VirtualMachines, want 500", vms)
	}
	if _, err := os.Stat(filepath.Join(dir, "inventory.yaml")); err != nil {
		t.Fatalf("default inventory: %v", err)
	}
}

func TestSimFlagErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--targets", "-2", "vcf"}, "1 or more"},
		{[]string{"--inventory", "x.yaml", "vcf"}, "--inventory needs --targets"},
		{[]string{"--targets", "1", "turbonomic", "--set", "turbonomic.entities=3"}, "cannot drop"},
		{[]string{"--targets", "1", "turbonomic", "--set", "turbonomic.colour=red"}, `no setting "colour" (have: entities, write_latency)`},
		{[]string{"--targets", "1", "turbonomic", "--set", "bigip.x=1"}, "no bigip simulator is being served"},
		{[]string{"--targets", "1", "turbonomic", "--set", "entities"}, "want VENDOR.KEY=VALUE"},
		{[]string{"--targets", "1", "acme"}, "no shipped simulator for [acme]"},
	} {
		_, err := runSim(t, func(*simulators.Fleet) error { return nil }, append(tt.args, "--dir", t.TempDir())...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Fatalf("sim %v: %v, want %q", tt.args, err, tt.want)
		}
	}
}

// Without --targets, sim serves one of each named vendor, as before.
func TestSimSingle(t *testing.T) {
	streams, out, _ := TestStreams()
	var cmd *cobra.Command
	var got *simulators.Set
	cmd = NewCmdSim(newFactory(streams), func(o *SimOptions) error {
		o.ready = func(s *simulators.Set) error { got = s; return nil }
		return simRun(cmd, o)
	})
	cmd.SetArgs([]string{"bigip", "--dir", t.TempDir()})
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got == nil || len(got.Sims) != 1 || got.Sims[0].Vendor != "bigip" || !strings.Contains(out.String(), got.Sims[0].Server.URL) {
		t.Fatalf("single sim output:\n%s", out)
	}
}
