package cli

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/tokenflow/tokenflow/engine/distributed"
	"github.com/tokenflow/tokenflow/engine/state"
)

// parkedHint says what to do about parked runs in a listing.
func parkedHint(f *Factory, runs []state.Run) {
	var ids []string
	for _, r := range runs {
		if r.Status == distributed.StatusParked {
			ids = append(ids, r.ID)
		}
	}
	if len(ids) == 0 {
		return
	}
	fmt.Fprintf(f.IO.Out, "\n%d run(s) parked: a rotation or revocation failed past its retry limit and needs a person.\n"+
		"See what it sent with: tokenflow runs show %s\nthen fix the target and submit the flow for it again (tokenflow run FLOW --temporal ...).\n", len(ids), ids[0])
}

// NewCmdRuns builds `tokenflow runs [list|show RUN]`: the ledger of applied
// runs and their steps (arguments and results with secrets masked).
func NewCmdRuns(f *Factory) *cobra.Command {
	var asJSON bool
	var limit int
	open := func(cmd *cobra.Command) (state.Backend, error) {
		st, err := f.State(cmd.Context())
		if err != nil {
			return nil, err
		}
		if st == nil {
			return nil, fmt.Errorf("runs needs the state database (drop --no-state)")
		}
		return st, nil
	}
	list := func(cmd *cobra.Command, args []string) error {
		st, err := open(cmd)
		if err != nil {
			return err
		}
		runs, err := st.Runs(cmd.Context(), limit)
		if err != nil {
			return err
		}
		out := make([]runListJSON, 0, len(runs))
		for _, r := range runs {
			j := runListJSON{Run: r}
			if r.Kind == "fleet" {
				if j.Targets, err = st.ChildCounts(cmd.Context(), r.ID); err != nil {
					return err
				}
			}
			out = append(out, j)
		}
		if asJSON {
			return writeJSON(f, out)
		}
		if len(runs) == 0 {
			fmt.Fprintln(f.IO.Out, "No runs yet.")
			return nil
		}
		tw := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "RUN\tSTATUS\tSTARTED\tTARGET\tFLOW")
		for _, r := range out {
			flow := r.FlowPath
			if flow == "" && r.Kind == "fleet" {
				flow = "(each target's rotate flow)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.Status, fmtTime(r.StartedAt), runTargets(r), flow)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		parkedHint(f, runs)
		return nil
	}
	cmd := &cobra.Command{Use: "runs", Short: "List journaled runs", Args: cobra.NoArgs, RunE: list}
	cmd.PersistentFlags().BoolVar(&asJSON, "json", false, "print as JSON")
	cmd.Flags().IntVar(&limit, "limit", 20, "how many runs, newest first")
	listCmd := &cobra.Command{Use: "list", Short: "List journaled runs", Args: cobra.NoArgs, RunE: list}
	listCmd.Flags().IntVar(&limit, "limit", 20, "how many runs, newest first")
	show := &cobra.Command{
		Use:   "show RUN",
		Short: "Show a run's steps",
		Args:  cobra.ExactArgs(1),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, to string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return completeRunIDs(f, false)(cmd, args, to)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := open(cmd)
			if err != nil {
				return err
			}
			run, err := st.GetRun(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			steps, err := st.Steps(cmd.Context(), run.ID, false)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(f, map[string]any{"run": run, "steps": steps})
			}
			w := f.IO.Out
			if run.Kind == "fleet" {
				return showFleetRun(cmd, f, st, run, asJSON)
			}
			fmt.Fprintf(w, "run %s  %s  %s\n  flow %s\n", run.ID, run.Status, fmtTime(run.StartedAt), run.FlowPath)
			if run.Target != "" {
				fmt.Fprintf(w, "  target %s\n", run.Target)
			}
			if run.Error != "" {
				fmt.Fprintf(w, "  error: %s\n", run.Error)
			}
			for _, s := range steps {
				fmt.Fprintf(w, "\n  %d. %s (%s) %s  %s, %d attempt(s)\n     args:   %s\n", s.Seq, s.Call, s.Effect, s.CallSite, s.Status, s.Attempts, s.Args)
				if s.Result != "" {
					fmt.Fprintf(w, "     result: %s\n", s.Result)
				}
				if s.Error != "" {
					fmt.Fprintf(w, "     error:  %s\n", s.Error)
				}
			}
			if run.Status == distributed.StatusParked {
				fmt.Fprintf(w, "\nThis run is parked: a write failed past its retry limit and nothing retries it by itself.\n"+
					"Check the target (the failed step above says what was sent), fix the cause, then submit the flow for this\n"+
					"target again with --temporal: the steps already done are found and not repeated.\n")
			} else if run.Status != "ok" && run.Parent != "" {
				fmt.Fprintf(w, "\nThis run belongs to fleet run %s; continue the fleet with: %s\n", run.Parent, fleetResumeHint(cmd, st, run.Parent))
			} else if run.Status != "ok" {
				fmt.Fprintf(w, "\nContinue it with: tokenflow run --resume %s\n", run.ID)
			}
			return nil
		},
	}
	cmd.AddCommand(listCmd, show)
	return cmd
}

// runListJSON is a run in `runs --json`: a fleet run adds its targets'
// counts by status.
type runListJSON struct {
	state.Run
	Targets map[string]int `json:"targets,omitempty"`
}

// runTargets is the TARGET column: a single run's target, or a fleet run's
// counts ("20: 18 ok, 2 error").
func runTargets(r runListJSON) string {
	if r.Kind != "fleet" {
		if r.Target == "" {
			return "-"
		}
		return r.Target
	}
	total := 0
	statuses := make([]string, 0, len(r.Targets))
	for st, n := range r.Targets {
		total += n
		statuses = append(statuses, st)
	}
	sort.Strings(statuses)
	parts := make([]string, 0, len(statuses))
	for _, st := range statuses {
		parts = append(parts, fmt.Sprintf("%d %s", r.Targets[st], st))
	}
	return fmt.Sprintf("fleet of %d: %s", total, strings.Join(parts, ", "))
}

// fleetResumeHint is the command that continues a fleet run.
func fleetResumeHint(cmd *cobra.Command, st state.Backend, id string) string {
	run, err := st.GetRun(cmd.Context(), id)
	if err != nil {
		return "tokenflow run FLOW --targets FILE --resume " + id
	}
	var meta struct{ Inventory string }
	json.Unmarshal([]byte(run.TargetInfo), &meta)
	if meta.Inventory == "" {
		meta.Inventory = "FILE"
	}
	return fmt.Sprintf("tokenflow run %s --targets %s --resume %s", run.FlowPath, meta.Inventory, id)
}

// showFleetRun prints a fleet run and its targets' runs.
func showFleetRun(cmd *cobra.Command, f *Factory, st state.Backend, run state.Run, asJSON bool) error {
	children, err := st.Children(cmd.Context(), run.ID)
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(f, map[string]any{"run": run, "targets": children})
	}
	w := f.IO.Out
	fmt.Fprintf(w, "fleet run %s  %s  %s\n  flow %s\n", run.ID, run.Status, fmtTime(run.StartedAt), run.FlowPath)
	if run.Error != "" {
		fmt.Fprintf(w, "  %s\n", run.Error)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tSTATUS\tRUN\tERROR")
	for _, c := range children {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Target, c.Status, c.ID, firstLine(c.Error))
	}
	tw.Flush()
	if run.Status != "ok" {
		fmt.Fprintf(w, "\nContinue the targets that did not finish with: %s\n", fleetResumeHint(cmd, st, run.ID))
	}
	return nil
}
