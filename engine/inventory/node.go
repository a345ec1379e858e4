package inventory

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tokenflow/tokenflow/engine/spell"
	"gopkg.in/yaml.v3"
)

// pair is one key: value entry of a YAML mapping.
type pair struct {
	key   string
	kNode *yaml.Node
	vNode *yaml.Node
}

// deref follows YAML aliases (*name) to the anchored node.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// kindName describes a node without quoting its value, which might be a
// secret typed in the wrong place.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return "a single value"
	}
	return "nothing"
}

// mapping returns the entries of n in order; a null node is an empty mapping.
// Merge keys (<<: *anchor) are expanded, explicit keys winning as YAML says.
// Unless names is set (target and group names get their own duplicate
// check), a key given twice is a problem.
func (p *parser) mapping(n *yaml.Node, what string, names bool) ([]pair, bool) {
	n = deref(n)
	if isNull(n) {
		return nil, true
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s must be a mapping; got %s", what, kindName(n))
		return nil, false
	}
	// Aliases let a small file stand for a huge tree (merges of merges of
	// ...); walking it is bounded rather than trusted.
	if p.budget -= len(n.Content) / 2; p.budget < 0 {
		if !p.overBudget {
			p.overBudget = true
			p.errorf(n, "the inventory expands to more than %d entries through YAML aliases; write it out with fewer aliases", maxEntries)
		}
		return nil, false
	}
	if p.merging[n] {
		p.errorf(n, "%s: a merge key (<<) refers to the mapping it is in; remove it", what)
		return nil, false
	}
	var out, merged []pair
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			p.merging[n] = true // an alias can make a mapping merge itself
			merged = append(merged, p.mergeSources(v, what)...)
			delete(p.merging, n)
			continue
		}
		if k.Kind != yaml.ScalarNode || k.Value == "" {
			p.errorf(k, "%s: keys must be non-empty strings", what)
			continue
		}
		if first, dup := seen[k.Value]; dup && !names {
			p.errorf(k, "%s: duplicate key %q (first at line %d); remove one", what, k.Value, first.Line)
			continue
		}
		seen[k.Value] = k
		out = append(out, pair{k.Value, k, v})
	}
	for _, m := range merged {
		if _, ok := seen[m.key]; !ok {
			seen[m.key] = m.kNode
			out = append(out, m)
		}
	}
	return out, true
}

// mergeSources expands the value of a merge key: a mapping or a list of them.
func (p *parser) mergeSources(v *yaml.Node, what string) []pair {
	v = deref(v)
	var srcs []*yaml.Node
	if v.Kind == yaml.SequenceNode {
		srcs = v.Content
	} else {
		srcs = []*yaml.Node{v}
	}
	var out []pair
	for _, s := range srcs {
		ps, _ := p.mapping(s, what+" (merged with <<)", false)
		out = append(out, ps...)
	}
	return out
}

// scalar returns the text of a single value; numbers and bools keep the text
// they were written with, null is "".
func (p *parser) scalar(n *yaml.Node, what string) (string, bool) {
	n = deref(n)
	if isNull(n) {
		return "", true
	}
	if n.Kind != yaml.ScalarNode {
		p.errorf(n, "%s must be a single value (string, number or bool); got %s", what, kindName(n))
		return "", false
	}
	return n.Value, true
}

// checkKeys reports keys outside allowed, with a did-you-mean hint, and
// returns the entries by key.
func (p *parser) checkKeys(ps []pair, where string, allowed []string, extra map[string]string) map[string]pair {
	byKey := map[string]pair{}
	for _, e := range ps {
		if !slices.Contains(allowed, e.key) {
			msg := fmt.Sprintf("unknown key %q in %s (allowed: %s)", e.key, where, strings.Join(allowed, ", "))
			if x, ok := extra[e.key]; ok {
				msg += "; " + x // says what the key means here: a spelling guess would mislead
			} else {
				msg += spell.Hint(e.key, allowed)
			}
			p.errorf(e.kNode, "%s", msg)
			continue
		}
		byKey[e.key] = e
	}
	return byKey
}

// strMap reads a mapping of names to single values (labels, and vars when
// vars is set, which refuses literal secrets).
func (p *parser) strMap(n *yaml.Node, what string, vars bool) map[string]string {
	ps, _ := p.mapping(n, what, false)
	m := make(map[string]string, len(ps))
	for _, e := range ps {
		v, ok := p.scalar(e.vNode, fmt.Sprintf("%s: %s", what, e.key))
		if !ok {
			continue
		}
		if vars && v != "" && looksSecret(e.key) {
			p.errorf(e.kNode, "var %q looks like a secret and has a literal value (not shown); "+
				"put it in the target's credentials as %s: env:VAR or %s: file:PATH, "+
				"or rename it if it is not a secret (a _name, _id, _file, _path, _ref or _ttl suffix is not taken for a secret)",
				e.key, e.key, e.key)
			continue
		}
		m[e.key] = v
	}
	return m
}

// looksSecret tells whether a var name suggests its value is a secret.
func looksSecret(name string) bool {
	l := strings.ToLower(name)
	for _, suffix := range []string{"_file", "_path", "_name", "_id", "_ref", "_ttl"} {
		if strings.HasSuffix(l, suffix) {
			return false
		}
	}
	for _, w := range []string{"password", "passwd", "secret", "token", "apikey", "api_key", "private_key"} {
		if strings.Contains(l, w) {
			return true
		}
	}
	return false
}
