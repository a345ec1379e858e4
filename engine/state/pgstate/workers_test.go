package pgstate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/engine/store"
)

// Two workers share one database, each with its own pool (as two machines
// would), and rotate one shared name.
func twoWorkers(t *testing.T) (a, b *DB) {
	url, keys := pg.NewDatabase(t), newKeys(t)
	return open(t, url, keys), open(t, url, keys)
}

// TestRotationsOfOneNameTakeTurns: while one transaction holds the name's
// lock, a Put of that name waits, and goes on when the lock is released; a
// Put of another name does not wait.
func TestRotationsOfOneNameTakeTurns(t *testing.T) {
	ctx := context.Background()
	a, b := twoWorkers(t)
	must(t, a.Put(ctx, store.Token{Target: "east", Name: "shared", Value: "v0"}))

	tx, err := a.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if err := lock(ctx, tx, "east", "shared"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- b.Put(ctx, store.Token{Target: "east", Name: "shared", Value: "v1"}) }()
	select {
	case err := <-done:
		t.Fatalf("put went through while the name was locked: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	// Another name, and the same name on another target, are not held up.
	must(t, b.Put(ctx, store.Token{Target: "east", Name: "other", Value: "w"}))
	must(t, b.Put(ctx, store.Token{Target: "west", Name: "shared", Value: "w"}))
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		must(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("put still waiting after the lock was released")
	}
	if got, _ := a.Get(ctx, "east", "shared"); got.Value != "v1" {
		t.Fatalf("current after the wait: %+v", got)
	}
}

// TestConcurrentRotationsKeepOneCurrent: two workers rotating one name as
// fast as they can, unfenced, never trip the one-current index and never
// lose a version: the lock makes them take turns.
func TestConcurrentRotationsKeepOneCurrent(t *testing.T) {
	ctx := context.Background()
	a, b := twoWorkers(t)
	const n = 25
	var wg sync.WaitGroup
	errs := make(chan error, 4*n)
	for w, db := range []*DB{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				if i%2 == 0 {
					errs <- db.Put(ctx, store.Token{Target: "east", Name: "shared", Value: fmt.Sprintf("w%d-%d", w, i)})
					continue
				}
				errs <- db.Put(ctx, store.Token{Target: "east", Name: "shared", Value: fmt.Sprintf("w%d-%d", w, i), State: store.Pending})
				errs <- db.Promote(ctx, "east", "shared")
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		// A promote may find the other worker already promoted its
		// pending version: nothing pending is the only allowed answer.
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
	}
	vs, err := a.Versions(ctx, "east", "shared")
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]int{}
	for _, v := range vs {
		states[v.State]++
	}
	if len(vs) != 2*n || states[store.Current] != 1 || states[store.Previous] != 2*n-1 {
		t.Fatalf("%d versions, states %v; want %d, one current, the rest previous", len(vs), states, 2*n)
	}
}

// TestStaleWorkerIsRefused: two workers read the same current version;
// the first rotates it; the second's fenced writes, based on what it read,
// are refused and change nothing.
func TestStaleWorkerIsRefused(t *testing.T) {
	ctx := context.Background()
	a, b := twoWorkers(t)
	must(t, a.Put(ctx, store.Token{Target: "east", Name: "shared", Value: "v0"}))
	readA, _ := a.Get(ctx, "east", "shared")
	readB, _ := b.Get(ctx, "east", "shared")

	id, err := a.PutIf(ctx, store.Token{Target: "east", Name: "shared", Value: "from-a", State: store.Pending}, readA.ID)
	must(t, err)
	// B, still on v0, stores its pending version before A promotes:
	// allowed, v0 is still current.
	idB, err := b.PutIf(ctx, store.Token{Target: "east", Name: "shared", Value: "from-b", State: store.Pending}, readB.ID)
	must(t, err)
	must(t, a.PromoteIf(ctx, "east", "shared", id, readA.ID))
	// A's promote retried (its answer was lost) is a no-op, not stale.
	must(t, a.PromoteIf(ctx, "east", "shared", id, readA.ID))

	err = b.PromoteIf(ctx, "east", "shared", idB, readB.ID)
	if !errors.Is(err, ErrStale) || !strings.Contains(err.Error(), "read the token again") || strings.Contains(err.Error(), "from-") {
		t.Fatalf("stale promote: %v", err)
	}
	_, err = b.PutIf(ctx, store.Token{Target: "east", Name: "shared", Value: "from-b-2"}, readB.ID)
	if !errors.Is(err, ErrStale) {
		t.Fatalf("stale put: %v", err)
	}
	got, _ := a.Get(ctx, "east", "shared")
	if got.Value != "from-a" || got.ID != id {
		t.Fatalf("current after the stale writes: %+v", got)
	}
	vs, _ := a.Versions(ctx, "east", "shared")
	if len(vs) != 3 {
		t.Fatalf("versions: %+v", vs)
	}
	// B reads again and goes on from what is current now.
	readB, _ = b.Get(ctx, "east", "shared")
	idB, err = b.PutIf(ctx, store.Token{Target: "east", Name: "shared", Value: "from-b-3", State: store.Pending}, readB.ID)
	must(t, err)
	must(t, b.PromoteIf(ctx, "east", "shared", idB, readB.ID))
	if got, _ := a.Get(ctx, "east", "shared"); got.Value != "from-b-3" {
		t.Fatalf("after B read again: %+v", got)
	}
	// A first version is fenced on there being none.
	if _, err := a.PutIf(ctx, store.Token{Target: "west", Name: "new", Value: "x"}, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := b.PutIf(ctx, store.Token{Target: "west", Name: "new", Value: "y"}, ""); !errors.Is(err, ErrStale) {
		t.Fatalf("second first version: %v", err)
	}
}

// TestFencedRotationsTakeTurns: two workers each rotate the shared name
// read-then-write, retrying from a fresh read when refused; every
// successful rotation replaces the version its worker read, so none is
// lost and the versions form one chain.
func TestFencedRotationsTakeTurns(t *testing.T) {
	ctx := context.Background()
	a, b := twoWorkers(t)
	must(t, a.Put(ctx, store.Token{Target: "east", Name: "shared", Value: "v0"}))
	const n = 10
	var mu sync.Mutex
	replaced := map[string]string{} // version id -> the id it replaced
	stale := 0
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for w, db := range []*DB{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < n; {
				cur, err := db.Get(ctx, "east", "shared")
				if err != nil {
					errs <- err
					return
				}
				id, err := db.PutIf(ctx, store.Token{Target: "east", Name: "shared", Value: fmt.Sprintf("w%d-%d", w, i), State: store.Pending}, cur.ID)
				if err == nil {
					err = db.PromoteIf(ctx, "east", "shared", id, cur.ID)
				}
				if errors.Is(err, ErrStale) {
					// The worker would revoke its new credential at
					// the vendor; here it marks the version.
					if id != "" {
						if err := db.SetState(ctx, id, store.Revoked); err != nil {
							errs <- err
							return
						}
					}
					mu.Lock()
					stale++
					mu.Unlock()
					continue
				}
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				replaced[id] = cur.ID
				mu.Unlock()
				i++
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(replaced) != 2*n {
		t.Fatalf("%d rotations, want %d", len(replaced), 2*n)
	}
	seen := map[string]bool{}
	for _, prev := range replaced {
		if seen[prev] {
			t.Fatalf("version %s was replaced twice: a rotation was lost", prev)
		}
		seen[prev] = true
	}
	vs, _ := a.Versions(ctx, "east", "shared")
	states := map[string]int{}
	for _, v := range vs {
		states[v.State]++
	}
	if states[store.Current] != 1 || states[store.Previous] != 2*n || states[store.Pending] != 0 {
		t.Fatalf("states %v", states)
	}
	t.Logf("%d rotations, %d refused as stale and retried", 2*n, stale)
}
