package fleet_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/internal/flowtest"
)

// TestRevokeFleetTargetRun: `tokenflow revoke --run RUN` for the run of one
// fleet target reaches that target as the run journaled it (its URL, TLS
// and credentials; the tokens' target is the inventory name, not a URL),
// deletes the token at the appliance and marks it revoked, and leaves the
// other targets alone. The fleet run itself is refused with the way to its
// targets' runs.
func TestRevokeFleetTargetRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2, "vcf")
	r := e.fleetRun(30*time.Second, "vcf/onboard.star", "--json")
	exitCode(t, r, 0)
	lines, sum := parseJSON(t, r.stdout)
	victim, other := e.fleet.Instances[0].Name, e.fleet.Instances[1].Name
	runID := lines[victim].RunID
	if runID == "" {
		t.Fatalf("no run id for %s:\n%s", victim, r.stdout)
	}
	db := e.openState()
	tokenID := current(t, db, victim, vcfToken)[0].Labels["token_id"]
	db.Close()

	parent := e.run(30*time.Second, "revoke", "--run", sum.RunID)
	exitCode(t, parent, 1)
	if !strings.Contains(parent.stderr, "is a fleet run") || !strings.Contains(parent.stderr, "runs show "+sum.RunID) {
		t.Errorf("revoke of the fleet run:\n%s", parent)
	}

	rv := e.run(60*time.Second, "revoke", "--run", runID, "--yes", "--flows", flowtest.Flow())
	exitCode(t, rv, 0)
	if !strings.Contains(rv.stdout, "revoked "+vcfToken) {
		t.Errorf("revoke output:\n%s", rv)
	}
	for _, tok := range e.vcf(victim).Tokens(realmID) {
		if tok.ID == tokenID {
			t.Errorf("%s still lists the revoked token %s", victim, tokenID)
		}
	}
	db = e.openState()
	defer db.Close()
	if cur := current(t, db, victim, vcfToken); len(cur) != 0 {
		t.Errorf("%s: %d current tokens after the revocation, want 0", victim, len(cur))
	}
	if cur := current(t, db, other, vcfToken); len(cur) != 1 || len(e.vcf(other).Tokens(realmID)) != 1 {
		t.Errorf("%s: the other target's token was touched (%d current)", other, len(cur))
	}
}
