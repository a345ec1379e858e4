package cli

import (
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/tokenflow/tokenflow/engine/distributed"
	"github.com/tokenflow/tokenflow/engine/value"
)

// NewCmdSchedule builds `tokenflow schedule create|list|delete`.
func NewCmdSchedule(f *Factory) *cobra.Command {
	var t TemporalOptions
	cmd := &cobra.Command{
		Use:   "schedule",
		Short: "Run a flow on Temporal at an interval (Temporal Schedules)",
		Long: `A schedule runs a flow on the workers of a Temporal namespace every
interval. The flow, its loaded files and the targets file are read once, when
the schedule is created: every run is the same flow, whatever happens to the
files later (delete and create the schedule again to change it). A run due
while the previous one is still going is skipped; --jitter delays each run by a
random time up to it so schedules created together do not hit the vendors at
once. With --due, a run skips the targets none of whose stored tokens is due
within the window (as tokenflow rotate --due decides); a target with no token
is due.`,
		Example: `  tokenflow schedule create vcf-rotate --every 1h --jitter 10m --due 7d \
      --temporal temporal.example:7233 -- flows/vcf/rotate.star --targets fleet.yaml
  tokenflow schedule list --temporal temporal.example:7233
  tokenflow schedule delete vcf-rotate --temporal temporal.example:7233`,
	}
	t.persistentFlags(cmd)
	cmd.AddCommand(newCmdScheduleCreate(f, &t), newCmdScheduleList(f, &t), newCmdScheduleDelete(f, &t))
	return cmd
}

// persistentFlags are --temporal, --namespace and --task-queue for every
// schedule subcommand.
func (o *TemporalOptions) persistentFlags(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&o.HostPort, "temporal", "", "the Temporal frontend at `HOST:PORT`")
	cmd.PersistentFlags().StringVar(&o.Namespace, "namespace", "default", "the Temporal namespace")
	cmd.PersistentFlags().StringVar(&o.TaskQueue, "task-queue", distributed.DefaultTaskQueue, "the task queue the scheduled flows go to (the workers')")
}

func (o *TemporalOptions) required(what string) error {
	if o.HostPort == "" {
		return fmt.Errorf("schedule %s needs --temporal HOST:PORT (the Temporal frontend the workers use)", what)
	}
	return nil
}

// scheduledFlow is what follows "--" in schedule create.
type scheduledFlow struct {
	flow, targets, limit, varsFile, libDir string
	vars                                   []string
}

func parseScheduledFlow(args []string) (*scheduledFlow, error) {
	var s scheduledFlow
	fs := pflag.NewFlagSet("flow", pflag.ContinueOnError)
	fs.Usage = func() {}
	fs.StringVar(&s.targets, "targets", "", "")
	fs.StringVar(&s.limit, "limit", "", "")
	fs.StringVar(&s.varsFile, "vars", "", "")
	fs.StringVar(&s.libDir, "lib", "", "")
	fs.StringArrayVar(&s.vars, "var", nil, "")
	if err := fs.Parse(args); err != nil {
		return nil, fmt.Errorf("after --: %w (want FLOW [--targets FILE] [--limit L] [--var k=v]... [--vars FILE] [--lib DIR])", err)
	}
	if fs.NArg() != 1 {
		return nil, fmt.Errorf("after -- give one flow file and its options, got %q (for example: -- flows/vcf/rotate.star --targets fleet.yaml)", strings.Join(fs.Args(), " "))
	}
	s.flow = fs.Arg(0)
	return &s, nil
}

