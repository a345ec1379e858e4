package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/tokenflow/tokenflow/engine/spell"
	"go.starlark.net/syntax"
)

// FlowVars is what a flow reads with var(), found without running it.
type FlowVars struct {
	// Names are the var names the flow and the files it loads pass to
	// var() as a literal, sorted.
	Names []string
	// Dynamic names a call var(<expression>) (file:line): the flow may read
	// a var no scan can name, so unknown vars cannot be told.
	Dynamic string
	// Vendors are the vendors the flow and the files it loads pass to
	// connect() as a literal, sorted: the plugins a run will likely start
	// (Runtime.Prestart). A vendor named by an expression is not listed.
	Vendors []string
}

// implicitVars are read by the engine itself, whatever the flow says:
// url names the token store's target (Options.Target).
var implicitVars = []string{"url"}

// ScanVars parses the flow at flowPath and every file it load()s (from the
// flow's directory, then libDir, as a run resolves them; libDir "" is the
// run's default) and collects the names given to var(). Nothing runs.
func ScanVars(flowPath, libDir string) (*FlowVars, error) {
	abs, err := filepath.Abs(flowPath)
	if err != nil {
		return nil, err
	}
	if libDir == "" {
		libDir = filepath.Join(filepath.Dir(filepath.Dir(abs)), "lib")
	}
	s := &varScan{flowDir: filepath.Dir(abs), libDir: libDir, names: map[string]bool{}, vendors: map[string]bool{}, seen: map[string]bool{}}
	if err := s.file(abs); err != nil {
		return nil, err
	}
	fv := &FlowVars{Dynamic: s.dynamic}
	for n := range s.names {
		fv.Names = append(fv.Names, n)
	}
	sort.Strings(fv.Names)
	for v := range s.vendors {
		fv.Vendors = append(fv.Vendors, v)
	}
	sort.Strings(fv.Vendors)
	return fv, nil
}

// Unknown returns an error naming the vars given that the flow never
// reads, with a did-you-mean and the flow's vars; nil when all are read
// or the flow reads vars by computed name.
func (fv *FlowVars) Unknown(given []string) error {
	if fv.Dynamic != "" {
		return nil
	}
	known := append(append([]string(nil), fv.Names...), implicitVars...)
	var bad []string
	for _, g := range given {
		if !slices.Contains(known, g) {
			bad = append(bad, "--var "+g+spell.Hint(g, fv.Names))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	list := "none"
	if len(fv.Names) > 0 {
		list = strings.Join(fv.Names, ", ")
	}
	what := "this var"
	if len(bad) > 1 {
		what = "these vars"
	}
	return fmt.Errorf("%s: the flow does not read %s; nothing was sent. The flow's vars: %s",
		strings.Join(bad, ", "), what, list)
}

type varScan struct {
	flowDir, libDir string
	names, vendors  map[string]bool
	seen            map[string]bool
	dynamic         string
}

func (s *varScan) file(path string) error {
	if s.seen[path] {
		return nil
	}
	s.seen[path] = true
	src, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read flow: %w", err)
	}
	f, err := fileOptions.Parse(path, src, 0)
	if err != nil {
		return err
	}
	var loads []string
	syntax.Walk(f, func(n syntax.Node) bool {
		switch x := n.(type) {
		case *syntax.LoadStmt:
			if m, err := strconv.Unquote(x.Module.Raw); err == nil {
				loads = append(loads, m)
			}
		case *syntax.CallExpr:
			id, ok := x.Fn.(*syntax.Ident)
			if ok && id.Name == "connect" && len(x.Args) > 0 {
				if lit, ok := x.Args[0].(*syntax.Literal); ok && lit.Token == syntax.STRING {
					s.vendors[lit.Value.(string)] = true
				}
			}
			if !ok || id.Name != "var" || len(x.Args) == 0 {
				return true
			}
			arg := x.Args[0]
			if b, ok := arg.(*syntax.BinaryExpr); ok && b.Op == syntax.EQ {
				arg = b.Y // var(name = "x")
			}
			if lit, ok := arg.(*syntax.Literal); ok && lit.Token == syntax.STRING {
				s.names[lit.Value.(string)] = true
			} else if s.dynamic == "" {
				pos, _ := x.Span()
				s.dynamic = pos.String()
			}
		}
		return true
	})
	for _, m := range loads {
		// A module the run would refuse or not find is the run's error to
		// report; the scan only follows what resolves.
		if filepath.IsAbs(m) || strings.Contains(m, "..") {
			continue
		}
		for _, dir := range []string{s.flowDir, s.libDir} {
			p := filepath.Join(dir, filepath.Clean(m))
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
				if err := s.file(p); err != nil {
					return err
				}
				break
			}
		}
	}
	return nil
}
