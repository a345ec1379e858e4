package engine

import (
	"fmt"
	"os"
	"time"

	"github.com/tokenflow/tokenflow/engine/state"
)

// defaultTargetLockWait outlasts a rotation (a handful of requests with
// their retries) without leaving a cron job hung behind a stuck one.
const defaultTargetLockWait = 2 * time.Minute

// lockTarget serialises the journaled runs that change one target, across
// processes, when the state can (state.TargetLocker): a dry-run, a replay
// and a run without state change nothing to serialise. A run that has to
// wait says so on the run's log after a second, so an operator watching a
// quiet terminal knows why.
func (r *run) lockTarget() (func(), error) {
	locker, ok := r.journal.(state.TargetLocker)
	if !ok || r.opts.Target == "" {
		return func() {}, nil
	}
	wait := r.opts.TargetLockWait
	if wait == 0 {
		wait = defaultTargetLockWait
	}
	host, _ := os.Hostname()
	holder := fmt.Sprintf("pid %d on %s, run %s, since %s", os.Getpid(), host, r.id, time.Now().UTC().Format(time.RFC3339))
	note := time.AfterFunc(time.Second, func() {
		fmt.Fprintf(r.log, "Waiting (up to %s) for another tokenflow run changing %s to finish...\n", wait, r.opts.Target)
	})
	release, err := locker.LockTarget(r.ctx, r.opts.Target, holder, wait)
	note.Stop()
	switch {
	case err != nil && r.ctx.Err() != nil:
		return nil, fmt.Errorf("stopped while waiting for another tokenflow run changing %s to finish: %w; nothing was sent", r.opts.Target, err)
	case err != nil:
		return nil, fmt.Errorf("target %s: %w: nothing was sent. Let that run finish (or stop it), then run this again", r.opts.Target, err)
	}
	return release, nil
}
