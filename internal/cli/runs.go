package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/tokenflow/tokenflow/engine/state"
)

// NewCmdRuns builds `tokenflow runs [list|show RUN]`: the ledger of applied
// runs and their steps (arguments and results with secrets masked).
func NewCmdRuns(f *Factory) *cobra.Command {
	var asJSON bool
	var limit int
	open := func(cmd *cobra.Command) (*state.DB, error) {
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
		if asJSON {
			return writeJSON(f, runs)
		}
		if len(runs) == 0 {
			fmt.Fprintln(f.IO.Out, "No runs yet.")
			return nil
		}
		tw := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "RUN\tSTATUS\tSTARTED\tFLOW")
		for _, r := range runs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.ID, r.Status, fmtTime(r.StartedAt), r.FlowPath)
		}
		return tw.Flush()
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
			fmt.Fprintf(w, "run %s  %s  %s\n  flow %s\n", run.ID, run.Status, fmtTime(run.StartedAt), run.FlowPath)
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
			if run.Status != "ok" {
				fmt.Fprintf(w, "\nContinue it with: tokenflow run --resume %s\n", run.ID)
			}
			return nil
		},
	}
	cmd.AddCommand(listCmd, show)
	return cmd
}
