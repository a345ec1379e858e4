package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
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
		Example: `  tokenflow plugins describe acme
  tokenflow plugins describe acme.issue_token`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return pluginsDescribe(cmd.Context(), f, args[0], asJSON)
		},
	}
	describe.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	lock := &cobra.Command{
		Use:   "lock [VENDOR...]",
		Short: "Pin the installed plugin binaries in tokenflow.lock",
		Long: `Writes tokenflow.lock in the current directory (or the file --lock names):
each plugin's vendor, version, protocol, binary path and SHA-256. A run finds
the lock in its flow's directory or a parent (or takes --lock) and refuses a
plugin binary that does not match it, one found before the locked one in the
search path, and one not in the lock. Commit the lock beside your flows.

With VENDOR arguments only those plugins are (re)locked; the lock's other
entries are kept.`,
		Example: `  tokenflow plugins lock
  tokenflow plugins lock acme       # after upgrading the acme plugin`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return pluginsLock(cmd.Context(), f, args)
		},
	}
	cmd.AddCommand(describe, lock)
	return cmd
}

// PluginLock returns the lock a run of flow must honour: --lock, else the
// tokenflow.lock found from the flow's directory upward; nil when there is
// none.
func (f *Factory) PluginLock(flow string) (*pluginmgr.Lock, error) {
	path := f.LockFile
	if path == "" {
		found, err := pluginmgr.FindLock(filepath.Dir(flow))
		if err != nil || found == "" {
			return nil, err
		}
		path = found
	}
	return pluginmgr.LoadLock(path)
}

func pluginsLock(ctx context.Context, f *Factory, vendors []string) error {
	path := f.LockFile
	if path == "" {
		path = pluginmgr.LockFileName
	}
	m := f.Plugins()
	defer m.Close()
	var entries []pluginmgr.LockedPlugin
	if len(vendors) > 0 {
		if old, err := pluginmgr.LoadLock(path); err == nil {
			keep := map[string]bool{}
			for _, v := range vendors {
				keep[v] = true
			}
			for _, e := range old.Plugins {
				if !keep[e.Vendor] {
					entries = append(entries, e)
				}
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	} else {
		for _, in := range m.Installed() {
			vendors = append(vendors, in.Vendor)
		}
	}
	if len(vendors) == 0 {
		return fmt.Errorf("no plugins found in %s or $PATH: nothing to lock", strings.Join(f.PluginSearchDirs(), ", "))
	}
	for _, v := range vendors {
		// Starting the plugin proves it speaks this tokenflow's protocol
		// and gives its version; the hash is of the binary that answered.
		p, err := m.Get(ctx, v)
		if err != nil {
			return fmt.Errorf("lock %s: %w", v, err)
		}
		bin := m.Path(v)
		sum, err := pluginmgr.FileSHA256(bin)
		if err != nil {
			return fmt.Errorf("lock %s: %w", v, err)
		}
		entries = append(entries, pluginmgr.LockedPlugin{
			Vendor: v, Version: p.Schema().Version, SHA256: sum, Path: bin,
		})
	}
	l, err := pluginmgr.NewLock(entries)
	if err != nil {
		return err
	}
	if err := l.Write(path); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VENDOR\tVERSION\tSHA256\tPATH")
	for _, e := range l.Plugins {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.Vendor, e.Version, e.SHA256[:12], e.Path)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(f.IO.Out, "\nWrote %s: runs of flows in this directory tree now use only these binaries.\n", path)
	return nil
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
	if op.Get != "" {
		fmt.Fprintf(w, "  declared read: GET %s (after its first call on a connection, tokenflow sends it without the plugin)\n", op.Get)
	}
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
