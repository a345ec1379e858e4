package distributed

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Bundle reads the flow at flowPath and every .star file it could load()
// (those beside it and in libDir; default: the "lib" directory beside the
// flow's directory, as a local run loads) into a FlowInput. What the flow
// replays is then fixed at submit: editing a file later cannot change a
// running workflow.
func Bundle(flowPath, libDir string, vars map[string]string, target string) (FlowInput, error) {
	abs, err := filepath.Abs(flowPath)
	if err != nil {
		return FlowInput{}, err
	}
	if libDir == "" {
		libDir = filepath.Join(filepath.Dir(filepath.Dir(abs)), "lib")
	}
	if libDir, err = filepath.Abs(libDir); err != nil {
		return FlowInput{}, err
	}
	in := FlowInput{Flow: abs, LibDir: libDir, Sources: map[string]string{}, Vars: vars, Target: target}
	main, err := os.ReadFile(abs)
	if err != nil {
		return FlowInput{}, fmt.Errorf("read flow: %w", err)
	}
	in.Sources[abs] = string(main)
	for _, dir := range []string{filepath.Dir(abs), libDir} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.star"))
		for _, f := range files {
			if _, ok := in.Sources[f]; ok {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				return FlowInput{}, fmt.Errorf("bundle %s: %w", f, err)
			}
			in.Sources[f] = string(b)
		}
	}
	in.Hash = in.hash()
	return in, nil
}

// hash is the SHA-256 of the main file's path and every file, by path.
func (in FlowInput) hash() string {
	h := sha256.New()
	paths := make([]string, 0, len(in.Sources))
	for p := range in.Sources {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	fmt.Fprintf(h, "main %s\n", in.Flow)
	for _, p := range paths {
		fmt.Fprintf(h, "file %s %d\n%s\n", p, len(in.Sources[p]), in.Sources[p])
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (in FlowInput) check() error {
	if got := in.hash(); got != in.Hash {
		return fmt.Errorf("flow bundle does not match its hash (sha256 %.12s, submitted %.12s): submit the flow again", got, in.Hash)
	}
	if _, ok := in.Sources[in.Flow]; !ok {
		return fmt.Errorf("flow bundle lacks its main file %s", in.Flow)
	}
	return nil
}

func (in FlowInput) sourceBytes() map[string][]byte {
	m := make(map[string][]byte, len(in.Sources))
	for p, s := range in.Sources {
		m[p] = []byte(s)
	}
	return m
}

// target is the store's target of the run, as the engine defaults it.
func (in FlowInput) target() string {
	if in.Target != "" {
		return in.Target
	}
	return strings.TrimSpace(in.Vars["url"])
}

// Rehash returns in with its hash recomputed, after its sources were
// changed on purpose (tests of replay).
func Rehash(in FlowInput) FlowInput {
	in.Hash = in.hash()
	return in
}
