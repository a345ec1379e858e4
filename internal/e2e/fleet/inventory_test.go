package fleet_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/internal/flowtest"
)

// TestFleetBadInventories feeds broken inventories naming live simulators
// to the CLI: each must exit 1 with an error at FILE:LINE, and no request
// may reach any simulator.
func TestFleetBadInventories(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2, "vcf")
	url1, url2 := e.fleet.Get("vcf-1").Server.URL, e.fleet.Get("vcf-2").Server.URL
	ca := e.fleet.CAFile
	// good is a valid target block at the given indent; @ marks nothing.
	target := func(name, url, extra string) string {
		return "    " + name + ":\n" +
			"      vendor: vcf\n" +
			"      url: " + url + "\n" +
			"      tls: {ca_file: " + ca + "}\n" +
			"      credentials: {VCF_PASSWORD: env:VCF_PASSWORD}\n" + extra
	}
	head := "vars: {realm: flt-idb02, client_id: ci-bot, token_name: ci-bot-main}\n"

	cases := []struct {
		name  string
		yaml  string
		limit string
		// line is a substring of the line the error must name ("" when
		// the whole file is at fault); words must all be in the error.
		line  string
		words []string
		// not must appear nowhere in the output (a refused secret).
		not string
	}{
		{
			name:  "unknown key",
			yaml:  head + "targets:\n" + target("vcf-1", url1, "      lables: {site: east}\n"),
			line:  "lables:",
			words: []string{"unknown key", "lables", "labels"},
		},
		{
			name: "duplicate target",
			yaml: head + "groups:\n  a:\n    targets:\n" + indent(target("vcf-1", url1, ""), 4) +
				"  b:\n    targets:\n" + indent(target("vcf-1", url2, ""), 4),
			line:  "\x00dup", // checked below: both definitions named
			words: []string{"duplicate target", "vcf-1"},
		},
		{
			name:  "unknown vendor",
			yaml:  head + "targets:\n" + strings.Replace(target("vcf-1", url1, ""), "vendor: vcf", "vendor: vfc", 1),
			line:  "vendor: vfc",
			words: []string{"unknown vendor", "vfc", "vcf"},
		},
		{
			name:  "plaintext credential",
			yaml:  head + "targets:\n" + strings.Replace(target("vcf-1", url1, ""), "env:VCF_PASSWORD", "Literal-Canary-7731", 1),
			line:  "Literal-Canary-7731",
			words: []string{"literal", "env:", "file:"},
			not:   "Literal-Canary-7731",
		},
		{
			name:  "secret-looking var",
			yaml:  head + "targets:\n" + target("vcf-1", url1, "      vars: {admin_password: Var-Canary-5512}\n"),
			line:  "Var-Canary-5512",
			words: []string{"admin_password", "credentials"},
			not:   "Var-Canary-5512",
		},
		{
			name: "unset environment variable",
			yaml: head + "targets:\n" + strings.Replace(target("vcf-1", url1, ""), "env:VCF_PASSWORD", "env:TOKENFLOW_E2E_UNSET_PW", 1),
			line: "TOKENFLOW_E2E_UNSET_PW",
			// Every target's credentials are resolved before anything runs:
			// the run stops naming each reference that cannot be resolved.
			words: []string{"cannot be resolved", "bad.yaml:7: target vcf-1", "credential VCF_PASSWORD (env:TOKENFLOW_E2E_UNSET_PW)", "not set", "nothing was run"},
		},
		{
			name:  "limit matching nothing",
			yaml:  head + "targets:\n" + target("vcf-1", url1, "") + target("vcf-2", url2, ""),
			limit: "bigip-*",
			words: []string{"--limit", "vcf-1"},
		},
		{
			name:  "empty inventory",
			yaml:  "# nothing yet\n",
			words: []string{"no target"},
		},
		{
			name:  "no targets",
			yaml:  head + "targets: {}\n",
			words: []string{"no target"},
		},
		{
			name:  "yaml syntax error",
			yaml:  head + "targets:\n" + target("vcf-1", url1, "      labels: {site: east\n"),
			line:  "labels: {site: east",
			words: []string{"invalid YAML"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inv := filepath.Join(t.TempDir(), "bad.yaml")
			if err := os.WriteFile(inv, []byte(c.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			args := []string{"--targets", inv}
			if c.limit != "" {
				args = append(args, "--limit", c.limit)
			}
			r := e.run(30*time.Second, append([]string{"run", flowtest.Flow("vcf/onboard.star")}, args...)...)
			exitCode(t, r, 1)
			all := r.stdout + r.stderr
			if c.line == "\x00dup" {
				var at []string
				for i, l := range strings.Split(c.yaml, "\n") {
					if strings.TrimSpace(l) == "vcf-1:" {
						at = append(at, inv+":"+strconv.Itoa(i+1))
					}
				}
				if len(at) != 2 || !strings.Contains(all, at[0]) || !strings.Contains(all, at[1]) {
					t.Errorf("the error does not name both definitions %v\n%s", at, r)
				}
			} else if c.line != "" {
				n := lineOf(t, c.yaml, c.line)
				if !regexp.MustCompile(regexp.QuoteMeta(inv) + ":" + strconv.Itoa(n) + `\b`).MatchString(all) {
					t.Errorf("the error does not name %s:%d\n%s", inv, n, r)
				}
			} else if !strings.Contains(all, inv) {
				t.Errorf("the error does not name %s\n%s", inv, r)
			}
			for _, w := range c.words {
				if !strings.Contains(strings.ToLower(all), strings.ToLower(w)) {
					t.Errorf("the error does not say %q\n%s", w, r)
				}
			}
			if c.not != "" && strings.Contains(all, c.not) {
				t.Errorf("the output shows the refused secret\n%s", r)
			}
			if n, _ := e.requests(); n != 0 {
				t.Fatalf("%d requests reached the simulators\n%s", n, r)
			}
			t.Logf("%s: %s", c.name, strings.TrimSpace(r.stderr+r.stdout))
		})
	}
}

// lineOf is the 1-based line of yaml holding sub.
func lineOf(t *testing.T, yaml, sub string) int {
	t.Helper()
	for i, l := range strings.Split(yaml, "\n") {
		if strings.Contains(l, sub) {
			return i + 1
		}
	}
	t.Fatalf("%q not in the inventory", sub)
	return 0
}

func indent(s string, n int) string {
	pad := strings.Repeat(" ", n)
	var b strings.Builder
	for _, l := range strings.SplitAfter(s, "\n") {
		if l != "" {
			b.WriteString(pad + l)
		}
	}
	return b.String()
}
