package pgstate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokenflow/tokenflow/engine/state"
)

var _ state.TargetLocker = (*DB)(nil)

// leaseTTL is how long a lease outlives its holder's last renewal: a
// machine that dies mid-run frees its target this long after. Renewals come
// every leaseTTL/3, so a holder misses two before losing it.
var leaseTTL = 60 * time.Second

// LockTarget takes the target's lease in the target_leases table: a lease,
// not a session advisory lock, because a fleet's runs share a small pool of
// connections and must not each pin one for a whole run. The lease is
// renewed while held and deleted on release; one whose holder stopped
// renewing (a machine that died) is taken over once it expired.
func (db *DB) LockTarget(ctx context.Context, target, holder string, wait time.Duration) (func(), error) {
	b := make([]byte, 16)
	rand.Read(b)
	token := hex.EncodeToString(b)
	deadline := time.Now().Add(wait)
	for pause := 20 * time.Millisecond; ; pause = min(pause*2, 500*time.Millisecond) {
		var got string
		err := db.pool.QueryRow(ctx, `INSERT INTO target_leases (target, holder, token, expires_at)
			VALUES ($1, $2, $3, now() + make_interval(secs => $4))
			ON CONFLICT (target) DO UPDATE SET holder = EXCLUDED.holder, token = EXCLUDED.token, expires_at = EXCLUDED.expires_at
			WHERE target_leases.expires_at < now()
			RETURNING token`, target, holder, token, leaseTTL.Seconds()).Scan(&got)
		switch {
		case err == nil && got == token:
			return db.holdLease(target, token), nil
		case err != nil && !errors.Is(err, pgx.ErrNoRows):
			return nil, db.wrap(fmt.Errorf("take the lease of target %s: %w", target, err))
		}
		if !time.Now().Before(deadline) {
			var other string
			var until time.Time
			if err := db.pool.QueryRow(ctx, `SELECT holder, expires_at FROM target_leases WHERE target = $1`, target).Scan(&other, &until); err != nil {
				other = "holder unknown"
			}
			return nil, fmt.Errorf("%w (%s; waited %s)", state.ErrTargetBusy, other, wait)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(min(pause, time.Until(deadline))):
		}
	}
}

// holdLease renews the lease until the returned release deletes it.
func (db *DB) holdLease(target, token string) func() {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(leaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				ctx, cancel := context.WithTimeout(context.Background(), leaseTTL/3)
				db.pool.Exec(ctx, `UPDATE target_leases SET expires_at = now() + make_interval(secs => $3) WHERE target = $1 AND token = $2`, target, token, leaseTTL.Seconds())
				cancel()
			}
		}
	}()
	return func() {
		close(stop)
		<-done
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		db.pool.Exec(ctx, `DELETE FROM target_leases WHERE target = $1 AND token = $2`, target, token)
	}
}
