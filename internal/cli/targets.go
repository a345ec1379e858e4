package cli

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/tokenflow/tokenflow/engine/hostnet"
	"github.com/tokenflow/tokenflow/engine/inventory"
)

// NewCmdTargets builds `tokenflow targets list|check FILE`.
func NewCmdTargets(f *Factory) *cobra.Command {
	var asJSON bool
	var limit string
	cmd := &cobra.Command{
		Use:   "targets",
		Short: "Inspect an inventory (targets file): list its targets, check they answer",
		Long: `An inventory lists the targets a fleet run applies a flow to (see
docs/inventory.md). "targets list" parses it and prints every target; "targets
check" also resolves every credential reference and makes one unauthenticated
HTTPS read of each target's URL with its TLS settings, reporting which answer.`,
	}
	cmd.PersistentFlags().BoolVar(&asJSON, "json", false, "print as JSON")
	cmd.PersistentFlags().StringVar(&limit, "limit", "", "only these groups, targets or globs (comma-separated; !x excludes)")

	list := &cobra.Command{
		Use:   "list FILE",
		Short: "Parse an inventory and list its targets",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, targets, err := fleetTargets(f, args[0], limit)
			if err != nil {
				return err
			}
			if asJSON {
				out := make([]map[string]any, 0, len(targets))
				for _, t := range targets {
					out = append(out, targetJSON(t))
				}
				return writeJSON(f, out)
			}
			tw := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TARGET\tVENDOR\tURL\tGROUPS\tCREDENTIALS\tLABELS")
			for _, t := range targets {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.Name, t.Vendor, t.URL, orDash(strings.Join(t.Groups, ",")),
					orDash(credentialList(t)), fmtLabels(t.Labels))
			}
			return tw.Flush()
		},
	}

	var timeout time.Duration
	var parallel int
	check := &cobra.Command{
		Use:   "check FILE",
		Short: "Parse an inventory, resolve its credential references and read each target once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, targets, err := fleetTargets(f, args[0], limit)
			if err != nil {
				return err
			}
			results := checkTargets(cmd.Context(), f, targets, timeout, parallel)
			failed := 0
			for _, r := range results {
				if r.Error != "" {
					failed++
				}
			}
			if asJSON {
				if err := writeJSON(f, results); err != nil {
					return err
				}
			} else {
				tw := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "TARGET\tCREDENTIALS\tANSWER")
				for _, r := range results {
					answer := fmt.Sprintf("HTTP %d in %dms", r.Status, r.MS)
					if r.Error != "" {
						answer = r.Error
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Target, r.Credentials, answer)
				}
				tw.Flush()
				fmt.Fprintf(f.IO.Out, "\n%d of %d target(s) answered.\n", len(results)-failed, len(results))
			}
			if failed > 0 {
				return &SilentError{fmt.Errorf("%d target(s) did not pass the check", failed)}
			}
			return nil
		},
	}
	check.Flags().DurationVar(&timeout, "timeout", 10*time.Second, "how long each target may take to answer")
	check.Flags().IntVar(&parallel, "parallel", 16, "how many targets are checked at once")
	cmd.AddCommand(list, check)
	return cmd
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// credentialList names a target's credentials and where they come from
// ("ACME_PASSWORD=env:EAST_PW"): references, never values.
func credentialList(t *inventory.Target) string {
	parts := make([]string, 0, len(t.Credentials))
	for name, r := range t.Credentials {
		parts = append(parts, name+"="+r.String())
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

func targetJSON(t *inventory.Target) map[string]any {
	refs := map[string]string{}
	for name, r := range t.Credentials {
		refs[name] = r.String()
	}
	return map[string]any{
		"name": t.Name, "vendor": t.Vendor, "url": t.URL, "groups": t.Groups, "labels": t.Labels, "vars": t.Vars,
		"credentials": refs, "ca_file": t.CAFile, "pin": t.Pin, "insecure": t.Insecure, "defined_at": t.Pos,
	}
}

// checkResult is one target's line of `targets check`.
type checkResult struct {
	Target      string `json:"target"`
	Credentials string `json:"credentials"` // "ok", or what failed
	Status      int    `json:"status,omitempty"`
	MS          int64  `json:"ms"`
	Error       string `json:"error,omitempty"`
}

func checkTargets(ctx context.Context, f *Factory, targets []*inventory.Target, timeout time.Duration, parallel int) []checkResult {
	results := make([]checkResult, len(targets))
	sem := make(chan struct{}, max(parallel, 1))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			r := checkResult{Target: t.Name, Credentials: "ok"}
			if len(t.Credentials) == 0 {
				r.Credentials = "none"
			}
			values, err := t.Resolve(f.Getenv)
			if err != nil {
				r.Credentials = "unresolved"
				r.Error = f.Redactor.String(err.Error())
			}
			for _, v := range values {
				f.Redactor.Add(v)
			}
			if r.Error == "" {
				conn, err := hostnet.NewConn("check", t.Vendor, t.URL, t.CAFile, t.Insecure)
				if err == nil {
					conn.Pin = t.Pin
					var d time.Duration
					r.Status, d, err = hostnet.Probe(ctx, conn, timeout)
					r.MS = d.Milliseconds()
				}
				if err != nil {
					r.Error = f.Redactor.String(err.Error())
				}
			}
			results[i] = r
		}()
	}
	wg.Wait()
	return results
}