func newCmdScheduleCreate(f *Factory, t *TemporalOptions) *cobra.Command {
	var every, jitter, due string
	cmd := &cobra.Command{
		Use:   "create NAME --every DURATION [--jitter DURATION] [--due WINDOW] -- FLOW [--targets FILE] [--var k=v]...",
		Short: "Create a schedule that runs a flow every interval",
		RunE: func(cmd *cobra.Command, args []string) error {
			dash := cmd.ArgsLenAtDash()
			if dash != 1 || len(args) < 2 {
				return fmt.Errorf("schedule create wants NAME, then -- and the flow: schedule create NAME --every 1h -- FLOW [--targets FILE]")
			}
			if err := t.required("create"); err != nil {
				return err
			}
			spec := distributed.ScheduleSpec{TaskQueue: t.TaskQueue}
			var in distributed.ScheduleInput
			var err error
			if spec.Every, err = durationFlag("--every", every, true); err != nil {
				return err
			}
			if spec.Jitter, err = durationFlag("--jitter", jitter, false); err != nil {
				return err
			}
			if in.Due, err = durationFlag("--due", due, false); err != nil {
				return err
			}
			sf, err := parseScheduledFlow(args[1:])
			if err != nil {
				return err
			}
			vars, err := parseVars(sf.varsFile, sf.vars)
			if err != nil {
				return err
			}
			if in.Flow, err = distributed.Bundle(sf.flow, sf.libDir, vars, ""); err != nil {
				return err
			}
			if sf.targets != "" {
				_, targets, err := fleetTargets(f, sf.targets, sf.limit)
				if err != nil {
					return err
				}
				invPath, _ := filepath.Abs(sf.targets)
				if err := noInventoryProxy(targets); err != nil {
					return err
				}
				for _, tg := range targets {
					// The same input a --targets run submits, less the
					// command's vars, which the bundle holds.
					ti := targetInput(distributed.FlowInput{}, nil, invPath, tg, false)
					in.Targets = append(in.Targets, distributed.ScheduledTarget{
						Name: tg.Name, Site: tg.Labels["site"], Vars: tg.Vars, Credentials: ti.Credentials, TLS: ti.TLS,
						Info: ti.TargetInfo,
					})
				}
			}
			c, err := t.dial(f)
			if err != nil {
				return err
			}
			defer c.Close()
			if err := distributed.CreateSchedule(cmd.Context(), c, args[0], spec, in); err != nil {
				return err
			}
			what := "once a run"
			if n := len(in.Targets); n > 0 {
				what = fmt.Sprintf("on %d targets", n)
			}
			fmt.Fprintf(f.IO.Out, "Created schedule %s: %s %s every %s", args[0], filepath.Base(sf.flow), what, spec.Every)
			if spec.Jitter > 0 {
				fmt.Fprintf(f.IO.Out, " (jitter %s)", spec.Jitter)
			}
			if in.Due > 0 {
				fmt.Fprintf(f.IO.Out, ", skipping targets with no token due within %s", in.Due)
			}
			fmt.Fprintf(f.IO.Out, "; workers on task queue %s run it.\n", spec.TaskQueue)
			return nil
		},
	}
	cmd.Flags().StringVar(&every, "every", "", "run the flow every `DURATION` (e.g. 1h, 1d)")
	cmd.Flags().StringVar(&jitter, "jitter", "", "delay each run by a random time up to `DURATION`")
	cmd.Flags().StringVar(&due, "due", "", "run only on targets with a token due within `WINDOW` (e.g. 7d), or no token")
	return cmd
}

func durationFlag(name, s string, required bool) (time.Duration, error) {
	if s == "" {
		if required {
			return 0, fmt.Errorf("schedule create needs %s DURATION (for example %s 1h)", name, name)
		}
		return 0, nil
	}
	d, err := value.ParseDuration(s)
	if err == nil && d <= 0 {
		err = fmt.Errorf("want a positive duration")
	}
	if err != nil {
		return 0, fmt.Errorf("%s %q: %w", name, s, err)
	}
	return d, nil
}

func newCmdScheduleList(f *Factory, t *TemporalOptions) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the tokenflow schedules of the namespace",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := t.required("list"); err != nil {
				return err
			}
			c, err := t.dial(f)
			if err != nil {
				return err
			}
			defer c.Close()
			list, err := distributed.ListSchedules(cmd.Context(), c)
			if err != nil {
				return err
			}
			if asJSON {
				if list == nil {
					list = []distributed.ScheduleInfo{}
				}
				return writeJSON(f, list)
			}
			if len(list) == 0 {
				fmt.Fprintln(f.IO.ErrOut, "No schedules (tokenflow schedule create makes one).")
				return nil
			}
			tw := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tEVERY\tJITTER\tNEXT\tRECENT\tWHAT")
			for _, s := range list {
				next := "-"
				if !s.Next.IsZero() {
					next = s.Next.UTC().Format(time.RFC3339)
				}
				if s.Paused {
					next = "paused"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", s.Name, orDash(strings.Join(s.Every, ",")), orDash(s.Jitter), next, len(s.Actions), orDash(s.Note))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}

func newCmdScheduleDelete(f *Factory, t *TemporalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a schedule (runs it started go on)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := t.required("delete"); err != nil {
				return err
			}
			c, err := t.dial(f)
			if err != nil {
				return err
			}
			defer c.Close()
			if err := distributed.DeleteSchedule(cmd.Context(), c, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "Deleted schedule %s.\n", args[0])
			return nil
		},
	}
}
