package engine_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/engine"
	"github.com/tokenflow/tokenflow/engine/state"
)

// Two runs changing one target do not overlap, in one process or two (the
// lock is a file lock; a second descriptor conflicts as another process
// would): the second waits, and one that waits past its bound sends
// nothing and names who holds the target.
func TestRunsOnOneTargetTakeTurns(t *testing.T) {
	it := newItems(t)
	e := newResumeEnv(t, map[string]string{"flow.star": `k = connect("testkit", url = "` + it.URL + `")
k.create(name = "x")
`})
	release, err := e.st.LockTarget(context.Background(), "acme-1", "pid 1, run other-run", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.run(engine.Options{Target: "acme-1", TargetLockWait: 300 * time.Millisecond})
	if !errors.Is(err, state.ErrTargetBusy) {
		t.Fatalf("err = %v, want ErrTargetBusy", err)
	}
	wantErr(t, err, "target acme-1", "pid 1, run other-run", "nothing was sent")
	if n := it.posts.Load(); n != 0 {
		t.Fatalf("the refused run sent %d writes", n)
	}
	// Another target is not held up.
	if _, err := e.run(engine.Options{Target: "acme-2", TargetLockWait: 300 * time.Millisecond}); err != nil {
		t.Fatalf("other target: %v", err)
	}
	// A run that waits goes on once the holder lets go.
	var wg sync.WaitGroup
	wg.Add(1)
	var waited error
	go func() {
		defer wg.Done()
		_, waited = e.run(engine.Options{Target: "acme-1", TargetLockWait: 10 * time.Second})
	}()
	time.Sleep(200 * time.Millisecond)
	if n := it.posts.Load(); n != 1 {
		t.Fatalf("a waiting run wrote while the target was held (%d writes)", n)
	}
	release()
	wg.Wait()
	if waited != nil || it.posts.Load() != 2 {
		t.Fatalf("waiting run: %v, %d writes; want it done once the lock was released", waited, it.posts.Load())
	}
	// A dry-run changes nothing and waits for no one.
	release, _ = e.st.LockTarget(context.Background(), "acme-1", "pid 1, run other-run", time.Second)
	defer release()
	if _, err := e.run(engine.Options{Target: "acme-1", DryRun: true, TargetLockWait: 100 * time.Millisecond}); err != nil {
		t.Fatalf("dry-run: %v", err)
	}
}
