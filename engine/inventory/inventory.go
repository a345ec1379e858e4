package inventory

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Options configures Load and Parse.
type Options struct {
	// KnownVendors lists the vendors that have an installed plugin; a target
	// naming another vendor is an error that lists these.
	// Nil: any vendor name is accepted.
	KnownVendors []string

	// Home is the directory a leading "~/" in a path expands to.
	// "": os.UserHomeDir(), asked only when a path starts with "~/".
	Home string
}

// Inventory is a parsed, valid targets file.
type Inventory struct {
	Path    string              // as given
	Dir     string              // absolute directory of the file
	Targets []*Target           // in file order
	Groups  map[string][]string // group name -> target names (nested groups included), in file order
}

// Target is one vendor endpoint a fleet run runs its flow against.
type Target struct {
	Name        string
	Vendor      string
	URL         string
	CAFile      string            // absolute, "" if none
	Pin         string            // "sha256:<64 hex>" normalised lower-case, "" if none
	Insecure    bool              // skip TLS verification (labs only)
	Proxy       *Proxy            // how to reach the target, nil: the environment's proxies
	Credentials map[string]Ref    // name -> reference
	Labels      map[string]string // group labels merged under target labels
	Vars        map[string]string // merged per the precedence rules, plus url/ca_file/target and file: credential paths
	Groups      []string          // outer to inner
	Pos         string            // "FILE:LINE" where the target is defined
}

// Proxy is the HTTP proxy a target is reached through.
type Proxy struct {
	URL      string // http(s)://host:port, or "direct" for none
	User     string // "" if the proxy wants no authentication
	Password *Ref   // the proxy password's reference, nil without User
}

// Ref is where a credential's value is read from; it never holds the value.
type Ref struct {
	Kind string // "env" or "file"
	Arg  string // variable name, or absolute path
	Pos  string // FILE:LINE
}

// String gives the reference ("env:NAME", "file:/abs/path"), never a value.
func (r Ref) String() string { return r.Kind + ":" + r.Arg }

var (
	topKeys    = []string{"vars", "groups", "targets"}
	groupKeys  = []string{"vars", "groups", "targets", "labels"}
	targetKeys = []string{"vendor", "url", "tls", "proxy", "credentials", "labels", "vars"}
	tlsKeys    = []string{"ca_file", "pin", "insecure"}
	proxyKeys  = []string{"url", "user", "password"}

	nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	// yaml.v3 reports syntax errors as "yaml: line N: msg".
	yamlErrRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
)

// Load reads and validates the inventory at path. Every problem of the file is
// reported: one as an *Error, several as an ErrorList, each at FILE:LINE.
func Load(path string, opts Options) (*Inventory, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read inventory: %w", err)
	}
	return Parse(path, data, opts)
}

// Parse validates an inventory held in memory; path names it in errors and
// relative paths in it are resolved against its directory.
func Parse(path string, data []byte, opts Options) (*Inventory, error) {
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("inventory %s: %w", path, err)
	}
	p := &parser{
		path:    path,
		opts:    opts,
		names:   map[string]nameDef{},
		merging: map[*yaml.Node]bool{},
		budget:  maxEntries,
		inv:     &Inventory{Path: path, Dir: dir, Groups: map[string][]string{}},
	}
	root, err := p.decode(data)
	if err != nil {
		return nil, err
	}
	p.root(root)
	if p.targetsSeen == 0 {
		p.errs = append(p.errs, &Error{Pos: path + ":1", line: 1,
			Msg: "no targets: define targets under targets: (ungrouped) or groups: NAME: targets:"})
	}
	if err := p.errs.err(); err != nil {
		return nil, err
	}
	return p.inv, nil
}

// parser walks the YAML tree, collecting every problem rather than stopping
// at the first, so one run of the tool lists all fixes a file needs.
type parser struct {
	path        string
	opts        Options
	inv         *Inventory
	errs        ErrorList
	names       map[string]nameDef // target and group names share one namespace
	targetsSeen int
	merging     map[*yaml.Node]bool // mappings whose merge keys are being expanded
	budget      int                 // mapping entries left to walk
	overBudget  bool
}

// maxEntries bounds the mapping entries walked, far above any real fleet.
const maxEntries = 1_000_000

type nameDef struct {
	group bool
	pos   string
}

// scope is what a group hands down to what it contains.
type scope struct {
	vars   map[string]string
	labels map[string]string
	groups []string
}

func (p *parser) pos(n *yaml.Node) string { return p.path + ":" + strconv.Itoa(n.Line) }

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	p.errs = append(p.errs, &Error{Pos: p.pos(n), Msg: fmt.Sprintf(format, args...), line: n.Line})
}

// decode parses the YAML into a node tree; nil root means an empty file.
func (p *parser) decode(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, p.yamlError(err)
	}
	var next yaml.Node
	if err := dec.Decode(&next); err == nil {
		return nil, &Error{Pos: p.pos(&next), line: next.Line,
			Msg: "a second YAML document (after ---): an inventory is one document; merge them or use two files"}
	} else if !errors.Is(err, io.EOF) {
		return nil, p.yamlError(err)
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	return doc.Content[0], nil
}

