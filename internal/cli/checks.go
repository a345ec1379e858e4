package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/tokenflow/tokenflow/engine"
	"github.com/tokenflow/tokenflow/engine/spell"
)

// checkVars refuses, before anything is sent, a var the flow never reads
// (--var rol=admin for a flow that reads role would silently use the
// default). A resumed run keeps its journaled vars and is not checked.
func checkVars(f *Factory, fv *engine.FlowVars, resume string, vars map[string]string) error {
	if fv == nil || resume != "" || len(vars) == 0 {
		return nil // no flow, or one the run reports as unreadable, located
	}
	if fv.Dynamic != "" {
		f.Logger().Info("--var names not checked: the flow reads a var by a computed name", "at", fv.Dynamic)
		return nil
	}
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	return fv.Unknown(names)
}

// scanFlow reads what a flow names without running it (vars, vendors);
// nil when there is no flow (a resume) or it cannot be read or parsed,
// which the run itself reports with file:line.
func scanFlow(flow, libDir string) *engine.FlowVars {
	if flow == "" {
		return nil
	}
	fv, err := engine.ScanVars(flow, libDir)
	if err != nil {
		return nil
	}
	return fv
}

// suggestFlag adds the nearest flag name to pflag's "unknown flag" error
// (--dryrun: did you mean --dry-run?).
func suggestFlag(cmd *cobra.Command, err error) error {
	name, ok := strings.CutPrefix(err.Error(), "unknown flag: --")
	if !ok {
		return err
	}
	var names []string
	add := func(fl *pflag.Flag) {
		if !fl.Hidden {
			names = append(names, fl.Name)
		}
	}
	cmd.Flags().VisitAll(add)
	cmd.InheritedFlags().VisitAll(add)
	if n := spell.Nearest(name, names); n != "" {
		return fmt.Errorf("%w (did you mean --%s?)", err, n)
	}
	return fmt.Errorf("%w (see %s --help)", err, cmd.CommandPath())
}
