package cli

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/tokenflow/tokenflow/engine"
	"github.com/tokenflow/tokenflow/engine/store"
)

// RevokeOptions are the inputs of `tokenflow revoke`.
type RevokeOptions struct {
	Factory  *Factory
	Run      string
	VarArgs  []string
	FlowsDir string
	Yes      bool
	// AllowHTTP lets the revoke flows reach http:// targets (simulators).
	AllowHTTP bool
}

// NewCmdRevoke builds `tokenflow revoke --run RUN`.
func NewCmdRevoke(f *Factory) *cobra.Command {
	opts := &RevokeOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "revoke --run RUN",
		Short: "Revoke every credential a run issued, across vendors (plan first)",
		Long: `Revoke every credential a run stored, at each vendor, and mark it revoked.

For each token the run stored (see tokenflow runs show RUN), the vendor's
flows/<vendor>/revoke_stored.star runs with --var name=<token> and
--var url=<the token's target>, plus the --var flags given here (user, ca_file...).
A token stored under another one's name plus a suffix (NAME/refresh, say:
one credential kept as two values) is revoked with it, by one run of the flow.
Every revocation is planned first (a dry-run); on a terminal you confirm,
otherwise pass --yes. Without --yes and without a terminal, the plan is
printed and the command exits 2. A credential it cannot revoke (no revoke
flow for its vendor under --flows) makes it exit 1.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Run == "" {
				return fmt.Errorf("revoke needs --run RUN (see tokenflow runs)")
			}
			return revokeRun(cmd, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Run, "run", "", "the run whose credentials to revoke")
	cmd.Flags().StringArrayVar(&opts.VarArgs, "var", nil, "flow variable for the vendors' revoke flows (repeatable)")
	cmd.Flags().StringVar(&opts.FlowsDir, "flows", "flows", "directory holding the shipped flows")
	cmd.Flags().BoolVar(&opts.Yes, "yes", false, "apply without asking after the plan")
	cmd.Flags().BoolVar(&opts.AllowHTTP, "allow-http", false, "allow http:// targets, which carry credentials in clear (simulators only; the log warns)")
	cmd.RegisterFlagCompletionFunc("run", completeRunIDs(f, false))
	return cmd
}

// revokeName is the name a token is revoked under: that of the run's token
// it belongs to (same vendor and target, name a prefix up to a "/"), so a
// credential stored as several values is revoked once; else its own.
func revokeName(name, vendor, target string, tokens []store.Token) string {
	best := name
	for _, t := range tokens {
		if t.Vendor == vendor && t.Target == target && len(t.Name) < len(best) && strings.HasPrefix(name, t.Name+"/") {
			best = t.Name
		}
	}
	return best
}

type revocation struct {
	name, vendor, target, flow string
}

func revokeRun(cmd *cobra.Command, opts *RevokeOptions) error {
	f := opts.Factory
	ctx := cmd.Context()
	st, err := f.State(ctx)
	if err != nil {
		return err
	}
	if st == nil {
		return errors.New("revoke needs the state database (drop --no-state)")
	}
	runRec, err := st.GetRun(ctx, opts.Run)
	if err != nil {
		return err
	}
	if runRec.Kind == "fleet" {
		return fmt.Errorf("run %s is a fleet run: its tokens belong to its targets' runs; revoke those (tokenflow runs show %s lists them)", runRec.ID, runRec.ID)
	}
	// A fleet target's run journaled how to reach the target (its name is
	// the tokens' target, not a URL): revoke there, with its TLS and its
	// credentials, as the run did.
	var jt *journaledTargetInfo
	if runRec.TargetInfo != "" {
		t, err := journaledTarget(f, runRec.Target, runRec.ID, runRec.TargetInfo)
		if err != nil {
			return err
		}
		jt = &t
	}
	tokens, err := st.TokensOfRun(ctx, opts.Run)
	if err != nil {
		return err
	}
	vars, err := parseVars("", opts.VarArgs)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	var todo []revocation
	var skipped []string
	for _, t := range tokens {
		name := revokeName(t.Name, t.Vendor, t.Target, tokens)
		if seen[name] {
			continue
		}
		seen[name] = true
		flow := filepath.Join(opts.FlowsDir, t.Vendor, "revoke_stored.star")
		if _, err := os.Stat(flow); err != nil {
			skipped = append(skipped, fmt.Sprintf("%s (%s: no %s)", name, t.Vendor, flow))
			continue
		}
		todo = append(todo, revocation{name: name, vendor: t.Vendor, target: t.Target, flow: flow})
	}
	sort.Slice(todo, func(i, j int) bool { return todo[i].name < todo[j].name })
	out := f.IO.Out
	for _, s := range skipped {
		fmt.Fprintf(out, "skipped %s: revoke it by hand\n", s)
	}
	// A credential the command cannot revoke is not a success: the
	// person must act on it (or run from the directory holding flows/).
	unrevoked := func() error {
		return fmt.Errorf("%d credential(s) of run %s were not revoked: no revoke flow for them under %s; run from the directory holding the shipped flows (or pass --flows DIR), or revoke them by hand", len(skipped), opts.Run, opts.FlowsDir)
	}
	if len(todo) == 0 {
		if len(skipped) > 0 {
			return unrevoked()
		}
		fmt.Fprintf(out, "Run %s left no live credential to revoke here.\n", opts.Run)
		return nil
	}
	run := func(r revocation, dry bool) (*engine.Result, error) {
		lock, err := f.PluginLock(r.flow)
		if err != nil {
			return nil, err
		}
		v := map[string]string{"name": r.name, "url": r.target}
		eopts := engine.Options{
			Vars: v, DryRun: dry, State: st, PluginDirs: f.PluginSearchDirs(), SearchPATH: true, PluginLock: lock,
			Getenv: f.Getenv, Log: f.IO.ErrOut, Logger: f.Logger(), Redactor: f.Redactor, AllowHTTP: opts.AllowHTTP,
		}
		if jt != nil {
			creds, err := jt.credentials()
			if err != nil {
				return nil, fmt.Errorf("credentials of target %s: %w", r.target, err)
			}
			for _, c := range creds {
				f.Redactor.Add(c)
			}
			v["url"], eopts.Target = jt.url, r.target
			tls := jt.tls
			eopts.TargetTLS = &tls
			if jt.proxy != nil {
				if eopts.Proxy, err = jt.proxy(); err != nil {
					return nil, fmt.Errorf("proxy of target %s: %w", r.target, err)
				}
			}
			eopts.Getenv = func(name string) (string, bool) {
				if c, ok := creds[name]; ok {
					return c, true
				}
				return f.Getenv(name)
			}
		}
		for k, val := range vars {
			v[k] = val
		}
		return engine.Run(ctx, r.flow, eopts)
	}
	fmt.Fprintf(out, "Plan: revoke %d credential(s) issued by run %s\n", len(todo), opts.Run)
	for _, r := range todo {
		fmt.Fprintf(out, "\n── %s (%s, %s)\n", r.name, r.vendor, r.target)
		res, err := run(r, true)
		if res != nil && res.Plan != nil {
			// Steps only: the plan's own summary says "without --dry-run",
			// which is not how revoke applies.
			res.Plan.WriteSteps(out, f.Redactor)
		}
		if err != nil {
			return fmt.Errorf("planning the revocation of %s: %w", r.name, err)
		}
	}
	if !opts.Yes {
		if !confirm(f, fmt.Sprintf("\nRevoke these %d credential(s)? Type yes: ", len(todo))) {
			fmt.Fprintf(out, "\nNothing was revoked. To revoke them, run again with --yes: tokenflow revoke --run %s --yes\n", opts.Run)
			return &PendingError{Changes: len(todo)}
		}
	}
	var failed []string
	for _, r := range todo {
		if _, err := run(r, false); err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", r.name, err))
			continue
		}
		fmt.Fprintf(out, "revoked %s\n", r.name)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d revocation(s) failed:\n  %s", len(failed), strings.Join(failed, "\n  "))
	}
	if len(skipped) > 0 {
		return unrevoked()
	}
	return nil
}

// confirm asks at a terminal; without one it answers no.
func confirm(f *Factory, prompt string) bool {
	in, ok := f.IO.In.(interface{ Fd() uintptr })
	if !ok || !isTerminal(in.Fd()) {
		return false
	}
	fmt.Fprint(f.IO.ErrOut, prompt)
	line, _ := bufio.NewReader(f.IO.In).ReadString('\n')
	return strings.TrimSpace(line) == "yes"
}
