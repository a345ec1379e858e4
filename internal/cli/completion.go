package cli

import (
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/tokenflow/tokenflow/engine"
)

// Shell completion (tokenflow completion bash|zsh|fish) of what only the
// state database or the flow knows. A completion never fails loudly: the
// shell gets no candidates instead.

type completeFunc = func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective)

// completeRunIDs lists journaled runs, newest first; resumable keeps only
// the runs that did not complete (what --resume accepts).
func completeRunIDs(f *Factory, resumable bool) completeFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		st, err := f.State(cmd.Context())
		if err != nil || st == nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		runs, err := st.Runs(cmd.Context(), 200)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []string
		for _, r := range runs {
			if resumable && r.Status == "ok" {
				continue
			}
			if strings.HasPrefix(r.ID, toComplete) {
				out = append(out, fmt.Sprintf("%s\t%s %s", r.ID, r.Status, r.FlowPath))
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveKeepOrder
	}
}

// completeTokenNames lists the stored tokens' names (the first argument
// of tokens show).
func completeTokenNames(f *Factory) completeFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		st, err := f.State(cmd.Context())
		if err != nil || st == nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		tokens, err := st.List(cmd.Context())
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		seen := map[string]bool{}
		var out []string
		for _, t := range tokens {
			if !seen[t.Name] && strings.HasPrefix(t.Name, toComplete) {
				seen[t.Name] = true
				out = append(out, t.Name)
			}
		}
		sort.Strings(out)
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeFlowVars lists the vars the flow (the first argument) reads, as
// "name=", by the same scan that refuses unknown vars.
func completeFlowVars(opts *RunOptions) completeFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) == 0 || strings.Contains(toComplete, "=") {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		fv, err := engine.ScanVars(args[0], opts.LibDir)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []string
		for _, n := range fv.Names {
			if strings.HasPrefix(n, toComplete) {
				out = append(out, n+"=")
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	}
}

// completeFlowFile offers .star files for a command's FLOW argument.
func completeFlowFile(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return []string{"star"}, cobra.ShellCompDirectiveFilterFileExt
}
