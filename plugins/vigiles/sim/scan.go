package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Package is one package of an uploaded manifest.
type Package struct {
	Name       string
	Version    string
	CVEProduct string   // the manifest's cve_product, "" when absent
	CVEVersion string   // the manifest's cve_version, "" when absent
	Patches    []string // patch file names; one naming a CVE fixes it
}

// products are the CPE products the package is scanned as.
func (p Package) products() []string {
	if p.CVEProduct == "" {
		return []string{p.Name}
	}
	var out []string
	for _, f := range strings.FieldsFunc(p.CVEProduct, func(r rune) bool { return r == ' ' || r == ',' }) {
		if _, prod, ok := strings.Cut(f, ":"); ok {
			f = prod
		}
		out = append(out, f)
	}
	return out
}

func (p Package) scanVersion() string {
	if p.CVEVersion != "" {
		return p.CVEVersion
	}
	v, _, _ := strings.Cut(p.Version, "+git")
	return v
}

// errMalformed is a manifest Vigiles answers 412 for.
var errMalformed = errors.New("malformed manifest")

type parsedManifest struct {
	name      string // manifest_name or image, "" when neither
	packages  []Package
	whitelist []string
}

// parseManifest reads the manifest formats the simulator understands: the
// Vigiles JSON manifest of meta-timesys and vigiles-buildroot ("packages" as
// an object keyed by package name, or a list), SPDX JSON ("packages" with
// "versionInfo") and CycloneDX JSON ("components").
func parseManifest(content string) (*parsedManifest, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(content), &doc); err != nil {
		return nil, fmt.Errorf("%w: not a JSON object", errMalformed)
	}
	pm := &parsedManifest{}
	for _, k := range []string{"manifest_name", "image", "name"} {
		var s string
		if json.Unmarshal(doc[k], &s) == nil && s != "" {
			pm.name = s
			break
		}
	}
	if raw, ok := doc["whitelist"]; ok {
		if json.Unmarshal(raw, &pm.whitelist) != nil {
			return nil, fmt.Errorf("%w: whitelist must be a list of strings", errMalformed)
		}
	}
	type entry struct {
		Name        string   `json:"name"`
		Version     string   `json:"version"`
		VersionInfo string   `json:"versionInfo"`
		CVEProduct  string   `json:"cve_product"`
		CVEVersion  string   `json:"cve_version"`
		Patches     []string `json:"patches"`
		CPE         string   `json:"cpe"` // CycloneDX
		RefsSPDX    []struct {
			Type    string `json:"referenceType"`
			Locator string `json:"referenceLocator"`
		} `json:"externalRefs"`
	}
	var entries []entry
	raw, ok := doc["packages"]
	if !ok {
		raw, ok = doc["components"]
	}
	if !ok {
		return nil, fmt.Errorf("%w: no packages", errMalformed)
	}
	switch t := strings.TrimSpace(string(raw)); {
	case strings.HasPrefix(t, "{"):
		var byName map[string]entry
		if err := json.Unmarshal(raw, &byName); err != nil {
			return nil, fmt.Errorf("%w: packages: %v", errMalformed, err)
		}
		for name, e := range byName {
			if e.Name == "" {
				e.Name = name
			}
			entries = append(entries, e)
		}
	case strings.HasPrefix(t, "["):
		if err := json.Unmarshal(raw, &entries); err != nil {
			return nil, fmt.Errorf("%w: packages: %v", errMalformed, err)
		}
	default:
		return nil, fmt.Errorf("%w: packages must be an object or a list", errMalformed)
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("%w: no packages", errMalformed)
	}
	for _, e := range entries {
		v := e.Version
		if v == "" {
			v = e.VersionInfo
		}
		if e.Name == "" {
			return nil, fmt.Errorf("%w: a package has no name", errMalformed)
		}
		if v == "" {
			return nil, fmt.Errorf("%w: package %s has no version", errMalformed, e.Name)
		}
		if e.CVEProduct == "" {
			cpe := e.CPE
			for _, r := range e.RefsSPDX {
				if r.Type == "cpe23Type" {
					cpe = r.Locator
				}
			}
			e.CVEProduct, e.CVEVersion = cpeProduct(cpe)
		}
		pm.packages = append(pm.packages, Package{Name: e.Name, Version: v, CVEProduct: e.CVEProduct, CVEVersion: e.CVEVersion, Patches: e.Patches})
	}
	sort.Slice(pm.packages, func(i, j int) bool { return pm.packages[i].Name < pm.packages[j].Name })
	return pm, nil
}

