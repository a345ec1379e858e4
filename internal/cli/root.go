// Package cli holds tokenflow's commands. They are thin: flags, wiring and
// printing; the work is done by the engine.
package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/spf13/cobra"

	// The shipped vendors' simulators and demo scenarios, registered from
	// their own folders.
	_ "github.com/tokenflow/tokenflow/internal/intree"
)

// Main runs the CLI with the process's arguments and returns the exit code.
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// TOKENFLOW_CPUPROFILE=FILE writes a CPU profile of the command, for
	// finding where a slow run spends its time (go tool pprof FILE).
	if path := os.Getenv("TOKENFLOW_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			pprof.StartCPUProfile(f)
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	return Run(ctx, os.Args[1:], System())
}

// Run runs the CLI with the given arguments and streams.
func Run(ctx context.Context, args []string, io *IOStreams) int {
	f := newFactory(io)
	defer f.Close()
	return execute(ctx, f, args)
}

// execute runs one command line on a factory, prints its error (unless the
// command printed already) and returns the exit code.
func execute(ctx context.Context, f *Factory, args []string) int {
	root := NewCmdRoot(f)
	root.SetArgs(args)
	root.SetIn(f.IO.In)
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	err := executeRecover(ctx, root, f)
	var silent *SilentError
	var pending *PendingError
	if err != nil && !errors.As(err, &silent) && !errors.As(err, &pending) {
		fmt.Fprintf(f.IO.ErrOut, "Error: %s\n", f.Redactor.String(err.Error()))
	}
	return exitCode(err)
}

// executeRecover runs the command tree; a panic in it becomes an internal
// error with what to report, never a goroutine dump.
func executeRecover(ctx context.Context, root *cobra.Command, f *Factory) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = internalError(f, p)
		}
	}()
	return root.ExecuteContext(ctx)
}

// NewCmdRoot builds the command tree.
func NewCmdRoot(f *Factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "tokenflow",
		Short: "Issue, store, rotate and revoke vendor API tokens with repeatable flows",
		Long: `tokenflow runs Starlark flows that manage vendor API tokens through
separately built plugins (one per vendor). Every flow can be dry-run, every
vendor exchange recorded and replayed, and every vendor has a simulator.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(suggestFlag)
	root.SuggestionsMinimumDistance = 2
	root.PersistentFlags().StringVar(&f.LogLevel, "log-level", "warn", "log level on stderr: trace, debug, info, warn, error")
	root.PersistentFlags().StringArrayVar(&f.PluginDirs, "plugin-dir", nil, "directory to search for plugins first (repeatable)")
	root.PersistentFlags().StringVar(&f.StateDir, "state", "", "state `DIR` (journal and token store), or a postgres:// URL for a state shared between machines (default $TOKENFLOW_STATE_DIR, else $XDG_STATE_HOME/tokenflow)")
	root.PersistentFlags().StringVar(&f.LockFile, "lock", "", "plugin lock `FILE` (default: tokenflow.lock in the flow's directory or a parent; tokenflow plugins lock writes ./tokenflow.lock)")
	root.PersistentFlags().BoolVar(&f.NoState, "no-state", false, "run without the state database: no journal, an empty in-memory token store")
	root.AddCommand(
		NewCmdRun(f, nil),
		NewCmdRotate(f),
		NewCmdTargets(f),
		NewCmdPlugins(f),
		NewCmdPlugin(f),
		NewCmdSim(f, nil),
		NewCmdTokens(f),
		NewCmdRuns(f),
		NewCmdRevoke(f),
		NewCmdDemo(f, nil),
		NewCmdVersion(f),
		NewCmdWorker(f),
		NewCmdSchedule(f),
	)
	return root
}
