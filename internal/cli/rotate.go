package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/tokenflow/tokenflow/engine"
	"github.com/tokenflow/tokenflow/engine/fleet"
	"github.com/tokenflow/tokenflow/engine/inventory"
	"github.com/tokenflow/tokenflow/engine/state"
	"github.com/tokenflow/tokenflow/engine/store"
	"github.com/tokenflow/tokenflow/engine/value"
)

// RotateOptions are the inputs of `tokenflow rotate`.
type RotateOptions struct {
	Run    RunOptions // output, fleet and dry-run flags, shared with run --targets
	Due    string
	Vendor string
}

// NewCmdRotate builds `tokenflow rotate --due WINDOW`.
func NewCmdRotate(f *Factory) *cobra.Command {
	opts := &RotateOptions{Run: RunOptions{IO: f.IO, Factory: f}}
	cmd := &cobra.Command{
		Use:   "rotate --due WINDOW",
		Short: "Rotate every stored token that expires within WINDOW, on every target, as one fleet run",
		Long: `Find every current token in the store that expires within WINDOW (or whose
"rotate_every" label says it is due: a duration since its last rotation) and run
its vendor's rotate flow against its target: rotate.star beside the flow that
stored the token, or that flow itself when there is no rotate.star (flows such
as a token-file flow that renews its token when rerun). Each target runs once,
all of them as one fleet run: a failing target does not stop the others, and
the run can be resumed with --resume.

The store keeps with each token the run that stored it: its flow, vars, target
and how to reach the target (credential references, never secrets), so a cron
line is all an operator writes:

  0 3 * * *  tokenflow rotate --due 7d

With --targets FILE only that inventory's targets are rotated, with their
current URL, TLS settings and credentials from the file.

Exit codes: 0 done (or nothing due), 1 a target failed, 2 a --dry-run found
changes.`,
		Example: `  tokenflow rotate --due 7d
  tokenflow rotate --due 14d --vendor acme --dry-run
  tokenflow rotate --due 7d --targets fleet.yaml --limit east --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Due == "" {
				return fmt.Errorf("rotate needs --due WINDOW (for example --due 7d)")
			}
			if _, err := value.ParseDuration(opts.Due); err != nil {
				return fmt.Errorf("--due %q: %w", opts.Due, err)
			}
			if opts.Run.Limit != "" && opts.Run.Targets == "" {
				return fmt.Errorf("--limit goes with --targets FILE")
			}
			if opts.Run.FailFast {
				opts.Run.MaxFailures = 1
			}
			return rotateRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Due, "due", "", "rotate tokens expiring within this window (e.g. 7d, 36h)")
	fl.StringVar(&opts.Vendor, "vendor", "", "only tokens of this vendor")
	fl.StringVar(&opts.Run.Targets, "targets", "", "only the targets of this inventory, reached as it says")
	fl.StringVar(&opts.Run.Limit, "limit", "", "with --targets: only these groups, targets or globs")
	fl.IntVar(&opts.Run.Parallel, "parallel", 16, "how many targets rotate at once")
	fl.IntVar(&opts.Run.MaxFailures, "max-failures", 0, "start no new target once this many failed (0: no limit)")
	fl.BoolVar(&opts.Run.FailFast, "fail-fast", false, "start no new target after the first failure")
	fl.BoolVar(&opts.Run.DryRun, "dry-run", false, "plan the rotations; exit 2 when some are pending")
	fl.BoolVar(&opts.Run.AllowHTTP, "allow-http", false, "allow http:// targets, which carry credentials in clear (simulators only; the log warns)")
	fl.BoolVar(&opts.Run.Verbose, "verbose", false, "print each target's full plan and log")
	fl.BoolVar(&opts.Run.JSON, "json", false, "one JSON object per target, then a summary")
	fl.StringVar(&opts.Run.Resume, "resume", "", "continue an interrupted rotate run (the fleet run id)")
	fl.DurationVar(&opts.Run.HTTPTimeout, "http-timeout", 0, "how long one HTTP attempt to a vendor may take (default 30s)")
	return cmd
}

// dueToken is a token due for rotation and the run that stored it.
type dueToken struct {
	token store.Token
	run   state.Run
	why   string
}

// dueTokens lists the current tokens due within window, oldest deadline
// first.
func dueTokens(ctx context.Context, st state.Backend, window time.Duration, vendor string, now time.Time) ([]dueToken, error) {
	tokens, err := st.List(ctx)
	if err != nil {
		return nil, err
	}
	var due []dueToken
	var ids []string
	for _, t := range tokens {
		if vendor != "" && t.Vendor != vendor {
			continue
		}
		why, err := store.Due(t, now, window)
		if err != nil {
			return nil, err
		}
		if why == "" {
			continue
		}
		due = append(due, dueToken{token: t, why: why})
		ids = append(ids, t.RunID)
	}
	runs, err := st.RunsByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	for i := range due {
		due[i].run = runs[due[i].token.RunID]
	}
	sort.SliceStable(due, func(i, j int) bool { return due[i].token.ExpiresAt.Before(due[j].token.ExpiresAt) })
	return due, nil
}

// rotateFlow is the flow that rotates what issuing flow stored: rotate.star
// beside it, else the flow itself.
func rotateFlow(issuing string) string {
	p := filepath.Join(filepath.Dir(issuing), "rotate.star")
	if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
		return p
	}
	return issuing
}

func rotateRun(ctx context.Context, opts *RotateOptions) error {
	f := opts.Run.Factory
	st, err := f.State(ctx)
	if err != nil {
		return err
	}
	if st == nil {
		return fmt.Errorf("rotate needs the state database: it finds due tokens in the token store (drop --no-state)")
	}
	window, _ := value.ParseDuration(opts.Due)
	due, err := dueTokens(ctx, st, window, opts.Vendor, time.Now())
	if err != nil {
		return err
	}
	var inv map[string]*inventory.Target
	invPath := ""
	if opts.Run.Targets != "" {
		invPath, _ = filepath.Abs(opts.Run.Targets)
		_, selected, err := fleetTargets(f, opts.Run.Targets, opts.Run.Limit)
		if err != nil {
			return err
		}
		inv = map[string]*inventory.Target{}
		for _, t := range selected {
			inv[t.Name] = t
		}
	}

	// One fleet target per (target, rotate flow): a target's tokens of one
	// flow rotate in one run.
	seen := map[string]bool{}
	outside := 0 // due, but on targets --targets/--limit did not select
	var targets []fleet.Target
	var problems []string
	for _, d := range due {
		if inv != nil && inv[d.token.Target] == nil {
			outside++
			continue
		}
		if d.run.ID == "" || d.run.FlowPath == "" {
			problems = append(problems, fmt.Sprintf("%s %s: the run that stored it (%q) is not in the journal, so tokenflow does not know how to rotate it; rerun its flow", d.token.Target, d.token.Name, d.token.RunID))
			continue
		}
		flow := rotateFlow(d.run.FlowPath)
		key := d.token.Target + "\x00" + flow
		if seen[key] {
			continue
		}
		ft, err := rotationTarget(f, d, flow, inv, invPath, opts.Due)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s %s: %v", d.token.Target, d.token.Name, err))
			continue
		}
		targets = append(targets, ft)
		seen[key] = true
	}
	out := f.IO.Out
	for _, p := range problems {
		fmt.Fprintf(f.IO.ErrOut, "cannot rotate %s\n", p)
	}
	if len(targets) == 0 {
		if len(problems) > 0 {
			return fmt.Errorf("%d due token(s) cannot be rotated (see above)", len(problems))
		}
		if opts.Run.JSON {
			return writeJSON(f, map[string]any{"summary": map[string]any{"due": 0, "window": opts.Due}})
		}
		if outside > 0 {
			fmt.Fprintf(out, "Nothing is due on the selected targets; %d due token(s) belong to targets outside %s (drop --targets or widen --limit to rotate them).\n", outside, opts.Run.Targets)
			return nil
		}
		fmt.Fprintf(out, "Nothing is due: no stored token expires within %s.\n", opts.Due)
		return nil
	}
	if !opts.Run.JSON {
		fmt.Fprintf(out, "%d token(s) due within %s on %d target(s).\n", len(due), opts.Due, len(targets))
	}
	opts.Run.Flow = "rotate --due " + opts.Due
	opts.Run.resumeHint = func(id string) string {
		hint := "tokenflow rotate --due " + opts.Due
		if opts.Run.Targets != "" {
			hint += " --targets " + opts.Run.Targets
		}
		return hint + " --resume " + id
	}
	err = runFleetTargets(ctx, &opts.Run, "", targets, nil, fleet.MetaJSON(invPath, opts.Run.Limit))
	if err == nil && len(problems) > 0 {
		return fmt.Errorf("%d due token(s) could not be rotated (see above)", len(problems))
	}
	return err
}

// rotationTarget is how to reach a due token's target again: the
// inventory's target when --targets names it, else what the storing run
// journaled.
func rotationTarget(f *Factory, d dueToken, flow string, inv map[string]*inventory.Target, invPath, window string) (fleet.Target, error) {
	vars := map[string]string{}
	for k, v := range d.run.Vars {
		vars[k] = v
	}
	vars["window"] = window
	if t := inv[d.token.Target]; t != nil {
		ft := toFleetTarget(f, invPath, t)
		for k, v := range t.Vars {
			vars[k] = v
		}
		ft.Vars, ft.Flow = vars, flow
		return ft, nil
	}
	ft := fleet.Target{Name: d.token.Target, Vars: vars, Flow: flow, Info: d.run.TargetInfo}
	if d.run.TargetInfo == "" {
		// A single run: its vars hold the URL, its secrets came from the
		// environment, as they will now.
		ft.URL = vars["url"]
		return ft, nil
	}
	jt, err := journaledTarget(f, d.token.Target, d.run.ID, d.run.TargetInfo)
	if err != nil {
		return ft, err
	}
	ft.Vendor, ft.URL, ft.TLS, ft.Credentials, ft.Proxy = jt.vendor, jt.url, jt.tls, jt.credentials, jt.proxy
	return ft, nil
}

// journaledTarget is a fleet target as the run that acted on it journaled
// it (targetInfo): how to reach it again, with its credentials as the
// references they were, resolved only when called.
type journaledTargetInfo struct {
	vendor, url string
	tls         engine.TargetTLS
	credentials func() (map[string]string, error)
	proxy       func() (*engine.RunProxy, error) // nil: the environment's
}

func journaledTarget(f *Factory, name, runID, infoJSON string) (journaledTargetInfo, error) {
	var info targetInfo
	if err := json.Unmarshal([]byte(infoJSON), &info); err != nil {
		return journaledTargetInfo{}, fmt.Errorf("the journal's target record of run %s is unreadable: %w", runID, err)
	}
	refs := map[string]inventory.Ref{}
	for cname, r := range info.Credentials {
		kind, arg, _ := strings.Cut(r, ":")
		refs[cname] = inventory.Ref{Kind: kind, Arg: arg, Pos: "journal of run " + runID}
	}
	it := &inventory.Target{Name: name, Credentials: refs}
	if px := info.Proxy; px != nil {
		it.Proxy = &inventory.Proxy{URL: px.URL, User: px.User}
		if kind, arg, ok := strings.Cut(px.Password, ":"); ok {
			it.Proxy.Password = &inventory.Ref{Kind: kind, Arg: arg, Pos: "journal of run " + runID}
		}
	}
	return journaledTargetInfo{
		proxy:  targetProxy(f, it),
		vendor: info.Vendor, url: info.URL,
		tls:         engine.TargetTLS{URL: info.URL, CAFile: info.CAFile, Pin: info.Pin, Insecure: info.Insecure},
		credentials: func() (map[string]string, error) { return it.Resolve(f.Getenv) },
	}, nil
}
