package fleet_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/internal/flowtest"
)

// TestFleetInterruptAndResume: Ctrl-C (SIGINT) in the middle of a fleet run
// ends it cleanly with exit 3, the interrupted targets marked resumable and
// the command that continues it; that command finishes every target, and
// the targets done before the interrupt are not run again.
func TestFleetInterruptAndResume(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 24, "vcf")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := e.command(ctx, "run", flowtest.Flow("vcf/onboard.star"), "--targets", e.inv, "--parallel", "2", "--json")
	pr, pw := io.Pipe()
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = io.MultiWriter(&out, pw), &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		sent := false
		for sc.Scan() {
			var l line
			if !sent && json.Unmarshal(sc.Bytes(), &l) == nil && l.Status == "ok" {
				cmd.Process.Signal(syscall.SIGINT) // after the first target finished
				sent = true
			}
		}
	}()
	err := cmd.Wait()
	pw.Close()
	<-done
	if ctx.Err() != nil {
		t.Fatalf("the interrupted run did not end\n%s\n%s", out.String(), errb.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != 3 {
		t.Fatalf("interrupted fleet run exited %d (%v), want 3\n%s\n%s", code, err, out.String(), errb.String())
	}
	lines, sum := parseJSON(t, out.String())
	ok := 0
	for _, l := range lines {
		if l.Status == "ok" {
			ok++
		}
		if l.Status == "failed" {
			t.Errorf("target %s reported failed on an interrupt: %s", l.Target, l.Error)
		}
	}
	if ok == 0 || ok == len(e.fleet.Instances) {
		t.Fatalf("%d of %d targets finished before the interrupt; the test needs some but not all", ok, len(e.fleet.Instances))
	}
	id := sum.RunID
	if !strings.Contains(errb.String(), "--resume "+id) || !strings.Contains(errb.String(), "--targets "+e.inv) {
		t.Errorf("stderr does not say how to continue fleet run %s:\n%s", id, errb.String())
	}

	r := e.run(60*time.Second, "run", flowtest.Flow("vcf/onboard.star"), "--targets", e.inv, "--resume", id, "--json")
	exitCode(t, r, 0)
	lines, _ = parseJSON(t, r.stdout)
	completed := 0
	for _, l := range lines {
		switch l.Status {
		case "completed":
			completed++
		case "ok":
		default:
			t.Errorf("resumed target %s: %s %s", l.Target, l.Status, l.Error)
		}
	}
	if completed != ok {
		t.Errorf("%d targets were done before the interrupt but the resume skipped %d", ok, completed)
	}
	db := e.openState()
	defer db.Close()
	for _, inst := range e.fleet.Instances {
		if n := len(current(t, db, inst.Name, vcfToken)); n != 1 {
			t.Errorf("%s has %d current tokens after the resume, want 1", inst.Name, n)
		}
	}
}
