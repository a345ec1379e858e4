package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/tokenflow/tokenflow/engine/pluginmgr"
	"github.com/tokenflow/tokenflow/engine/schema"
	"github.com/tokenflow/tokenflow/engine/spell"
)

// NewCmdPlugins builds `tokenflow plugins` and `plugins describe`. All of
// it comes from each plugin's Describe, never from a list kept here.
func NewCmdPlugins(f *Factory) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "plugins",
		Short: "List installed plugins and their ops",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return pluginsList(cmd.Context(), f, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print every plugin's whole schema as JSON")
	describe := &cobra.Command{
		Use:   "describe VENDOR[.OP]",
		Short: "Describe a plugin or one of its ops",
		Example: `  tokenflow plugins describe vcf
  tokenflow plugins describe vcf.issue_token`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return pluginsDescribe(cmd.Context(), f, args[0], asJSON)
		},
	}
	describe.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	cmd.AddCommand(describe)
	return cmd
}

// describeAll describes every installed plugin, launching only those
// whose binary changed since it was last described (see pluginmgr's
// cache). paths maps each vendor to its binary.
func describeAll(ctx context.Context, m *pluginmgr.Manager) (out []*schema.Schema, paths map[string]string, errs []error) {
	paths = map[string]string{}
	for _, in := range m.Installed() {
		s, path, err := m.Describe(ctx, in.Vendor)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, s)
		paths[s.Name] = path
	}
	return out, paths, errs
}

func pluginsList(ctx context.Context, f *Factory, asJSON bool) error {
	m := f.Plugins()
	defer m.Close()
	schemas, paths, errs := describeAll(ctx, m)
	for _, err := range errs {
		fmt.Fprintf(f.IO.ErrOut, "warning: %v\n", err)
	}
	if asJSON {
		return writeJSON(f, schemas)
	}
	if len(schemas) == 0 {
		fmt.Fprintf(f.IO.Out, "No plugins found in %s or $PATH.\n", strings.Join(f.PluginSearchDirs(), ", "))
		return nil
	}
	tw := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VENDOR\tVERSION\tOPS\tPATH")
	for _, s := range schemas {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", s.Name, s.Version, len(s.Ops), paths[s.Name])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(f.IO.Out, "\n`tokenflow plugins describe VENDOR` lists a plugin's ops.")
	return nil
}

func pluginsDescribe(ctx context.Context, f *Factory, target string, asJSON bool) error {
	vendor, opName, _ := strings.Cut(target, ".")
	m := f.Plugins()
	defer m.Close()
	s, _, err := m.Describe(ctx, vendor)
	if err != nil {
		return err
	}
	if opName == "" {
		if asJSON {
			return writeJSON(f, s)
		}
		fmt.Fprintf(f.IO.Out, "%s %s: %s\n\nconnect(%q, %s)\n\n", s.Name, s.Version, s.Doc, s.Name, schema.FieldList(s.Connection))
		for _, op := range s.Ops {
			fmt.Fprintf(f.IO.Out, "  %-20s %-5s  %s\n", op.Name, op.Effect, op.Doc)
		}
		return nil
	}
	op := s.Op(opName)
	if op == nil {
		return fmt.Errorf("%s has no op %q%s; its ops are: %s", vendor, opName, spell.Hint(opName, s.OpNames()), strings.Join(s.OpNames(), ", "))
	}
	if asJSON {
		return writeJSON(f, op)
	}
	w := f.IO.Out
	fmt.Fprintf(w, "%s\n\n  %s\n  effect: %s\n", op.Signature(), op.Doc, op.Effect)
	printFields := func(title string, fields []schema.Field) {
		if len(fields) == 0 {
			return
		}
		fmt.Fprintf(w, "\n%s:\n", title)
		for _, fl := range fields {
			extra := ""
			if fl.Required {
				extra = " (required)"
			} else if fl.DefaultJSON != "" {
				extra = " = " + fl.DefaultJSON
			}
			if fl.Secret {
				extra += " [secret]"
			}
			fmt.Fprintf(w, "  %-20s %-9s%s  %s\n", fl.Name, fl.Type, extra, fl.Doc)
		}
	}
	printFields("Parameters", op.Params)
	printFields("Results", op.Results)
	return nil
}

func writeJSON(f *Factory, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(f.IO.Out, string(b))
	return err
}
