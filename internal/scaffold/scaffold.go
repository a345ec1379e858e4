// Package scaffold writes a new out-of-tree plugin module: `tokenflow plugin new NAME`.
//
// The module builds and passes its tests as written: a plugin with a read op and two write
// ops, its simulator (served by the binary's --simulate too), onboard/rotate/offboard flows,
// ops and flow tests, a Makefile and a README.
package scaffold

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"
)

//go:embed template
var files embed.FS

// Options are what the module is written with.
type Options struct {
	Name string // the vendor name: lower case letters and digits, starting with a letter
	// Module is the Go module path (default example.com/tokenflow-plugin-NAME).
	Module string
	// SDKVersion is the tokenflow version required (default v0.0.0, for use with Replace).
	SDKVersion string
	// Replace, when set, is a tokenflow checkout the module builds against.
	Replace string
}

var validName = regexp.MustCompile(`^[a-z][a-z0-9]*$`)

// Write writes the module into dir, which must not exist or be empty, and returns the
// files written, relative to dir.
func Write(dir string, o Options) ([]string, error) {
	if !validName.MatchString(o.Name) {
		return nil, fmt.Errorf("plugin name %q: use lower-case letters and digits, starting with a letter (it names the binary tokenflow-plugin-NAME and the flows' connect(\"NAME\"))", o.Name)
	}
	if o.Module == "" {
		o.Module = "example.com/tokenflow-plugin-" + o.Name
	}
	if o.SDKVersion == "" {
		o.SDKVersion = "v0.0.0"
	}
	if o.Replace != "" {
		abs, err := filepath.Abs(o.Replace)
		if err != nil {
			return nil, fmt.Errorf("--replace %s: %w", o.Replace, err)
		}
		o.Replace = abs
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("%s is not empty: give a new directory with --dir, so nothing is overwritten", dir)
	}
	data := struct {
		Options
		Env string
	}{o, strings.ToUpper(o.Name) + "_API_KEY"}
	var written []string
	err := fs.WalkDir(files, "template", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel := strings.TrimSuffix(strings.TrimPrefix(p, "template/"), ".tmpl")
		if strings.HasPrefix(rel, "flows/") {
			rel = "flows/" + o.Name + "/" + strings.TrimPrefix(rel, "flows/")
		}
		src, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		tmpl, err := template.New(rel).Delims("[[", "]]").Option("missingkey=error").Parse(string(src))
		if err != nil {
			return fmt.Errorf("template %s: %w", rel, err)
		}
		var buf bytes.Buffer
		if err := tmpl.Execute(&buf, data); err != nil {
			return fmt.Errorf("template %s: %w", rel, err)
		}
		out := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
			return err
		}
		written = append(written, rel)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("write the %s plugin in %s: %w", o.Name, dir, err)
	}
	if o.Replace != "" {
		// The checkout's sums cover every module the plugin can need, so `go mod tidy`
		// verifies them without asking the checksum database.
		sums, err := os.ReadFile(filepath.Join(o.Replace, "go.sum"))
		if err != nil {
			return nil, fmt.Errorf("--replace %s: read its go.sum: %w", o.Replace, err)
		}
		if err := os.WriteFile(filepath.Join(dir, "go.sum"), sums, 0o644); err != nil {
			return nil, err
		}
		written = append(written, "go.sum")
	}
	return written, nil
}
