package simulators

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/renameio/v2"
	"gopkg.in/yaml.v3"
)

// The inventory shape (docs: the targets file spec). Structs keep the keys
// in the spec's order; maps come out sorted, which for zero-padded instance
// names is their numeric order.
type (
	inventory struct {
		Groups map[string]invGroup `yaml:"groups"`
	}
	invGroup struct {
		Vars    map[string]string    `yaml:"vars,omitempty"`
		Targets map[string]invTarget `yaml:"targets"`
	}
	invTarget struct {
		Vendor      string            `yaml:"vendor"`
		URL         string            `yaml:"url"`
		TLS         *invTLS           `yaml:"tls,omitempty"`
		Credentials map[string]string `yaml:"credentials,omitempty"`
		Vars        map[string]string `yaml:"vars,omitempty"`
	}
	invTLS struct {
		CAFile string `yaml:"ca_file"`
	}
)

// Env returns the environment variables the fleet's inventory references,
// each with the value that works against the simulators (the default
// account password, or one the simulator accepts for an account to create).
func (f *Fleet) Env() map[string]string {
	out := map[string]string{}
	for _, r := range f.Instances {
		if r.PasswordEnv != "" {
			out[r.PasswordEnv] = r.Password
		}
		for k, v := range r.Env {
			out[k] = v
		}
	}
	return out
}

// WriteInventory writes a targets file describing the fleet to path, atomically
// with mode 0600: one group per vendor holding its instances, each with its URL,
// the CA, and credentials as references (env: for passwords, file: for key
// files), plus the variables the vendor's shipped flows need.
func (f *Fleet) WriteInventory(path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("write inventory %s: %w", path, err)
	}
	base := filepath.Dir(abs)
	inv := inventory{Groups: map[string]invGroup{}}
	for _, r := range f.Instances {
		g, ok := inv.Groups[r.Vendor]
		if !ok {
			g = invGroup{Vars: r.FlowVars, Targets: map[string]invTarget{}}
		}
		t := invTarget{Vendor: r.Vendor, URL: r.Server.URL, Credentials: map[string]string{}}
		if f.CAFile != "" {
			t.TLS = &invTLS{CAFile: relIfBelow(base, f.CAFile)}
		}
		if r.PasswordEnv != "" {
			t.Credentials[r.PasswordEnv] = "env:" + r.PasswordEnv
		}
		for e := range r.Env {
			t.Credentials[e] = "env:" + e
		}
		for name, file := range r.Files {
			t.Credentials[name] = "file:" + relIfBelow(base, file)
		}
		if r.TargetVars != nil {
			dir := filepath.Join(f.dir, r.Name)
			// The flow writes its file there; the directory must exist.
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return fmt.Errorf("write inventory %s: %w", path, err)
			}
			t.Vars = r.TargetVars(dir)
		}
		g.Targets[r.Name] = t
		inv.Groups[r.Vendor] = g
	}
	var buf bytes.Buffer
	buf.WriteString(f.inventoryHeader())
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(inv); err != nil {
		return fmt.Errorf("write inventory %s: %w", path, err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("write inventory %s: %w", path, err)
	}
	if err := renameio.WriteFile(abs, buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("write inventory %s: %w", path, err)
	}
	return nil
}

// inventoryHeader is a comment naming what the file describes and the
// variables to export (names only: the file holds no secret).
func (f *Fleet) inventoryHeader() string {
	counts := f.Counts()
	vendors := make([]string, 0, len(counts))
	for v := range counts {
		vendors = append(vendors, fmt.Sprintf("%d %s", counts[v], v))
	}
	sort.Strings(vendors)
	env := make([]string, 0)
	for k := range f.Env() {
		env = append(env, k)
	}
	sort.Strings(env)
	h := fmt.Sprintf("# Simulated fleet (tokenflow sim --targets): %s, on loopback.\n", strings.Join(vendors, ", "))
	if len(env) > 0 {
		h += "# Credentials are read from: " + strings.Join(env, ", ") + " (tokenflow sim prints their values).\n"
	}
	return h
}

// relIfBelow returns path relative to base when it lies in base or below,
// else path itself (absolute).
func relIfBelow(base, path string) string {
	rel, err := filepath.Rel(base, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return path
	}
	return filepath.ToSlash(rel)
}
