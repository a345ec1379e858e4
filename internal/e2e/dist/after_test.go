package dist_test

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/internal/flowtest"
)

// TestTemporalTargetsRotateAndRevokeFromTheSharedState: targets onboarded
// through Temporal journal how to reach them, so `rotate --due` and
// `revoke --run` on any machine with the shared state reach them (by the
// journaled URL, TLS and credential references), as for a local fleet.
func TestTemporalTargetsRotateAndRevokeFromTheSharedState(t *testing.T) {
	const n = 2
	cl := newCluster(t, n, "dist-after")
	cl.startWorker().ready(t)
	out, errOut, code, _ := cl.run(60*time.Second, "vcf/onboard.star")
	lines, _ := parse(t, out)
	if code != 0 || len(lines) != n {
		t.Fatalf("onboarding: exit %d\n%s\n%s", code, out, errOut)
	}
	ctx := context.Background()
	before := map[string]string{}
	for _, l := range lines {
		tok, err := cl.db.Get(ctx, l.Target, vcfToken)
		if err != nil {
			t.Fatal(err)
		}
		before[l.Target] = tok.Labels["token_id"]
	}
	local := func(args ...string) (string, int) {
		t.Helper()
		cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		b, err := cl.command(cctx, args...).CombinedOutput()
		var ee *exec.ExitError
		switch {
		case err == nil:
			return string(b), 0
		case errors.As(err, &ee):
			return string(b), ee.ExitCode()
		}
		t.Fatal(err)
		return "", 0
	}

	// Revoke the Temporal run of one target...
	victim, kept := lines[1], lines[0]
	vt, _ := cl.db.Get(ctx, victim.Target, vcfToken)
	rv, code := local("revoke", "--run", victim.RunID, "--yes", "--flows", flowtest.Flow())
	if code != 0 || !strings.Contains(rv, "revoked "+vcfToken) {
		t.Fatalf("revoke --run %s: exit %d\n%s", victim.RunID, code, rv)
	}
	if cl.sim(victim.Target).TokenSecretValid(vt.Value) {
		t.Errorf("%s still accepts the revoked token", victim.Target)
	}
	// ...and rotate what is due: the other target's token, reached as its
	// Temporal run journaled it.
	rot, code := local("rotate", "--due", "31d")
	if code != 0 || !strings.Contains(rot, "1 ok") {
		t.Fatalf("rotate --due 31d: exit %d\n%s", code, rot)
	}
	tok, err := cl.db.Get(ctx, kept.Target, vcfToken)
	if err != nil || tok.Labels["token_id"] == before[kept.Target] || !cl.sim(kept.Target).TokenSecretValid(tok.Value) {
		t.Errorf("%s: not rotated to a working token (%v)", kept.Target, err)
	}
	if _, err := cl.db.Get(ctx, victim.Target, vcfToken); err == nil {
		t.Errorf("%s: a current token after its revocation", victim.Target)
	}
}
