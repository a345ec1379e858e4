package sim

import (
	"strconv"
	"strings"
	"unicode"
)

// CVE is one entry of the simulator's vulnerability database.
type CVE struct {
	ID          string
	Product     string  // CPE product, as a manifest's cve_product names it (or the package name)
	Introduced  string  // first affected version; "" = every version before FixedIn
	FixedIn     string  // first fixed release; "" = no fixed release yet
	CVSS        float64 // CVSS v3 base score
	Vector      string
	Description string
	Published   string
	// PatchAvailable marks a CVE for which a patch exists although no
	// release fixes it: reports say "Unfixed, Patch Available".
	PatchAvailable bool
	// Assigner, Modified and CWEs feed the with_field extras; empty means
	// "cve@mitre.org", the Published date and NVD-CWE-noinfo.
	Assigner string
	Modified string
	CWEs     []string
}

// affects reports whether version is in the CVE's affected range.
func (c CVE) affects(version string) bool {
	if version == "" {
		return false
	}
	if c.Introduced != "" && compareVersions(version, c.Introduced) < 0 {
		return false
	}
	return c.FixedIn == "" || compareVersions(version, c.FixedIn) < 0
}

// DefaultCVEs is the simulator's sample vulnerability database. The IDs are
// real, the ranges and scores simplified (one affected range per CVE): it is
// test data for a simulator, not a vulnerability feed.
var DefaultCVEs = []CVE{
	{ID: "CVE-2022-1292", Product: "openssl", Introduced: "3.0.0", FixedIn: "3.0.3", CVSS: 9.8, Vector: v98,
		Description: "The c_rehash script does not properly sanitise shell metacharacters, allowing command injection", Published: "2022-05-03",
		Assigner: "openssl-security@openssl.org", Modified: "2023-11-07", CWEs: []string{"CWE-78"}},
	{ID: "CVE-2022-3602", Product: "openssl", Introduced: "3.0.0", FixedIn: "3.0.7", CVSS: 7.5, Vector: v75,
		Description: "X.509 email address 4-byte buffer overflow", Published: "2022-11-01"},
	{ID: "CVE-2023-0286", Product: "openssl", Introduced: "3.0.0", FixedIn: "3.0.8", CVSS: 7.4, Vector: "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:H",
		Description: "X.400 address type confusion in X.509 GeneralName", Published: "2023-02-08"},
	{ID: "CVE-2023-2650", Product: "openssl", Introduced: "3.0.0", FixedIn: "3.0.9", CVSS: 6.5, Vector: "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:N/I:N/A:H",
		Description: "Possible denial of service translating ASN.1 object identifiers", Published: "2023-05-30"},
	{ID: "CVE-2023-5678", Product: "openssl", Introduced: "3.0.0", FixedIn: "3.0.13", CVSS: 5.3, Vector: v53,
		Description: "Excessive time spent in DH check or generation with a large Q parameter value", Published: "2023-11-06"},
	{ID: "CVE-2022-37434", Product: "zlib", FixedIn: "1.2.13", CVSS: 9.8, Vector: v98,
		Description: "Heap-based buffer over-read or overflow in inflate via a large gzip header extra field", Published: "2022-08-05",
		Modified: "2023-07-19", CWEs: []string{"CWE-787"}},
	{ID: "CVE-2018-25032", Product: "zlib", FixedIn: "1.2.12", CVSS: 7.5, Vector: v75,
		Description: "Memory corruption when deflating input with many distant matches", Published: "2022-03-25"},
	{ID: "CVE-2022-48174", Product: "busybox", FixedIn: "1.35.0", CVSS: 9.8, Vector: v98,
		Description: "Stack overflow in ash that may lead to arbitrary code execution", Published: "2023-08-22"},
	{ID: "CVE-2021-42374", Product: "busybox", FixedIn: "1.34.0", CVSS: 5.3, Vector: v53,
		Description: "Out-of-bounds heap read in unlzma", Published: "2021-11-15"},
	{ID: "CVE-2022-28391", Product: "busybox", CVSS: 8.8, Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H", PatchAvailable: true,
		Description: "Remote code execution through netstat printing a malicious DNS PTR record", Published: "2022-04-03"},
	{ID: "CVE-2023-38545", Product: "curl", Introduced: "7.69.0", FixedIn: "8.4.0", CVSS: 9.8, Vector: v98,
		Description: "SOCKS5 heap buffer overflow", Published: "2023-10-18"},
	{ID: "CVE-2023-38546", Product: "curl", Introduced: "7.9.1", FixedIn: "8.4.0", CVSS: 3.7, Vector: "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:L/A:N",
		Description: "Cookie injection with none file", Published: "2023-10-18"},
	{ID: "CVE-2023-27533", Product: "curl", FixedIn: "8.0.0", CVSS: 8.8, Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H",
		Description: "TELNET option IAC injection", Published: "2023-03-30"},
	{ID: "CVE-2022-35737", Product: "sqlite", FixedIn: "3.39.2", CVSS: 7.5, Vector: v75,
		Description: "Array-bounds overflow with billions of bytes in a string argument to a C API", Published: "2022-08-03"},
	{ID: "CVE-2022-25315", Product: "libexpat", FixedIn: "2.4.5", CVSS: 9.8, Vector: v98,
		Description: "Integer overflow in storeRawNames", Published: "2022-02-18"},
	{ID: "CVE-2022-40674", Product: "libexpat", FixedIn: "2.4.9", CVSS: 8.1, Vector: "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H",
		Description: "Use-after-free in doContent", Published: "2022-09-14"},
	{ID: "CVE-2022-0847", Product: "linux_kernel", Introduced: "5.8", FixedIn: "5.15.25", CVSS: 7.8, Vector: v78,
		Description: "Dirty Pipe: pipe buffer flags are not initialised, so unprivileged users can write to read-only files", Published: "2022-03-10"},
	{ID: "CVE-2021-22555", Product: "linux_kernel", Introduced: "2.6.19", FixedIn: "5.12", CVSS: 7.8, Vector: v78,
		Description: "Heap out-of-bounds write in netfilter x_tables", Published: "2021-07-07"},
	{ID: "CVE-2024-1086", Product: "linux_kernel", Introduced: "3.15", FixedIn: "6.8", CVSS: 7.8, Vector: v78,
		Description: "Use-after-free in netfilter nf_tables", Published: "2024-01-31"},
	{ID: "CVE-2023-4911", Product: "glibc", Introduced: "2.34", FixedIn: "2.39", CVSS: 7.8, Vector: v78,
		Description: "Looney Tunables: buffer overflow in ld.so processing GLIBC_TUNABLES", Published: "2023-10-03"},
	{ID: "CVE-2021-3999", Product: "glibc", FixedIn: "2.35", CVSS: 7.8, Vector: v78,
		Description: "Off-by-one buffer overflow and underflow in getcwd()", Published: "2022-08-24"},
	{ID: "CVE-2023-48795", Product: "dropbear_ssh", FixedIn: "2024.84", CVSS: 5.9, Vector: "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:N",
		Description: "Terrapin: SSH prefix truncation attack", Published: "2023-12-18"},
}

