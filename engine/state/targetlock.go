package state

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// TargetLocker is a state that serialises, across processes, the runs that
// change one target: two overlapping cron runs rotating the same token would
// otherwise both issue a successor, and the loser's would be superseded
// without being revoked. The engine takes the lock for a journaled run that
// names its target (Options.Target) and holds it until the run ends.
type TargetLocker interface {
	// LockTarget waits up to wait for the target's lock; holder says who
	// takes it (no secret: a process id and a run id), shown to a run that
	// waits or gives up. It fails with ErrTargetBusy when wait passes.
	LockTarget(ctx context.Context, target, holder string, wait time.Duration) (release func(), err error)
}

// ErrTargetBusy means another run holds the target's lock.
var ErrTargetBusy = errors.New("another tokenflow run is changing this target")

var _ TargetLocker = (*DB)(nil)

// LockTarget holds an exclusive flock(2) on a file under the state
// directory's locks/, named by a hash of the target (the target may carry
// a host name an operator would rather not list). The kernel drops the
// lock when its process dies, so a killed run never leaves it held.
func (db *DB) LockTarget(ctx context.Context, target, holder string, wait time.Duration) (func(), error) {
	dir := filepath.Join(db.dir, "locks")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("target lock: %w", err)
	}
	sum := sha256.Sum256([]byte(target))
	path := filepath.Join(dir, hex.EncodeToString(sum[:12])+".lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("target lock: %w", err)
	}
	deadline := time.Now().Add(wait)
	for pause := 10 * time.Millisecond; ; pause = min(pause*2, 250*time.Millisecond) {
		ok, err := tryFlock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("target lock %s: %w", path, err)
		}
		if ok {
			break
		}
		if !time.Now().Before(deadline) {
			other, _ := os.ReadFile(path)
			f.Close()
			return nil, fmt.Errorf("%w (%s; waited %s)", ErrTargetBusy, describeHolder(other), wait)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(min(pause, time.Until(deadline))):
		}
	}
	// Who holds it, for a run that waits; best effort, the lock is what
	// counts.
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(holder), 0)
	}
	return func() { unflock(f); f.Close() }, nil
}

func describeHolder(b []byte) string {
	if s := strings.TrimSpace(string(b)); s != "" && len(s) < 200 {
		return s
	}
	return "holder unknown"
}
