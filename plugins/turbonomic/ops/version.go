package ops

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/tokenflow/tokenflow/sdk"
)

// applianceVersion is what admin/versions says about the appliance, parsed the way vmt-connect's
// Version class does (vmtconnect/__init__.py).
type applianceVersion struct {
	Product       string // first word of versionInfo; "Cisco" becomes "CWOM"
	Version       string // the release in versionInfo's first line ("8.14.3")
	Extra         string // what follows it ("-SNAPSHOT"), empty for a release build
	BaseVersion   string // the equivalent Turbonomic release, compared against min_version
	Build         string
	Branch        string
	MarketVersion int
	Snapshot      bool
	XL            bool
	parts         []int // BaseVersion's numeric components
}

// Platform is "xl" or "classic".
func (v *applianceVersion) Platform() string {
	if v.XL {
		return "xl"
	}
	return "classic"
}

func (v *applianceVersion) String() string {
	return fmt.Sprintf("%s %s%s (%s)", v.Product, v.Version, v.Extra, v.Platform())
}

// versionsResponse is the body of GET admin/versions.
type versionsResponse struct {
	VersionInfo   string `json:"versionInfo"`
	Version       string `json:"version"`
	Build         string `json:"build"`
	Branch        string `json:"branch"`
	MarketVersion int    `json:"marketVersion"`
}

var (
	reProduct = regexp.MustCompile(`^(\S+)\s`)
	// vmt-connect: ^.* Manager ([\d.]+)([-\w]+)? \(Build (")?\d+(")?\)
	reVersion = regexp.MustCompile(`^.* Manager ([\d.]+)([-\w]+)? \(Build "?(\d+)"?\)`)
)

// wantedFirstLine shows the shape a first line must have, for error messages.
const wantedFirstLine = `Turbonomic Operations Manager <x.y.z> (Build "<digits>") ...`

// parseVersion parses a versions answer. Like vmt-connect it requires the first line of
// versionInfo to match reVersion and the base version to have at least three numeric parts;
// any suffix after the release (e.g. "-SNAPSHOT") marks a development build, as does
// "-SNAPSHOT" in the version, build or branch fields.
func parseVersion(r versionsResponse) (*applianceVersion, error) {
	first, _, _ := strings.Cut(r.VersionInfo, "\n")
	first = strings.TrimRight(first, "\r")
	pm := reProduct.FindStringSubmatch(r.VersionInfo)
	vm := reVersion.FindStringSubmatch(r.VersionInfo)
	if pm == nil || vm == nil {
		return nil, fmt.Errorf("versionInfo's first line %q does not look like %s", clip(first), wantedFirstLine)
	}
	v := &applianceVersion{
		Product: pm[1], Version: strings.TrimRight(vm[1], "."), Extra: vm[2],
		Build: r.Build, Branch: r.Branch, MarketVersion: r.MarketVersion,
	}
	if v.Product == "Cisco" {
		v.Product = "CWOM"
	}
	if v.Build == "" {
		v.Build = vm[3]
	}
	const snap = "-SNAPSHOT"
	v.Snapshot = v.Extra != "" || strings.Contains(r.Version, snap) || strings.Contains(r.Build, snap) || strings.Contains(r.Branch, snap)
	v.BaseVersion = strings.TrimSuffix(strings.TrimSuffix(r.Version, snap), v.Extra)
	if v.BaseVersion == "" {
		v.BaseVersion = v.Version
	}
	parts, err := versionParts(v.BaseVersion)
	if err != nil || len(parts) < 3 {
		return nil, fmt.Errorf("base version %q is not a dotted release of at least three numbers (from versionInfo %q)", clip(v.BaseVersion), clip(first))
	}
	v.parts = parts
	v.XL = strings.Contains(r.VersionInfo, "action-orchestrator: ") && parts[0] >= 7
	return v, nil
}

func clip(s string) string {
	if len(s) > 120 {
		return s[:120] + "..."
	}
	return s
}

