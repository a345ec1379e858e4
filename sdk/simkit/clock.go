package simkit

import (
	"sync"
	"time"
)

// Clock is the time source of a simulator. It is safe for concurrent use.
//
// A clock made by [NewClock] is frozen: Now returns the start time plus whatever was added with
// Advance, and does not move with wall time. A clock made by [NewRealClock] follows wall time,
// and Advance and Set shift it by an offset.
type Clock struct {
	mu     sync.Mutex
	real   bool
	now    time.Time     // frozen clocks: the current time
	offset time.Duration // real clocks: added to time.Now()
}

// NewClock returns a frozen clock reading start. A zero start means time.Now().
func NewClock(start time.Time) *Clock {
	if start.IsZero() {
		start = time.Now()
	}
	return &Clock{now: start}
}

// NewRealClock returns a clock that follows wall time. Advance and Set move it by an offset.
func NewRealClock() *Clock {
	return &Clock{real: true}
}

// Now returns the clock's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.real {
		return time.Now().Add(c.offset)
	}
	return c.now
}

// Advance moves the clock forward by d (backwards when d is negative).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.real {
		c.offset += d
		return
	}
	c.now = c.now.Add(d)
}

// Set makes the clock read t now. A real clock keeps ticking from t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.real {
		c.offset = time.Until(t)
		return
	}
	c.now = t
}
