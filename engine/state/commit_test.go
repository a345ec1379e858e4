package state

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// A write step's intent and a run's end are committed with
// synchronous=FULL (on disk when they return); a step's result and a
// run's start are committed with synchronous=NORMAL, and every write is
// visible to another connection as soon as it returns.
func TestIntentsAreSyncedResultsAreLazy(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "state")
	db := open(t, dir)
	sync := func() string { return db.writes.sync }
	if err := db.BeginRun(ctx, Run{ID: "r1", FlowPath: "f.star", StartedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if got := sync(); got != "NORMAL" {
		t.Errorf("run start committed with synchronous=%s, want NORMAL", got)
	}
	if err := db.StepIntent(ctx, Step{RunID: "r1", Seq: 1, Call: "acme.create", Effect: "write", ArgsHash: "h"}); err != nil {
		t.Fatal(err)
	}
	if got := sync(); got != "FULL" {
		t.Errorf("a write's intent committed with synchronous=%s, want FULL", got)
	}
	if err := db.StepFinished(ctx, "r1", 1, `{"id":"1"}`, []byte(`{"id":"1"}`), StepDone, ""); err != nil {
		t.Fatal(err)
	}
	if got := sync(); got != "NORMAL" {
		t.Errorf("a step's result committed with synchronous=%s, want NORMAL", got)
	}
	// Another reader sees the lazy write at once.
	other := open(t, dir)
	steps, err := other.Steps(ctx, "r1", false)
	if err != nil || len(steps) != 1 || steps[0].Status != StepDone {
		t.Fatalf("another connection sees %+v, %v; want step 1 done", steps, err)
	}
	if err := db.FinishRun(ctx, "r1", "ok", ""); err != nil {
		t.Fatal(err)
	}
	if got := sync(); got != "FULL" {
		t.Errorf("a run's end committed with synchronous=%s, want FULL", got)
	}
}

// Concurrent writers: every write commits (most in shared transactions),
// a failing write fails alone, and nothing is written after close.
func TestConcurrentWritersShareCommits(t *testing.T) {
	ctx := context.Background()
	db := open(t, filepath.Join(t.TempDir(), "state"))
	if err := db.BeginRun(ctx, Run{ID: "r", FlowPath: "f.star", StartedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	const writers, each = 16, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				seq := w*each + i + 1
				s := Step{RunID: "r", Seq: seq, Call: "acme.op", Effect: "read", ArgsHash: "h", Status: StepDone}
				if i%5 == 0 {
					errs <- db.StepIntent(ctx, s)
				} else {
					errs <- db.StepRecord(ctx, s)
				}
				// A write that fails (no such run: foreign key) fails alone.
				if i == 3 {
					if err := db.StepIntent(ctx, Step{RunID: "nope", Seq: seq, Call: "x", Effect: "write", ArgsHash: "h"}); err == nil {
						errs <- fmt.Errorf("a step of a missing run was written")
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	steps, err := db.Steps(ctx, "r", false)
	if err != nil || len(steps) != writers*each {
		t.Fatalf("%d steps, %v; want %d", len(steps), err, writers*each)
	}
	db.Close()
	if err := db.BeginRun(ctx, Run{ID: "late", FlowPath: "f.star", StartedAt: time.Now()}); err == nil {
		t.Fatal("a write after close succeeded")
	}
}

// A read step's record is deferred: the call returns before any commit,
// another connection sees it once the next transaction (here a write's
// intent) carried it, and a deferred record that cannot be written fails
// that transaction rather than vanishing.
func TestReadRecordsRideTheNextCommit(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "state")
	db := open(t, dir)
	if err := db.BeginRun(ctx, Run{ID: "r1", FlowPath: "f.star", StartedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	other := open(t, dir)
	seen := func() int {
		var n int
		if err := other.sql.QueryRowContext(ctx, `SELECT count(*) FROM steps WHERE run_id = 'r1'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for seq := 1; seq <= 3; seq++ {
		if err := db.StepRecord(ctx, Step{RunID: "r1", Seq: seq, Call: "acme.find", Effect: "read", ArgsHash: "h", Status: StepDone}); err != nil {
			t.Fatal(err)
		}
	}
	if n := seen(); n != 0 {
		t.Fatalf("%d read records committed before any write; want them deferred", n)
	}
	if err := db.StepIntent(ctx, Step{RunID: "r1", Seq: 4, Call: "acme.create", Effect: "write", ArgsHash: "h"}); err != nil {
		t.Fatal(err)
	}
	if n := seen(); n != 4 {
		t.Fatalf("%d steps after the intent; want the 3 reads committed with it", n)
	}
	// The run's own reader sees deferred records at once.
	if err := db.StepRecord(ctx, Step{RunID: "r1", Seq: 5, Call: "acme.find", Effect: "read", ArgsHash: "h", Status: StepDone}); err != nil {
		t.Fatal(err)
	}
	if steps, err := db.Steps(ctx, "r1", false); err != nil || len(steps) != 5 {
		t.Fatalf("Steps: %d, %v; want 5", len(steps), err)
	}
	// A record that cannot be written (no such run) fails the commit
	// that carries it.
	if err := db.StepRecord(ctx, Step{RunID: "nope", Seq: 1, Call: "acme.find", Effect: "read", ArgsHash: "h", Status: StepDone}); err != nil {
		t.Fatal(err)
	}
	err := db.StepIntent(ctx, Step{RunID: "r1", Seq: 6, Call: "acme.create", Effect: "write", ArgsHash: "h"})
	if err == nil || !strings.Contains(err.Error(), "an earlier step's record could not be written") {
		t.Fatalf("err = %v", err)
	}
	// A full queue commits on its own.
	for seq := 10; seq < 10+maxDeferred; seq++ {
		if err := db.StepRecord(ctx, Step{RunID: "r1", Seq: seq, Call: "acme.find", Effect: "read", ArgsHash: "h", Status: StepDone}); err != nil {
			t.Fatal(err)
		}
	}
	if n := seen(); n != 5+maxDeferred {
		t.Fatalf("%d steps after %d deferred records; want them committed", n, maxDeferred)
	}
	// Close commits what is left.
	if err := db.StepRecord(ctx, Step{RunID: "r1", Seq: 100, Call: "acme.find", Effect: "read", ArgsHash: "h", Status: StepDone}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if n := seen(); n != 6+maxDeferred {
		t.Fatalf("%d steps after close; want the last record committed", n)
	}
}
