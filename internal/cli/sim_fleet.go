package cli

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/tokenflow/tokenflow/internal/simulators"
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
	if _, outOfTree := splitVendors(opts.Vendors); len(outOfTree) > 0 {
		return fmt.Errorf("--targets: no shipped simulator for %v (shipped: %v); a plugin's own simulator serves one instance: tokenflow sim %s", outOfTree, simulators.Vendors(), outOfTree[0])
	}
	settings, err := parseSettings(opts.Settings)
	if err != nil {
		return err
	}
	fleet, err := simulators.StartFleet(opts.Vendors, opts.Targets, !opts.Plain, dir, nil)
	if err != nil {
		return err
	}
	defer fleet.Close()
	if err := tuneSims(settings, fleet.Instances); err != nil {
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
	if flow := exampleFlow(fleet.Instances); flow != "" {
		fmt.Fprintf(w, "\nTry:\n  tokenflow run flows/%s --targets %s --dry-run%s\n", flow, inv, allow)
	}
	if opts.readyFleet != nil {
		return opts.readyFleet(fleet)
	}
	fmt.Fprintln(w, "\nServing until Ctrl-C.")
	<-cmd.Context().Done()
	return nil
}

// exampleFlow is the example flow of the fleet's first vendor that has one.
func exampleFlow(instances []*simulators.Running) string {
	for _, r := range instances {
		if r.ExampleFlow != "" {
			return r.ExampleFlow
		}
	}
	return ""
}

// setting is one --set VENDOR.KEY=VALUE.
type setting struct{ vendor, key, value string }

func parseSettings(args []string) ([]setting, error) {
	var out []setting
	for _, a := range args {
		name, value, ok := strings.Cut(a, "=")
		vendor, key, ok2 := strings.Cut(name, ".")
		if !ok || !ok2 || vendor == "" || key == "" {
			return nil, fmt.Errorf("--set %q: want VENDOR.KEY=VALUE, e.g. --set acme.entities=500", a)
		}
		out = append(out, setting{vendor, key, value})
	}
	return out, nil
}

// tuneSims applies the settings to every simulator of their vendor,
// refusing a setting whose vendor is not being served.
func tuneSims(settings []setting, sims []*simulators.Running) error {
	for _, s := range settings {
		found := false
		for _, r := range sims {
			if r.Vendor != s.vendor {
				continue
			}
			found = true
			if err := r.ApplyKnob(r.Sim, s.key, s.value); err != nil {
				return fmt.Errorf("--set: %w", err)
			}
		}
		if !found {
			return fmt.Errorf("--set %s.%s: no %s simulator is being served; name it (tokenflow sim %s)", s.vendor, s.key, s.vendor, s.vendor)
		}
	}
	return nil
}
