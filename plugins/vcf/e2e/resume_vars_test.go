package vcf_test

import (
	"strings"
	"testing"
)

// TestResumeAcceptsACorrectedVar: an onboarding stopped by a bad --var
// (the vendor refuses the role after the client was created) is finished by
// --resume with the corrected var, which no finished step used; the failure
// says so instead of suggesting a plain --resume. A corrected var that
// changed what a finished step sent is refused, naming the var.
func TestResumeAcceptsACorrectedVar(t *testing.T) {
	e := newEnv(t)
	c := newCLI(t, e)
	out, _, err := c.run(c.flow("onboard.star", "--var", "role=no_such_role")...)
	if err == nil {
		t.Fatalf("an unknown role was accepted:\n%s", out)
	}
	if !strings.Contains(out, "invalid_argument") || !strings.Contains(out, "--resume") || !strings.Contains(out, "--var NAME=VALUE") {
		t.Errorf("the failure does not say how to continue with a corrected var:\n%s", out)
	}
	id := c.lastRun()

	// A var a finished step used (the client's id) cannot be corrected.
	out, _, err = c.run("run", "--resume", id, "--var", "client_id=other-bot")
	if err == nil || !strings.Contains(out, "resume refused") || !strings.Contains(out, "--var client_id") {
		t.Fatalf("a var that changed a finished step was accepted (%v):\n%s", err, out)
	}

	out, _, err = c.run("run", "--resume", id, "--var", "role=vcf_viewer")
	if err != nil {
		t.Fatalf("resume with the corrected role: %v\n%s", err, out)
	}
	if n := len(e.sim.APIClients(realmID)); n != 1 {
		t.Errorf("%d API clients after the resume, want 1 (the one the first run made)", n)
	}
	cur := 0
	for _, v := range c.versions("vcf/ci-bot/ci-bot-main") {
		if v.State == "current" {
			cur++
		}
	}
	if cur != 1 {
		t.Errorf("%d current tokens after the resume, want 1", cur)
	}
}