func versionParts(s string) ([]int, error) {
	if s == "" {
		return nil, fmt.Errorf("empty version")
	}
	var out []int
	for _, p := range strings.Split(s, ".") {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || p == "" {
			return nil, fmt.Errorf("%q is not a dotted version", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// compareParts compares two versions component by component, the missing ones being zero
// (vmt-connect pads to four components: "7.21" equals "7.21.0.0").
func compareParts(a, b []int) int {
	n := max(len(a), len(b), 4)
	for i := 0; i < n; i++ {
		x, y := at(a, i), at(b, i)
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

func at(p []int, i int) int {
	if i < len(p) {
		return p[i]
	}
	return 0
}

// versionTerm is one term of a version spec.
type versionTerm struct {
	text    string
	exclude bool
	lo, hi  []int // hi nil: exactly lo, or lo and later when orLater
	orLater bool
}

func (t versionTerm) matches(v []int) bool {
	switch {
	case t.orLater:
		return compareParts(v, t.lo) >= 0
	case t.hi != nil:
		return compareParts(v, t.lo) >= 0 && compareParts(v, t.hi) <= 0
	}
	return compareParts(v, t.lo) == 0
}

// versionSpec is the min_version connection option: vmt-connect's VersionSpec written as one
// string. Terms are separated by commas:
//
//	7.21+          7.21 or later (any later branch: 7.22, 8.x)
//	8.14.3         exactly 8.14.3 (missing parts are zero: "8.14" is 8.14.0)
//	8.0-8.14.3     8.0 up to 8.14.3, both included
//	!8.1.2  !8.2+  !8.0-8.0.9   excluded, in any of the forms above
//
// A version is accepted when it matches no exclusion and at least one of the other terms.
// Without other terms vmt-connect's defaults apply: 7.21+ for XL, 6.1+ for Classic.
type versionSpec struct {
	text  string
	terms []versionTerm
}

// parseVersionSpec parses a min_version value ("" is the defaults).
func parseVersionSpec(s string) (*versionSpec, error) {
	spec := &versionSpec{text: strings.TrimSpace(s)}
	for _, raw := range strings.Split(s, ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		t := versionTerm{text: raw}
		body := raw
		if strings.HasPrefix(body, "!") {
			t.exclude = true
			body = strings.TrimSpace(body[1:])
		}
		var err error
		switch {
		case strings.HasSuffix(body, "+"):
			t.orLater = true
			t.lo, err = versionParts(strings.TrimSpace(strings.TrimSuffix(body, "+")))
		case strings.Contains(body, "-"):
			a, b, _ := strings.Cut(body, "-")
			if t.lo, err = versionParts(strings.TrimSpace(a)); err == nil {
				t.hi, err = versionParts(strings.TrimSpace(b))
			}
			if err == nil && compareParts(t.lo, t.hi) > 0 {
				err = fmt.Errorf("range %s ends before it starts", body)
			}
		default:
			t.lo, err = versionParts(body)
		}
		if err != nil {
			return nil, fmt.Errorf("term %q: %v; write terms like 7.21+, 8.14.3, 8.0-8.14.3 or !8.1.2, separated by commas", raw, err)
		}
		spec.terms = append(spec.terms, t)
	}
	return spec, nil
}

// defaultMinimum is vmt-connect's requirement when the caller gives none.
func defaultMinimum(xl bool) versionTerm {
	if xl {
		return versionTerm{text: "7.21+", lo: []int{7, 21}, orLater: true}
	}
	return versionTerm{text: "6.1+", lo: []int{6, 1}, orLater: true}
}

// check applies the spec to v the way vmt-connect's VersionSpec.check does: a development
// build is refused unless allowed, then exclusions, then the accepted versions. Unlike
// vmt-connect, an excluded version is an error, not a silent False.
func (spec *versionSpec) check(v *applianceVersion, allowSnapshot bool) *sdk.Error {
	if v.Snapshot && !allowSnapshot {
		return sdk.Errorf(sdk.CodePermissionDenied,
			"%s is a development build, which vmt-connect refuses by default; nothing was changed (connect with allow_snapshot = True to use it anyway)",
			v)
	}
	var accept []versionTerm
	for _, t := range spec.terms {
		if t.exclude {
			if t.matches(v.parts) {
				return sdk.Errorf(sdk.CodePermissionDenied, "Turbonomic %s (%s) is excluded by min_version term %q", v.BaseVersion, v.Platform(), t.text)
			}
			continue
		}
		accept = append(accept, t)
	}
	what := fmt.Sprintf("min_version %q", spec.text)
	if len(accept) == 0 {
		accept = []versionTerm{defaultMinimum(v.XL)}
		what = fmt.Sprintf("vmt-connect's default minimum %s for %s", accept[0].text, map[bool]string{true: "XL", false: "Classic"}[v.XL])
	}
	for _, t := range accept {
		if t.matches(v.parts) {
			return nil
		}
	}
	return sdk.Errorf(sdk.CodePermissionDenied, "Turbonomic %s (%s) does not meet %s; nothing was changed (set min_version to accept this release deliberately)",
		v.BaseVersion, v.Platform(), what)
}

func versionOp() sdk.Op {
	return sdk.Op{
		Name:   "version",
		Doc:    "Return the appliance's version (GET admin/versions), checked against min_version",
		Effect: sdk.Read,
		Results: []sdk.Field{
			{Name: "product", Type: sdk.String, Doc: `"Turbonomic", or "CWOM" for Cisco's build`},
			{Name: "version", Type: sdk.String, Doc: "the release in versionInfo"},
			{Name: "base_version", Type: sdk.String, Doc: "the equivalent Turbonomic release, compared against min_version"},
			{Name: "build", Type: sdk.String},
			{Name: "branch", Type: sdk.String},
			{Name: "market_version", Type: sdk.Int},
			{Name: "is_xl", Type: sdk.Bool, Doc: "XL (action-orchestrator present, release 7 or later) rather than Classic"},
			{Name: "platform", Type: sdk.String, Doc: `"xl" or "classic"`},
			{Name: "snapshot", Type: sdk.Bool, Doc: "a development (-SNAPSHOT) build"},
		},
		Handler: func(ctx context.Context, c *sdk.Call) (any, error) {
			v, err := checkedVersion(ctx, c)
			if err != nil {
				return nil, err
			}
			return map[string]any{
				"product": v.Product, "version": v.Version, "base_version": v.BaseVersion, "build": v.Build,
				"branch": v.Branch, "market_version": v.MarketVersion, "is_xl": v.XL, "platform": v.Platform(),
				"snapshot": v.Snapshot,
			}, nil
		},
	}
}
