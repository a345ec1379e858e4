package pgstate

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/engine/state"
)

// Two machines' runs on one target take turns through its lease: the
// second waits, gives up past its bound naming the holder, goes on once the
// lease is released; other targets are not held up; a lease its holder
// stopped renewing (a machine that died) is taken over once it expired,
// and a held lease is renewed past its TTL.
func TestTargetLeasesSerialiseMachines(t *testing.T) {
	old := leaseTTL
	leaseTTL = 900 * time.Millisecond
	t.Cleanup(func() { leaseTTL = old })
	ctx := context.Background()
	a, b := twoWorkers(t)

	release, err := a.LockTarget(ctx, "vcf-1", "pid 1 on host-a, run R1", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.LockTarget(ctx, "vcf-1", "pid 2 on host-b, run R2", 200*time.Millisecond)
	if !errors.Is(err, state.ErrTargetBusy) || !strings.Contains(err.Error(), "pid 1 on host-a, run R1") {
		t.Fatalf("second machine: %v, want ErrTargetBusy naming the holder", err)
	}
	rel2, err := b.LockTarget(ctx, "vcf-2", "pid 2 on host-b, run R2", 200*time.Millisecond)
	if err != nil {
		t.Fatalf("another target: %v", err)
	}
	rel2()
	// Held past several TTLs: renewed, so still refused.
	time.Sleep(2 * leaseTTL)
	if _, err := b.LockTarget(ctx, "vcf-1", "pid 2", 100*time.Millisecond); !errors.Is(err, state.ErrTargetBusy) {
		t.Fatalf("a renewed lease was taken over: %v", err)
	}
	got := make(chan error, 1)
	go func() {
		r, err := b.LockTarget(ctx, "vcf-1", "pid 2", 10*time.Second)
		if err == nil {
			r()
		}
		got <- err
	}()
	time.Sleep(100 * time.Millisecond)
	release()
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("after the release: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("still waiting after the release")
	}

	// A holder that died: its lease is not renewed and expires.
	if _, err := a.pool.Exec(ctx, `INSERT INTO target_leases VALUES ('vcf-3', 'dead machine', 'x', now() + interval '300 milliseconds')`); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r3, err := b.LockTarget(ctx, "vcf-3", "pid 2", 5*time.Second)
	if err != nil {
		t.Fatalf("an expired lease was not taken over: %v", err)
	}
	r3()
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("took an unexpired lease after %s", d)
	}
	var n int
	a.pool.QueryRow(ctx, `SELECT count(*) FROM target_leases`).Scan(&n)
	if n != 0 {
		t.Errorf("%d leases left after every release", n)
	}
}
