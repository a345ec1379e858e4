package cli

import (
	"fmt"
	"path/filepath"
	"sort"

	"github.com/spf13/cobra"
	"github.com/tokenflow/tokenflow/internal/simulators"
	hxsim "github.com/tokenflow/tokenflow/plugins/hyperflex/sim"
	turbosim "github.com/tokenflow/tokenflow/plugins/turbonomic/sim"
)

// simFleetRun is `tokenflow sim --targets N`: a fleet and its inventory.
func simFleetRun(cmd *cobra.Command, opts *SimOptions, dir string) error {
	if opts.Targets < 1 {
		return fmt.Errorf("--targets %d: give the number of instances per vendor, 1 or more", opts.Targets)
	}
	inv := opts.Inventory
	if inv == "" {
		inv = filepath.Join(dir, "inventory.yaml")
	}
	inv, _ = filepath.Abs(inv)
	fleet, err := simulators.StartFleet(opts.Vendors, opts.Targets, !opts.Plain, dir, nil)
	if err != nil {
		return err
	}
	defer fleet.Close()
	if err := tuneSims(opts, fleet.Instances); err != nil {
		return err
	}
	if err := fleet.WriteInventory(inv); err != nil {
		return err
	}

	w := opts.IO.Out
	// Vendors in the order given, each with its first and last instance.
	var vendors []string
	first, last := map[string]string{}, map[string]string{}
	for _, r := range fleet.Instances {
		if _, ok := first[r.Vendor]; !ok {
			vendors = append(vendors, r.Vendor)
			first[r.Vendor] = r.Name
		}
		last[r.Vendor] = r.Name
	}
	counts := fleet.Counts()
	fmt.Fprintf(w, "Simulated fleet: %d instances on loopback\n", len(fleet.Instances))
	for _, v := range vendors {
		fmt.Fprintf(w, "  %-11s %4d  %s .. %s\n", v, counts[v], first[v], last[v])
	}
	if fleet.CAFile != "" {
		fmt.Fprintf(w, "\nCA certificate: %s\n", fleet.CAFile)
	}
	fmt.Fprintf(w, "Inventory:      %s\n", inv)
	env := fleet.Env()
	if len(env) > 0 {
		names := make([]string, 0, len(env))
		for k := range env {
			names = append(names, k)
		}
		sort.Strings(names)
		// The simulators' own default passwords, printed like the
		// single-instance table does: they protect nothing real.
		fmt.Fprintln(w, "\nExport (every instance accepts the simulator's default account):")
		for _, k := range names {
			fmt.Fprintf(w, "  export %s=%s\n", k, shellQuote(env[k]))
		}
	}
	allow := ""
	if opts.Plain {
		allow = " --allow-http" // plain http carries credentials in clear
	}
	fmt.Fprintf(w, "\nTry:\n  tokenflow run flows/%s --targets %s --dry-run%s\n", exampleFlow(vendors), inv, allow)
	if opts.readyFleet != nil {
		return opts.readyFleet(fleet)
	}
	fmt.Fprintln(w, "\nServing until Ctrl-C.")
	<-cmd.Context().Done()
	return nil
}

// exampleFlow is a shipped onboarding flow of one of the fleet's vendors.
func exampleFlow(vendors []string) string {
	flows := map[string]string{
		"vcf": "vcf/onboard.star", "bigip": "bigip/session.star", "hyperflex": "hyperflex/token.star",
		"turbonomic": "turbonomic/service_account.star", "vigiles": "vigiles/heartbeat.star",
	}
	for _, v := range vendors {
		if f, ok := flows[v]; ok {
			return f
		}
	}
	return "vcf/onboard.star"
}

// tuneSims applies --turbo-entities and --hx-login-rate to the simulators
// they concern.
func tuneSims(opts *SimOptions, sims []*simulators.Running) error {
	for _, r := range sims {
		switch s := r.Sim.(type) {
		case *turbosim.Sim:
			if opts.TurboEntities == 0 {
				continue
			}
			have := len(s.Entities("VirtualMachine"))
			if opts.TurboEntities < have {
				return fmt.Errorf("--turbo-entities %d: the Turbonomic simulator starts with %d VirtualMachines and cannot drop any; give %d or more", opts.TurboEntities, have, have)
			}
			s.AddEntities("VirtualMachine", opts.TurboEntities-have)
		case *hxsim.Sim:
			if opts.HXLoginRate != 0 {
				s.SetAuthRateLimit(opts.HXLoginRate, 0)
			}
		}
	}
	return nil
}
