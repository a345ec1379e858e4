package fleet_test

import (
	"strings"
	"testing"
	"time"

	bigipsim "github.com/tokenflow/tokenflow/plugins/bigip/sim"
)

// TestFleetOnboardingConverges onboards 20 VCF targets, then onboards them
// again (no write may reach any appliance), then dry-runs (no change pending).
func TestFleetOnboardingConverges(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 20, "vcf")
	names := make([]string, 0, 20)
	for _, r := range e.fleet.Instances {
		names = append(names, r.Name)
	}

	first := e.fleetRun(30*time.Second, "vcf/onboard.star", "--json")
	t.Logf("first onboarding of 20 targets: %s", first.elapsed)
	exitCode(t, first, 0)
	lines, sum := parseJSON(t, first.stdout)
	if sum.Targets != 20 || sum.Counts["ok"] != 20 || len(sum.Failed) != 0 || sum.RunID == "" {
		t.Fatalf("summary %+v", sum)
	}
	for _, n := range names {
		l, ok := lines[n]
		if !ok || l.Status != "ok" || l.RunID == "" || l.Outputs["token_action"] != "issued" {
			t.Fatalf("target %s: %+v", n, l)
		}
	}
	if _, w := e.requests(); w < 20*3 {
		// Each fresh appliance gets a client, its roles and a token.
		t.Fatalf("the first onboarding wrote %d times to 20 appliances", w)
	}

	// One current token per target under the same name, all distinct, each
	// the live secret of that target's appliance and of no other.
	db := e.openState()
	seen := map[string]string{}
	for _, n := range names {
		cur := current(t, db, n, vcfToken)
		if len(cur) != 1 {
			t.Fatalf("target %s has %d current %s tokens", n, len(cur), vcfToken)
		}
		v := cur[0].Value
		if other, dup := seen[v]; dup {
			t.Fatalf("targets %s and %s store the same token", other, n)
		}
		seen[v] = n
		if !e.vcf(n).TokenSecretValid(v) {
			t.Fatalf("the token stored for %s is not live on its appliance", n)
		}
		if other := names[(indexOf(names, n)+1)%len(names)]; e.vcf(other).TokenSecretValid(v) {
			t.Fatalf("the token stored for %s works on %s", n, other)
		}
		if toks := e.vcf(n).Tokens(realmID); len(toks) != 1 {
			t.Fatalf("%s holds %d tokens", n, len(toks))
		}
	}
	db.Close() // the next runs write the state

	for _, r := range e.fleet.Instances {
		r.Sim.Recorder().Reset()
	}
	second := e.fleetRun(30*time.Second, "vcf/onboard.star")
	t.Logf("second onboarding: %s", second.elapsed)
	exitCode(t, second, 0)
	all, writes := e.requests()
	if all < 20 || writes != 0 {
		t.Fatalf("the second onboarding sent %d requests, %d of them writes (want reads only)\n%s", all, writes, second)
	}
	text := textLines(second.stdout)
	for _, n := range names {
		if l := text[n]; !strings.HasPrefix(l, "ok ") || !strings.Contains(l, "done") {
			t.Fatalf("target %s: %q\n%s", n, l, second)
		}
	}
	if !strings.Contains(second.stdout, "20 ok.") {
		t.Fatalf("no summary of 20 ok:\n%s", second)
	}

	dry := e.fleetRun(30*time.Second, "vcf/onboard.star", "--dry-run", "--json")
	exitCode(t, dry, 0)
	lines, sum = parseJSON(t, dry.stdout)
	if sum.Counts["ok"] != 20 || len(lines) != 20 {
		t.Fatalf("dry-run summary %+v", sum)
	}
	for n, l := range lines {
		if l.Status != "ok" || l.Pending != 0 {
			t.Fatalf("dry-run of %s: %+v", n, l)
		}
	}
	if _, w := e.requests(); w != 0 {
		t.Fatalf("the dry-run wrote %d times", w)
	}
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// TestFleetBigIPSessionTwice keeps a BIG-IP session token on 5 targets; the
// second run only checks the stored tokens (GETs).
func TestFleetBigIPSessionTwice(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 5, "bigip")
	first := e.fleetRun(30*time.Second, "bigip/session.star", "--json")
	exitCode(t, first, 0)
	lines, sum := parseJSON(t, first.stdout)
	if sum.Counts["ok"] != 5 {
		t.Fatalf("summary %+v", sum)
	}
	for n, l := range lines {
		if l.Outputs["action"] != "logged_in" {
			t.Fatalf("first run of %s: %+v", n, l)
		}
	}
	stored := map[string]string{}
	db := e.openState()
	for _, r := range e.fleet.Instances {
		cur := current(t, db, r.Name, bigipName(t, lines[r.Name]))
		if len(cur) != 1 {
			t.Fatalf("%s: %d current tokens", r.Name, len(cur))
		}
		stored[r.Name] = cur[0].Value
		if n := len(r.Sim.(*bigipsim.Sim).Tokens(bigipsim.DefaultUser)); n != 1 {
			t.Fatalf("%s holds %d tokens for %s", r.Name, n, bigipsim.DefaultUser)
		}
		r.Sim.Recorder().Reset()
	}
	db.Close()

	second := e.fleetRun(30*time.Second, "bigip/session.star", "--json")
	exitCode(t, second, 0)
	lines, _ = parseJSON(t, second.stdout)
	if n := e.nonGET(); n != 0 {
		t.Fatalf("the second run sent %d requests other than GET\n%s", n, second)
	}
	db = e.openState()
	for _, r := range e.fleet.Instances {
		if l := lines[r.Name]; l.Status != "ok" || l.Outputs["action"] != "kept" {
			t.Fatalf("second run of %s: %+v", r.Name, l)
		}
		cur := current(t, db, r.Name, bigipName(t, lines[r.Name]))
		if len(cur) != 1 || cur[0].Value != stored[r.Name] {
			t.Fatalf("%s: the stored token changed", r.Name)
		}
		if len(r.Sim.Recorder().Entries()) == 0 {
			t.Fatalf("%s was not checked", r.Name)
		}
	}
}

// bigipName is the store name session.star reports (its store_name output),
// or the default one.
func bigipName(t *testing.T, l line) string {
	t.Helper()
	if s, ok := l.Outputs["store_name"].(string); ok && s != "" {
		return s
	}
	t.Fatalf("no store_name output for %s: %v", l.Target, l.Outputs)
	return ""
}
