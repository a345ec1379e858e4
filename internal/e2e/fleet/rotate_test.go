package fleet_test

import (
	"strings"
	"testing"
	"time"
)

// TestRotateDue: after a fleet onboarding, `rotate --due` with a window the
// tokens do not reach says nothing is due and exits 0 without a write; with
// a window they reach, it rotates every target's token as one fleet run,
// reaching each target as the onboarding journaled it (no inventory given),
// and every target ends with one current token, a new one, that the vendor
// lists.
func TestRotateDue(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 6, "vcf")
	exitCode(t, e.fleetRun(30*time.Second, "vcf/onboard.star"), 0)
	db := e.openState()
	before := map[string]string{}
	for _, r := range e.fleet.Instances {
		cur := current(t, db, r.Name, vcfToken)
		if len(cur) != 1 {
			t.Fatalf("%s: %d current tokens after onboarding", r.Name, len(cur))
		}
		before[r.Name] = cur[0].Value
	}
	db.Close()

	_, w0 := e.requests()
	r := e.run(30*time.Second, "rotate", "--due", "7d")
	exitCode(t, r, 0)
	if !strings.Contains(r.stdout, "Nothing is due") {
		t.Errorf("rotate --due 7d with tokens valid for 30 days:\n%s", r)
	}
	if _, w := e.requests(); w != w0 {
		t.Errorf("a rotate with nothing due sent %d write(s)", w-w0)
	}

	r = e.run(60*time.Second, "rotate", "--due", "31d", "--json")
	exitCode(t, r, 0)
	lines, sum := parseJSON(t, r.stdout)
	if sum.Counts["ok"] != len(e.fleet.Instances) || len(lines) != len(e.fleet.Instances) {
		t.Fatalf("rotate --due 31d: %+v\n%s", sum, r)
	}
	db = e.openState()
	defer db.Close()
	for _, inst := range e.fleet.Instances {
		cur := current(t, db, inst.Name, vcfToken)
		if len(cur) != 1 {
			t.Fatalf("%s: %d current tokens after the rotation", inst.Name, len(cur))
		}
		if cur[0].Value == before[inst.Name] || cur[0].RotatedAt.IsZero() {
			t.Errorf("%s: the token was not rotated", inst.Name)
		}
		live := false
		for _, tok := range e.vcf(inst.Name).Tokens(realmID) {
			if tok.ID == cur[0].Labels["token_id"] {
				live = true
			}
		}
		if !live {
			t.Errorf("%s: the stored token id %s is not listed by its appliance", inst.Name, cur[0].Labels["token_id"])
		}
	}
}
