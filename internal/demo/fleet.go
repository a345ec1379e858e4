package demo

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/tokenflow/tokenflow/internal/simulators"
	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// The fleet part of the demo: a simulated fleet of 20 VCF instances and 5
// BIG-IPs, driven through the same CLI commands an operator types (Options.CLI
// runs them in-process): plan and apply an onboarding on every target, apply
// it again and see it converge, keep BIG-IP sessions, rotate what is due,
// and list the ledger.

const (
	fleetVCF   = 20
	fleetBIGIP = 5
)

func runFleet(ctx context.Context, opts Options, dir string) error {
	if opts.CLI == nil {
		return nil
	}
	fmt.Fprintf(opts.Out, "\n═══ fleet ═══\n")
	fleet, err := simulators.StartFleet([]string{"vcf", "bigip"}, fleetVCF, true, filepath.Join(dir, "fleet"), nil)
	if err != nil {
		return err
	}
	defer fleet.Close()
	inv := filepath.Join(dir, "fleet", "inventory.yaml")
	if err := fleet.WriteInventory(inv); err != nil {
		return err
	}
	state := filepath.Join(dir, "state")
	bigips := fmt.Sprintf("bigip-0[1-%d]", fleetBIGIP)
	fmt.Fprintf(opts.Out, "  %d VCF and %d BIG-IP simulators on loopback; inventory %s\n", fleetVCF, fleetBIGIP, inv)
	env := fleet.Env()
	onboard := []string{"run", "flows/vcf/onboard.star", "--targets", inv, "--limit", "vcf"}
	steps := []struct {
		say    string
		args   []string
		code   int  // the exit code the step must end with
		writes bool // whether the step may write to the simulators
	}{
		{"check that the first nine targets answer (and their credentials resolve)", []string{"targets", "check", inv, "--limit", "vcf-0*"}, 0, false},
		{"plan the onboarding on every VCF target (exit 2: changes pending)", append(onboard, "--dry-run"), 2, false},
		{"apply it: one plugin process serves all 20 targets", onboard, 0, true},
		{"apply it again: it converges, nothing is written", onboard, 0, false},
		{"and a plan after it has nothing to change (exit 0)", append(onboard, "--dry-run"), 0, false},
		{"BIG-IP auth tokens for a long job on 5 BIG-IPs", []string{"run", "flows/bigip/session.star", "--targets", inv, "--limit", bigips}, 0, true},
		{"which VCF tokens expire within a week? none yet", []string{"rotate", "--due", "7d", "--vendor", "vcf"}, 0, false},
		{"BIG-IP tokens live 10 hours: rotate everything due within a week", []string{"rotate", "--due", "7d"}, 0, true},
		{"rotate the VCF tokens due within 31 days: each target's rotate flow, one fleet run", []string{"rotate", "--due", "31d", "--vendor", "vcf"}, 0, true},
		{"the ledger", []string{"runs", "--limit", "6"}, 0, false},
	}
	for _, s := range steps {
		before := fleetWrites(fleet)
		args := append([]string{"--state", state}, s.args...)
		fmt.Fprintf(opts.Out, "\n── %s\n   $ tokenflow %s\n\n", s.say, strings.Join(s.args, " "))
		code := opts.CLI(ctx, env, opts.FlowsDir, args...)
		if code != s.code {
			return fmt.Errorf("fleet: `tokenflow %s` exited %d, want %d", strings.Join(s.args, " "), code, s.code)
		}
		writes := fleetWrites(fleet) - before
		if !s.writes && writes != 0 {
			return fmt.Errorf("fleet: `tokenflow %s` sent %d write(s); it must send none", strings.Join(s.args, " "), writes)
		}
		fmt.Fprintf(opts.Out, "   (the simulators received %d write request(s))\n", writes)
	}
	return nil
}

// fleetWrites counts the write requests every simulator of the fleet has
// received.
func fleetWrites(f *simulators.Fleet) int {
	n := 0
	for _, r := range f.Instances {
		if rec, ok := r.Sim.(interface{ Recorder() *simkit.Recorder }); ok {
			n += rec.Recorder().Writes()
		}
	}
	return n
}
