package cli

import (
	"fmt"
	"os"
	"path/filepath"
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
	// TurboEntities and HXLoginRate tune every Turbonomic and HyperFlex
	// instance (0: the simulator's default).
	TurboEntities int
	HXLoginRate   int
	// ready (readyFleet with --targets), when set, is called with the
	// running simulators instead of waiting for Ctrl-C (tests).
	ready      func(*simulators.Set) error
	readyFleet func(*simulators.Fleet) error
}

// NewCmdSim builds `tokenflow sim`.
func NewCmdSim(f *Factory, runF func(*SimOptions) error) *cobra.Command {
	opts := &SimOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "sim [--targets N] [VENDOR...]",
		Short: "Serve the vendor simulators on loopback until Ctrl-C",
		Long: `Serve the vendor simulators on loopback (HTTPS with a freshly generated CA
by default) and print their URLs, default accounts and the CA file, so flows
and the clients operators use today can run with no appliance.

With --targets N, serve a fleet instead: N independent instances of each
vendor (vcf-001, vcf-002, ...), each on its own port, and write an inventory
(targets file) describing them for 'tokenflow run FLOW --targets FILE'.`,
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
	cmd.Flags().IntVar(&opts.TurboEntities, "turbo-entities", 0, "VirtualMachine entities per Turbonomic simulator (default: the simulator's 48)")
	cmd.Flags().IntVar(&opts.HXLoginRate, "hx-login-rate", 0, "HyperFlex logins accepted per 15 minutes (default 5; -1: unlimited)")
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
	set, err := simulators.Start(opts.Vendors, !opts.Plain, dir, nil)
	if err != nil {
		return err
	}
	defer set.Close()
	if err := tuneSims(opts, set.Sims); err != nil {
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
	if r := set.Get("vcf"); r != nil {
		ca := ""
		if set.CAFile != "" {
			ca = " --var ca_file=" + set.CAFile
		} else {
			ca = " --allow-http" // plain http carries the password in clear
		}
		fmt.Fprintf(w, "\nTry:\n  %s=%s tokenflow run flows/vcf/onboard.star --var url=%s%s \\\n      --var realm=flt-idb02 --var client_id=ci-bot --var token_name=ci-bot-main --dry-run\n",
			r.PasswordEnv, shellQuote(r.Password), r.Server.URL, ca)
	}
	if opts.ready != nil {
		return opts.ready(set)
	}
	fmt.Fprintln(w, "\nServing until Ctrl-C.")
	<-cmd.Context().Done()
	return nil
}

func shellQuote(s string) string {
	if strings.ContainsAny(s, "!$`\"\\ '") {
		return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	}
	return s
}
