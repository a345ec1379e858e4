package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/tokenflow/tokenflow/internal/simulators"
)

// SimOptions are the inputs of `tokenflow sim`.
type SimOptions struct {
	IO      *IOStreams
	Vendors []string
	Plain   bool
	Dir     string
	// Targets, when positive, starts a fleet of that many instances per
	// vendor and writes its inventory to Inventory.
	Targets   int
	Inventory string
	// Settings are --set VENDOR.KEY=VALUE: knobs of every instance of that
	// vendor's simulator (its Registration's Knobs).
	Settings []string
	factory  *Factory
	// ready (readyFleet with --targets), when set, is called with the
	// running simulators instead of waiting for Ctrl-C (tests).
	ready      func(*simulators.Set) error
	readyFleet func(*simulators.Fleet) error
}

// NewCmdSim builds `tokenflow sim`.
func NewCmdSim(f *Factory, runF func(*SimOptions) error) *cobra.Command {
	opts := &SimOptions{IO: f.IO, factory: f}
	cmd := &cobra.Command{
		Use:   "sim [--targets N] [VENDOR...]",
		Short: "Serve the vendor simulators on loopback until Ctrl-C",
		Long: `Serve the vendor simulators on loopback (HTTPS with a freshly generated CA
by default) and print their URLs, default accounts and the CA file, so flows
and the clients operators use today can run with no appliance.

With --targets N, serve a fleet instead: N independent instances of each
vendor (acme-001, acme-002, ...), each on its own port, and write an inventory
(targets file) describing them for 'tokenflow run FLOW --targets FILE'.

A vendor that is not shipped with tokenflow is served by its own plugin
binary (tokenflow-plugin-VENDOR --simulate), found on the plugin search path
like any plugin; fleets are of shipped vendors only.

--set VENDOR.KEY=VALUE tunes a simulator (repeatable); the keys each vendor
knows are listed by an unknown one.`,
		Example: `  tokenflow sim
  tokenflow sim --targets 20 --plain-http acme
  tokenflow sim --set acme.entities=2500 acme`,
		ValidArgs: simulators.Vendors(),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Vendors = args
			if runF != nil {
				return runF(opts)
			}
			return simRun(cmd, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Plain, "plain-http", false, "serve plain HTTP instead of HTTPS")
	cmd.Flags().StringVar(&opts.Dir, "dir", "", "directory for the CA certificate (default: a new temporary directory)")
	cmd.Flags().IntVar(&opts.Targets, "targets", 0, "serve a fleet of N instances per vendor and write its inventory")
	cmd.Flags().StringVar(&opts.Inventory, "inventory", "", "with --targets: where to write the inventory (default: DIR/inventory.yaml)")
	cmd.Flags().StringArrayVar(&opts.Settings, "set", nil, "tune a simulator: VENDOR.KEY=VALUE (repeatable)")
	return cmd
}

func simRun(cmd *cobra.Command, opts *SimOptions) error {
	dir := opts.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "tokenflow-sim-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	dir, _ = filepath.Abs(dir)
	if opts.Targets != 0 {
		return simFleetRun(cmd, opts, dir)
	}
	if opts.Inventory != "" {
		return fmt.Errorf("--inventory needs --targets N: only a fleet has an inventory")
	}
	inTree, outOfTree := splitVendors(opts.Vendors)
	settings, err := parseSettings(opts.Settings)
	if err != nil {
		return err
	}
	if len(outOfTree) > 0 {
		return simExternalRun(cmd, opts, dir, inTree, outOfTree, settings)
	}
	set, err := simulators.Start(inTree, !opts.Plain, dir, nil)
	if err != nil {
		return err
	}
	defer set.Close()
	if err := tuneSims(settings, set.Sims); err != nil {
		return err
	}
	w := opts.IO.Out
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VENDOR\tURL\tUSER\tPASSWORD\tFLOW FLAGS")
	for _, r := range set.Sims {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Vendor, r.Server.URL, r.Username, r.Password, r.Flags)
	}
	tw.Flush()
	if set.CAFile != "" {
		fmt.Fprintf(w, "\nCA certificate: %s\n", set.CAFile)
	}
	if len(set.Sims) > 0 {
		writeTry(w, set.Sims[0], set.CAFile)
	}
	if opts.ready != nil {
		return opts.ready(set)
	}
	fmt.Fprintln(w, "\nServing until Ctrl-C.")
	<-cmd.Context().Done()
	return nil
}

// writeTry suggests a dry-run of r's example flow against it, with the
// variables that work on the simulator's default data.
func writeTry(w io.Writer, r *simulators.Running, caFile string) {
	if r.ExampleFlow == "" {
		return
	}
	vars := map[string]string{"url": r.Server.URL}
	for k, v := range r.FlowVars {
		vars[k] = v
	}
	for k, v := range r.Files {
		vars[k] = v
	}
	extra := " --allow-http" // plain http carries the password in clear
	if caFile != "" {
		vars["ca_file"] = caFile
		extra = ""
	}
	env := ""
	if r.PasswordEnv != "" {
		env = r.PasswordEnv + "=" + shellQuote(r.Password) + " "
	}
	fmt.Fprintf(w, "\nTry:\n  %stokenflow run flows/%s%s%s \\\n      --dry-run\n", env, r.ExampleFlow, sortedVarFlags(vars), extra)
}

// sortedVarFlags renders vars as --var flags, url and ca_file first.
func sortedVarFlags(vars map[string]string) string {
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	rank := map[string]int{"url": -2, "ca_file": -1}
	sort.Slice(keys, func(i, j int) bool {
		if rank[keys[i]] != rank[keys[j]] {
			return rank[keys[i]] < rank[keys[j]]
		}
		return keys[i] < keys[j]
	})
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, " --var %s=%s", k, shellQuote(vars[k]))
	}
	return b.String()
}

func shellQuote(s string) string {
	if strings.ContainsAny(s, "!$`\"\\ '") {
		return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	}
	return s
}