// parserProblems are the messages of yaml.v3's parser (as opposed to its
// scanner): it reports their line 0-based, one less than the editor shows.
var parserProblems = map[string]bool{
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"did not find expected '-' indicator":    true,
	"did not find expected <document start>": true,
	"did not find expected <stream-start>":   true,
	"did not find expected key":              true,
	"did not find expected node content":     true,
	"found duplicate %TAG directive":         true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found undefined tag handle":             true,
}

func (p *parser) yamlError(err error) error {
	line, msg := 1, strings.TrimPrefix(err.Error(), "yaml: ")
	if m := yamlErrRE.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
		if parserProblems[msg] {
			line++
		}
	}
	// Without a line, yaml.v3 means the first one (its line 0).
	return &Error{Pos: p.path + ":" + strconv.Itoa(line), line: line, Msg: "invalid YAML: " + msg}
}

func (p *parser) root(n *yaml.Node) {
	if n == nil {
		return
	}
	ps, ok := p.mapping(n, "the top level (vars, groups, targets)", false)
	if !ok {
		return
	}
	keys := p.checkKeys(ps, "the top level", topKeys, map[string]string{
		"hosts":    "targets are listed under targets:",
		"children": "nested groups are listed under groups:",
	})
	sc := scope{vars: map[string]string{}, labels: map[string]string{}}
	if e, ok := keys["vars"]; ok {
		sc.vars = p.strMap(e.vNode, "vars", true)
	}
	p.members(ps, keys, sc)
}

// members walks the targets and groups of the top level or of a group, in
// file order so Inventory.Targets keeps it.
func (p *parser) members(ps []pair, keys map[string]pair, sc scope) {
	for _, e := range ps {
		if keys[e.key].kNode != e.kNode {
			continue // unknown key, already reported
		}
		switch e.key {
		case "targets":
			p.targets(e.vNode, sc)
		case "groups":
			p.groups(e.vNode, sc)
		}
	}
}

func (p *parser) targets(n *yaml.Node, sc scope) {
	ps, _ := p.mapping(n, "targets (target name: {vendor, url, ...})", true)
	for _, e := range ps {
		p.targetsSeen++
		ok := p.declare(e, false)
		if t := p.target(e, sc); t != nil && ok {
			p.inv.Targets = append(p.inv.Targets, t)
			for _, g := range sc.groups {
				p.inv.Groups[g] = append(p.inv.Groups[g], t.Name)
			}
		}
	}
}

func (p *parser) groups(n *yaml.Node, sc scope) {
	ps, _ := p.mapping(n, "groups (group name: {vars, labels, targets, groups})", true)
	for _, e := range ps {
		// A group whose name is refused is not walked: a YAML alias can make
		// a group contain itself, and it then comes back as a duplicate.
		if p.declare(e, true) {
			p.inv.Groups[e.key] = []string{} // an empty group is still a group --limit may name
			p.group(e, sc)
		}
	}
}

func (p *parser) group(e pair, outer scope) {
	where := fmt.Sprintf("group %q", e.key)
	ps, ok := p.mapping(e.vNode, where, false)
	if !ok {
		return
	}
	keys := p.checkKeys(ps, where, groupKeys, map[string]string{
		"hosts":    "targets are listed under targets:",
		"children": "nested groups are listed under groups:",
	})
	sc := scope{
		vars:   maps.Clone(outer.vars),
		labels: maps.Clone(outer.labels),
		groups: append(append([]string(nil), outer.groups...), e.key),
	}
	if v, ok := keys["vars"]; ok {
		maps.Copy(sc.vars, p.strMap(v.vNode, where+": vars", true))
	}
	if v, ok := keys["labels"]; ok {
		maps.Copy(sc.labels, p.strMap(v.vNode, where+": labels", false))
	}
	p.members(ps, keys, sc)
}

// declare records a target or group name, reporting an invalid name, a
// duplicate or a clash between a group and a target; false means the name
// cannot be used.
func (p *parser) declare(e pair, group bool) bool {
	kind := "target"
	if group {
		kind = "group"
	}
	if !nameRE.MatchString(e.key) {
		p.errorf(e.kNode, "invalid %s name %q: use letters, digits, '.', '_' and '-', starting with a letter or digit", kind, e.key)
		return false
	}
	first, dup := p.names[e.key]
	if !dup {
		p.names[e.key] = nameDef{group: group, pos: p.pos(e.kNode)}
		return true
	}
	switch {
	case first.group == group:
		p.errorf(e.kNode, "duplicate %s %q (first defined at %s); %s names must be unique in the whole file", kind, e.key, first.pos, kind)
	case group:
		p.errorf(e.kNode, "group %q has the same name as the target defined at %s; rename one (--limit could not tell them apart)", e.key, first.pos)
	default:
		p.errorf(e.kNode, "target %q has the same name as the group defined at %s; rename one (--limit could not tell them apart)", e.key, first.pos)
	}
	return false
}