const (
	v98 = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
	v78 = "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H"
	v75 = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"
	v53 = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L"
)

// severity is the CVSS v3 qualitative rating, as cvss_counts keys it.
func severity(score float64) string {
	switch {
	case score >= 9.0:
		return "critical"
	case score >= 7.0:
		return "high"
	case score >= 4.0:
		return "medium"
	case score > 0:
		return "low"
	}
	return "none"
}

// kernelProducts and toolchainProducts are counted apart, as Vigiles does.
var (
	kernelProducts    = map[string]bool{"linux_kernel": true}
	toolchainProducts = map[string]bool{"glibc": true, "gcc": true, "binutils": true}
)

// compareVersions orders versions the way package versions are usually
// compared: runs of digits numerically, runs of letters lexically, other
// characters separate; a version that is a prefix of another is older.
func compareVersions(a, b string) int {
	ta, tb := versionTokens(a), versionTokens(b)
	for i := 0; i < len(ta) && i < len(tb); i++ {
		x, y := ta[i], tb[i]
		xn, xerr := strconv.ParseUint(x, 10, 64)
		yn, yerr := strconv.ParseUint(y, 10, 64)
		switch {
		case xerr == nil && yerr == nil:
			if xn != yn {
				if xn < yn {
					return -1
				}
				return 1
			}
		case xerr == nil: // a number is newer than letters ("1.0" > "1.rc")
			return 1
		case yerr == nil:
			return -1
		default:
			if c := strings.Compare(x, y); c != 0 {
				return c
			}
		}
	}
	switch {
	case len(ta) < len(tb):
		return -1
	case len(ta) > len(tb):
		return 1
	}
	return 0
}

func versionTokens(v string) []string {
	var out []string
	cur := []rune{}
	kind := 0 // 1 digit, 2 letter
	flush := func() {
		if len(cur) > 0 {
			out = append(out, string(cur))
			cur = cur[:0]
		}
	}
	for _, r := range strings.ToLower(v) {
		k := 0
		switch {
		case unicode.IsDigit(r):
			k = 1
		case unicode.IsLetter(r):
			k = 2
		}
		if k == 0 || k != kind {
			flush()
		}
		kind = k
		if k != 0 {
			cur = append(cur, r)
		}
	}
	flush()
	return out
}

// extra is the value of one with_field extra (and of the same field of
// GET cves/{id}). The shapes follow NVD's JSON feed, which Vigiles' field
// names (impact, problem_types, assigner) come from; Vigiles' own shapes are
// unverified.
func (c CVE) extra(field string) any {
	switch field {
	case "assigner":
		if c.Assigner != "" {
			return c.Assigner
		}
		return "cve@mitre.org"
	case "description":
		return c.Description
	case "published":
		return c.Published
	case "modified":
		if c.Modified != "" {
			return c.Modified
		}
		return c.Published
	case "impact":
		return map[string]any{"baseMetricV3": map[string]any{
			"cvssV3": map[string]any{"version": "3.1", "baseScore": c.CVSS, "vectorString": c.Vector, "baseSeverity": strings.ToUpper(severity(c.CVSS))},
		}}
	case "problem_types":
		cwes := c.CWEs
		if len(cwes) == 0 {
			cwes = []string{"NVD-CWE-noinfo"}
		}
		return cwes
	case "references":
		return []string{"https://nvd.nist.gov/vuln/detail/" + c.ID}
	}
	return nil
}
