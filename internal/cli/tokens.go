package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"
	"github.com/tokenflow/tokenflow/engine/store"
	"github.com/tokenflow/tokenflow/engine/value"
)

// tokenJSON is what --json shows of a token: never its value.
type tokenJSON struct {
	Name      string            `json:"name"`
	Vendor    string            `json:"vendor"`
	Target    string            `json:"target"`
	State     string            `json:"state"`
	ExpiresAt *time.Time        `json:"expires_at,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
	RotatedAt *time.Time        `json:"rotated_at,omitempty"`
	RunID     string            `json:"run_id,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func toTokenJSON(t store.Token) tokenJSON {
	return tokenJSON{Name: t.Name, Vendor: t.Vendor, Target: t.Target, State: t.State, ExpiresAt: optTime(t.ExpiresAt),
		CreatedAt: t.CreatedAt.UTC(), RotatedAt: optTime(t.RotatedAt), RunID: t.RunID, Labels: t.Labels}
}

// NewCmdTokens builds `tokenflow tokens [list|show NAME]`.
func NewCmdTokens(f *Factory) *cobra.Command {
	var asJSON bool
	var expiring string
	list := func(cmd *cobra.Command, args []string) error {
		st, err := f.State(cmd.Context())
		if err != nil {
			return err
		}
		if st == nil {
			return fmt.Errorf("tokens needs the state database (drop --no-state)")
		}
		tokens, err := st.List(cmd.Context())
		if err != nil {
			return err
		}
		if expiring != "" {
			d, err := value.ParseDuration(expiring)
			if err != nil {
				return fmt.Errorf("--expiring: %w", err)
			}
			deadline := time.Now().Add(d)
			kept := tokens[:0]
			for _, t := range tokens {
				if !t.ExpiresAt.IsZero() && t.ExpiresAt.Before(deadline) {
					kept = append(kept, t)
				}
			}
			tokens = kept
		}
		if asJSON {
			out := make([]tokenJSON, 0, len(tokens))
			for _, t := range tokens {
				out = append(out, toTokenJSON(t))
			}
			return writeJSON(f, out)
		}
		if len(tokens) == 0 {
			fmt.Fprintf(f.IO.Out, "No tokens in %s.\n", st.Location())
			return nil
		}
		tw := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TARGET\tNAME\tVENDOR\tEXPIRES\tLAST ROTATION")
		for _, t := range tokens {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.Target, t.Name, t.Vendor, fmtTime(t.ExpiresAt), fmtTime(t.RotatedAt))
		}
		return tw.Flush()
	}
	cmd := &cobra.Command{
		Use:   "tokens",
		Short: "List stored tokens (never their values)",
		Args:  cobra.NoArgs,
		RunE:  list,
	}
	cmd.PersistentFlags().BoolVar(&asJSON, "json", false, "print as JSON")
	cmd.Flags().StringVar(&expiring, "expiring", "", "only tokens expiring within this duration (e.g. 7d)")
	listCmd := &cobra.Command{Use: "list", Short: "List stored tokens", Args: cobra.NoArgs, RunE: list}
	listCmd.Flags().StringVar(&expiring, "expiring", "", "only tokens expiring within this duration (e.g. 7d)")

	var reveal bool
	var target string
	show := &cobra.Command{
		Use:               "show NAME [--target TARGET]",
		Short:             "Show a token's versions; --reveal prints the current value",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeTokenNames(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := f.State(cmd.Context())
			if err != nil {
				return err
			}
			if st == nil {
				return fmt.Errorf("tokens needs the state database (drop --no-state)")
			}
			target, err := tokenTarget(cmd.Context(), st, args[0], target, cmd.Flags().Changed("target"))
			if err != nil {
				return err
			}
			versions, err := st.Versions(cmd.Context(), target, args[0])
			if err != nil {
				return err
			}
			if len(versions) == 0 {
				return fmt.Errorf("no token %q", args[0])
			}
			if reveal {
				cur, err := st.Get(cmd.Context(), target, args[0])
				if err != nil {
					return fmt.Errorf("%q has no current version", args[0])
				}
				if err := confirmReveal(f, args[0]); err != nil {
					return err
				}
				fmt.Fprintln(f.IO.Out, cur.Value)
				return nil
			}
			if asJSON {
				out := make([]tokenJSON, 0, len(versions))
				for _, t := range versions {
					out = append(out, toTokenJSON(t))
				}
				return writeJSON(f, out)
			}
			tw := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "STATE\tCREATED\tEXPIRES\tRUN\tLABELS")
			for _, t := range versions {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.State, fmtTime(t.CreatedAt), fmtTime(t.ExpiresAt), t.RunID, fmtLabels(t.Labels))
			}
			return tw.Flush()
		},
	}
	show.Flags().BoolVar(&reveal, "reveal", false, "print the current value (asks for confirmation on a terminal)")
	show.Flags().StringVar(&target, "target", "", "the target the token belongs to (needed when several targets hold the name)")
	cmd.AddCommand(listCmd, show)
	return cmd
}

// tokenTarget finds the target of a token name when --target was not given:
// the one target whose current tokens include the name.
func tokenTarget(ctx context.Context, st store.Store, name, target string, given bool) (string, error) {
	if given {
		return target, nil
	}
	tokens, err := st.List(ctx)
	if err != nil {
		return "", err
	}
	var targets []string
	for _, t := range tokens {
		if t.Name == name {
			targets = append(targets, t.Target)
		}
	}
	switch len(targets) {
	case 0:
		return "", nil // the versions lookup says "no token"
	case 1:
		return targets[0], nil
	}
	return "", fmt.Errorf("%d targets hold a token %q (%s); pick one with --target", len(targets), name, strings.Join(targets, ", "))
}

// confirmReveal asks a person at a terminal to type the token's name; a
// script (no terminal) asked for --reveal explicitly.
func confirmReveal(f *Factory, name string) error {
	in, ok := f.IO.In.(interface{ Fd() uintptr })
	if !ok || !isTerminal(in.Fd()) {
		return nil
	}
	fmt.Fprintf(f.IO.ErrOut, "This prints the secret value of %q. Type the token name to confirm: ", name)
	var answer string
	fmt.Fscanln(f.IO.In, &answer)
	if answer != name {
		return fmt.Errorf("not confirmed; nothing printed")
	}
	return nil
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func fmtLabels(l map[string]string) string {
	if len(l) == 0 {
		return "-"
	}
	b, _ := json.Marshal(l)
	return strings.Trim(string(b), "{}")
}

func isTerminal(fd uintptr) bool { return isatty.IsTerminal(fd) }
