package inventory

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/tokenflow/tokenflow/engine/spell"
)

// examples is how many target names a no-match error lists.
const examples = 5

// Select applies a --limit expression; "" selects every target.
//
// The expression is comma-separated terms. A term is a group name (all its
// targets, nested groups included), a target name, or a glob (path.Match)
// over target names; a leading "!" excludes what the term matches. When
// every term excludes, the exclusions apply to the whole inventory. The
// result keeps file order.
//
// A term that is neither a group, a target nor a glob is an error rather
// than matching nothing: a misspelt exclusion would otherwise run the flow
// against the very target the operator meant to leave out.
func (inv *Inventory) Select(limit string) ([]*Target, error) {
	if strings.TrimSpace(limit) == "" {
		return inv.Targets, nil
	}
	include, exclude := map[string]bool{}, map[string]bool{}
	includes := false
	for _, term := range strings.Split(limit, ",") {
		term = strings.TrimSpace(term)
		if term == "" {
			continue
		}
		set := include
		if rest, ok := strings.CutPrefix(term, "!"); ok {
			set, term = exclude, strings.TrimSpace(rest)
			if term == "" {
				return nil, fmt.Errorf("--limit %q: a lone ! excludes nothing; write !NAME", limit)
			}
		} else {
			includes = true
		}
		names, err := inv.match(term)
		if err != nil {
			return nil, fmt.Errorf("--limit %q: %w", limit, err)
		}
		for _, n := range names {
			set[n] = true
		}
	}
	var out []*Target
	for _, t := range inv.Targets {
		if (include[t.Name] || !includes) && !exclude[t.Name] {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--limit %q matches no target of %s (groups: %s; targets: %s)",
			limit, inv.Path, inv.groupList(), inv.targetSample())
	}
	return out, nil
}

// match returns the target names one term (without its "!") stands for.
func (inv *Inventory) match(term string) ([]string, error) {
	if members, ok := inv.Groups[term]; ok {
		return members, nil
	}
	if strings.ContainsAny(term, `*?[\`) {
		if _, err := path.Match(term, ""); err != nil {
			return nil, fmt.Errorf("bad glob %q: %w", term, err)
		}
		var names []string
		for _, t := range inv.Targets {
			if ok, _ := path.Match(term, t.Name); ok {
				names = append(names, t.Name)
			}
		}
		return names, nil
	}
	for _, t := range inv.Targets {
		if t.Name == term {
			return []string{term}, nil
		}
	}
	candidates := inv.groupNames()
	for _, t := range inv.Targets {
		candidates = append(candidates, t.Name)
	}
	return nil, fmt.Errorf("%q is neither a group nor a target of %s%s (groups: %s; targets: %s)",
		term, inv.Path, spell.Hint(term, candidates), inv.groupList(), inv.targetSample())
}

func (inv *Inventory) groupNames() []string {
	names := make([]string, 0, len(inv.Groups))
	for g := range inv.Groups {
		names = append(names, g)
	}
	sort.Strings(names)
	return names
}

func (inv *Inventory) groupList() string {
	if len(inv.Groups) == 0 {
		return "none"
	}
	return strings.Join(inv.groupNames(), ", ")
}

// targetSample names the first few targets, enough to show the naming scheme.
func (inv *Inventory) targetSample() string {
	var names []string
	for i, t := range inv.Targets {
		if i == examples {
			names = append(names, fmt.Sprintf("... %d in all", len(inv.Targets)))
			break
		}
		names = append(names, t.Name)
	}
	return strings.Join(names, ", ")
}
