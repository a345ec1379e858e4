package engine

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/metrics"
	"sync"
	"time"

	"go.starlark.net/starlark"
)

// Defaults of the run limits (Options.MaxMemory, Options.Timeout).
const (
	DefaultMaxMemory = 1 << 30 // 1 GiB of Go heap
	DefaultTimeout   = 30 * time.Minute
)

// LimitError is a run stopped by one of its limits (steps, memory, time).
// The flow's position, when known, is in the FlowError that wraps it.
type LimitError struct {
	Limit string // "steps", "memory", "timeout"
	Msg   string
}

func (e *LimitError) Error() string { return e.Msg }

// Starlark has no allocation hook, so memory is bounded by a watchdog that
// samples the Go heap every memPoll and cancels the threads of every run
// whose ceiling the heap passed. What that bounds, and what it does not:
//   - the heap is the process's: runs sharing a process (a fleet) share it,
//     and one run's growth stops them all;
//   - one allocation is not stopped while it happens: a string doubling
//     from 1 GiB to 2 GiB allocates 2 GiB before the next sample sees it,
//     so the real peak can reach about twice the ceiling;
//   - the plugins are other processes and are not counted.
const memPoll = 5 * time.Millisecond

var heapSample = "/memory/classes/heap/objects:bytes"

// heapBytes is the Go heap in use (live objects and garbage not yet swept).
func heapBytes() uint64 {
	s := []metrics.Sample{{Name: heapSample}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// watchdog is the one sampler of the process; runs join and leave it.
var watchdog struct {
	sync.Mutex
	runs map[*run]struct{}
	stop chan struct{}
}

func watchMemory(r *run) {
	watchdog.Lock()
	defer watchdog.Unlock()
	if watchdog.runs == nil {
		watchdog.runs = map[*run]struct{}{}
	}
	watchdog.runs[r] = struct{}{}
	if watchdog.stop == nil {
		watchdog.stop = make(chan struct{})
		go sampleHeap(watchdog.stop)
	}
}

// minLimit is the lowest ceiling of the watched runs.
func minLimit() uint64 {
	watchdog.Lock()
	defer watchdog.Unlock()
	m := ^uint64(0)
	for r := range watchdog.runs {
		m = min(m, r.opts.MaxMemory)
	}
	return m
}

func unwatchMemory(r *run) {
	watchdog.Lock()
	defer watchdog.Unlock()
	delete(watchdog.runs, r)
	if len(watchdog.runs) == 0 && watchdog.stop != nil {
		close(watchdog.stop)
		watchdog.stop = nil
	}
}

func sampleHeap(stop chan struct{}) {
	t := time.NewTicker(memPoll)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		heap := heapBytes()
		if heap > minLimit() {
			// Garbage not yet collected counts in the sample: collect it
			// before stopping anything, so only live data trips a limit.
			runtime.GC()
			heap = heapBytes()
		}
		watchdog.Lock()
		for r := range watchdog.runs {
			if heap > r.opts.MaxMemory {
				r.hitLimit("memory", fmt.Sprintf("flow exceeded its memory limit of %s (the heap reached %s); raise it with --max-memory if the flow really needs more", FormatSize(r.opts.MaxMemory), FormatSize(heap)))
			}
		}
		watchdog.Unlock()
	}
}

// limitState is the part of a run the limits use.
type limitState struct {
	mu       sync.Mutex
	threads  []*starlark.Thread
	hit      *LimitError
	cancel   context.CancelCauseFunc
	parent   context.Context
	deadline *time.Timer
}

// track puts a thread of the run under the limits.
func (r *run) track(t *starlark.Thread) {
	r.lim.mu.Lock()
	defer r.lim.mu.Unlock()
	r.lim.threads = append(r.lim.threads, t)
	if r.lim.hit != nil {
		t.Cancel(r.lim.hit.Msg)
	}
}

// hitLimit stops the run: its threads at their next step, its op calls
// through the context. The first limit hit is the one reported.
func (r *run) hitLimit(limit, msg string) {
	r.lim.mu.Lock()
	defer r.lim.mu.Unlock()
	if r.lim.hit != nil {
		return
	}
	r.lim.hit = &LimitError{Limit: limit, Msg: msg}
	for _, t := range r.lim.threads {
		t.Cancel(msg)
	}
	if r.lim.cancel != nil {
		r.lim.cancel(r.lim.hit)
	}
}

// startLimits arms the memory watchdog and the wall-clock limit for the
// flow's execution; the returned func disarms them and gives back the
// run's own context (the journal must still record the end of the run).
func (r *run) startLimits() func() {
	if r.opts.MaxMemory == 0 {
		r.opts.MaxMemory = DefaultMaxMemory
	}
	if r.opts.Timeout == 0 {
		r.opts.Timeout = DefaultTimeout
	}
	ctx, cancel := context.WithCancelCause(r.ctx)
	r.lim.mu.Lock()
	r.lim.parent, r.lim.cancel = r.ctx, cancel
	r.lim.mu.Unlock()
	r.ctx = ctx
	timeout := r.opts.Timeout
	r.lim.deadline = time.AfterFunc(timeout, func() {
		r.hitLimit("timeout", fmt.Sprintf("flow exceeded its time limit of %s; raise it with --timeout if the flow really needs longer", timeout))
	})
	watchMemory(r)
	return func() {
		unwatchMemory(r)
		r.lim.deadline.Stop()
		cancel(nil)
		r.ctx = r.lim.parent
	}
}

// limitErr reports a hit limit in place of what the flow failed with (a
// cancelled thread or op call), at the flow line it had reached.
func (r *run) limitErr(err error) error {
	r.lim.mu.Lock()
	hit := r.lim.hit
	r.lim.mu.Unlock()
	if hit == nil || err == nil {
		return err
	}
	fe := &FlowError{Msg: hit.Msg, Err: hit}
	var prev *FlowError
	if errors.As(err, &prev) {
		fe.Position, fe.Backtrace = prev.Position, prev.Backtrace
	}
	return fe
}

// MaxWireString bounds one string the engine turns into JSON (an op's
// argument, an output): encoding copies it, up to six times over for
// escaped bytes, outside the watchdog's view. No vendor call needs more.
const MaxWireString = 64 << 20

func checkWireString(v starlark.Value) error {
	if s, ok := v.(starlark.String); ok && len(s) > MaxWireString {
		return fmt.Errorf("a string of %s: an op argument or output takes at most %s", FormatSize(uint64(len(s))), FormatSize(MaxWireString))
	}
	return nil
}

// FormatSize prints a byte count the way --max-memory takes it.
func FormatSize(n uint64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", n>>30)
	case n >= 1<<30:
		return fmt.Sprintf("%.1fGiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}