// cpeProduct reads the product and version of a CPE 2.3 name
// (cpe:2.3:a:vendor:product:version:...); "" for anything else or "*".
func cpeProduct(cpe string) (product, version string) {
	f := strings.Split(cpe, ":")
	if len(f) < 6 || f[0] != "cpe" || f[1] != "2.3" || f[4] == "*" || f[4] == "" {
		return "", ""
	}
	if f[5] != "*" && f[5] != "-" {
		version = f[5]
	}
	return f[4], version
}

// Finding is one CVE a scan found in a package.
type Finding struct {
	Package string
	Version string
	CVE     CVE
	Status  string   // Unfixed, "Unfixed, Patch Available" or Fixed
	FixedBy []string // the manifest's patches that fix it
}

// Open reports whether the finding is not fixed.
func (f Finding) Open() bool { return f.Status != statusFixed }

const (
	statusUnfixed   = "Unfixed"
	statusUnapplied = "Unfixed, Patch Available"
	statusFixed     = "Fixed"
)

// scan matches the packages against db. Whitelisted findings (by CVE ID or
// package name) are left out and counted.
func scan(pm *parsedManifest, db []CVE) (findings []Finding, whitelisted int) {
	wl := map[string]bool{}
	for _, w := range pm.whitelist {
		wl[strings.ToUpper(strings.TrimSpace(w))] = true
	}
	for _, p := range pm.packages {
		v := p.scanVersion()
		for _, prod := range p.products() {
			for _, c := range db {
				if c.Product != prod || !c.affects(v) {
					continue
				}
				if wl[c.ID] || wl[strings.ToUpper(p.Name)] {
					whitelisted++
					continue
				}
				f := Finding{Package: p.Name, Version: v, CVE: c, Status: statusUnfixed}
				for _, patch := range p.Patches {
					if strings.Contains(strings.ToUpper(patch), c.ID) {
						f.FixedBy = append(f.FixedBy, patch)
					}
				}
				switch {
				case len(f.FixedBy) > 0:
					f.Status = statusFixed
				case c.PatchAvailable:
					f.Status = statusUnapplied
				}
				findings = append(findings, f)
			}
		}
	}
	sort.Slice(findings, func(i, j int) bool {
		if findings[i].Package != findings[j].Package {
			return findings[i].Package < findings[j].Package
		}
		return findings[i].CVE.ID < findings[j].CVE.ID
	})
	return findings, whitelisted
}

// counts builds the report's counts object in the shape meta-timesys's
// checkcves.py reads: totals by status, the kernel and toolchain shares, and
// cvss_counts by severity ({unfixed, fixed}, unapplied counted as unfixed).
func counts(findings []Finding, whitelisted int) map[string]any {
	type byStatus struct{ unfixed, unapplied, fixed, upgradable int }
	var all, kernel, toolchain byStatus
	cvss := map[string]map[string]int{}
	kcvss := map[string]map[string]int{}
	tcvss := map[string]map[string]int{}
	for _, sev := range []string{"critical", "high", "medium", "low"} {
		cvss[sev] = map[string]int{"unfixed": 0, "fixed": 0}
		kcvss[sev] = map[string]int{"unfixed": 0, "fixed": 0}
		tcvss[sev] = map[string]int{"unfixed": 0, "fixed": 0}
	}
	add := func(b *byStatus, f Finding) {
		switch f.Status {
		case statusFixed:
			b.fixed++
		case statusUnapplied:
			b.unapplied++
		default:
			b.unfixed++
		}
		if f.Open() && f.CVE.FixedIn != "" {
			b.upgradable++
		}
	}
	addCVSS := func(m map[string]map[string]int, f Finding) {
		sev := severity(f.CVE.CVSS)
		if _, ok := m[sev]; !ok {
			return
		}
		if f.Open() {
			m[sev]["unfixed"]++
		} else {
			m[sev]["fixed"]++
		}
	}
	for _, f := range findings {
		add(&all, f)
		addCVSS(cvss, f)
		switch {
		case kernelProducts[f.CVE.Product]:
			add(&kernel, f)
			addCVSS(kcvss, f)
		case toolchainProducts[f.CVE.Product]:
			add(&toolchain, f)
			addCVSS(tcvss, f)
		}
	}
	part := func(b byStatus) map[string]any {
		return map[string]any{"unfixed": b.unfixed, "unapplied": b.unapplied, "fixed": b.fixed, "upgradable": b.upgradable}
	}
	cvssOut := map[string]any{"kernel": kcvss, "toolchain": tcvss}
	for k, v := range cvss {
		cvssOut[k] = v
	}
	return map[string]any{
		"unfixed": all.unfixed, "unapplied": all.unapplied, "fixed": all.fixed,
		"upgradable": all.upgradable, "whitelisted": whitelisted,
		"kernel": part(kernel), "toolchain": part(toolchain),
		"cvss_counts": cvssOut,
	}
}
