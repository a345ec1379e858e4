package pluginmgr

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	pb "github.com/tokenflow/tokenflow/sdk/proto/tokenflow/plugin/v1"
)

// BinaryName is the file name of a vendor's plugin.
func BinaryName(vendor string) string { return pb.BinaryPrefix + vendor }

// searchPath is the ordered list of directories to look in: the configured
// ones, then $PATH when enabled.
func (m *Manager) searchPath() []string {
	dirs := append([]string(nil), m.cfg.Dirs...)
	if m.cfg.SearchPATH {
		dirs = append(dirs, filepath.SplitList(os.Getenv("PATH"))...)
	}
	var out []string
	seen := map[string]bool{}
	for _, d := range dirs {
		if d == "" || seen[d] {
			continue
		}
		seen[d] = true
		out = append(out, d)
	}
	return out
}

// Find returns the path of the vendor's plugin binary: the first match in
// the search path. A file that exists but is not executable is an error
// rather than skipped, so a broken install is not silently shadowed.
func (m *Manager) Find(vendor string) (string, error) {
	if strings.ContainsAny(vendor, `/\.`) || vendor == "" {
		return "", fmt.Errorf("invalid vendor name %q", vendor)
	}
	name := BinaryName(vendor)
	dirs := m.searchPath()
	for _, d := range dirs {
		p := filepath.Join(d, name)
		fi, err := os.Stat(p)
		if err != nil {
			continue
		}
		if fi.IsDir() {
			return "", fmt.Errorf("plugin %s: %s is a directory", vendor, p)
		}
		if fi.Mode().Perm()&0o111 == 0 {
			return "", fmt.Errorf("plugin %s: %s is not executable (mode %v); chmod +x it or reinstall", vendor, p, fi.Mode().Perm())
		}
		return p, nil
	}
	return "", fmt.Errorf("%w: no %s in %s", ErrNotFound, name, strings.Join(dirs, ", "))
}

// Installed lists the vendors whose plugins are in the search path, sorted;
// for a vendor found twice the first one wins, as in Find.
func (m *Manager) Installed() []Installed {
	seen := map[string]bool{}
	var out []Installed
	for _, d := range m.searchPath() {
		entries, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range entries {
			name := e.Name()
			if !strings.HasPrefix(name, pb.BinaryPrefix) || e.IsDir() {
				continue
			}
			vendor := strings.TrimPrefix(name, pb.BinaryPrefix)
			if vendor == "" || strings.Contains(vendor, ".") || seen[vendor] {
				continue
			}
			seen[vendor] = true
			out = append(out, Installed{Vendor: vendor, Path: filepath.Join(d, name)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Vendor < out[j].Vendor })
	return out
}

// Installed is a plugin binary found in the search path.
type Installed struct {
	Vendor string
	Path   string
}
