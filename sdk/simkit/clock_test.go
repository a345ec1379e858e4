package simkit

import (
	"testing"
	"time"
)

func TestFrozenClock(t *testing.T) {
	start := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		do   func(c *Clock)
		want time.Time
	}{
		{"start", func(*Clock) {}, start},
		{"advance", func(c *Clock) { c.Advance(90 * time.Minute) }, start.Add(90 * time.Minute)},
		{"advance twice", func(c *Clock) { c.Advance(time.Hour); c.Advance(24 * time.Hour) }, start.Add(25 * time.Hour)},
		{"advance backwards", func(c *Clock) { c.Advance(-time.Hour) }, start.Add(-time.Hour)},
		{"set", func(c *Clock) { c.Advance(time.Hour); c.Set(start.AddDate(1, 0, 0)) }, start.AddDate(1, 0, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewClock(start)
			tt.do(c)
			if got := c.Now(); !got.Equal(tt.want) {
				t.Fatalf("Now() = %v, want %v", got, tt.want)
			}
			time.Sleep(2 * time.Millisecond)
			if got := c.Now(); !got.Equal(tt.want) {
				t.Fatalf("frozen clock moved with wall time: %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNewClockZeroStartIsNow(t *testing.T) {
	before := time.Now()
	c := NewClock(time.Time{})
	if got := c.Now(); got.Before(before) || got.After(time.Now()) {
		t.Fatalf("NewClock(zero).Now() = %v, want about %v", got, before)
	}
}

func TestRealClock(t *testing.T) {
	c := NewRealClock()
	if d := time.Since(c.Now()); d < -time.Second || d > time.Second {
		t.Fatalf("real clock is %v away from wall time", d)
	}
	first := c.Now()
	time.Sleep(5 * time.Millisecond)
	if !c.Now().After(first) {
		t.Fatal("real clock does not tick")
	}

	c.Advance(48 * time.Hour)
	if d := c.Now().Sub(time.Now()); d < 48*time.Hour-time.Second || d > 48*time.Hour+time.Second {
		t.Fatalf("after Advance(48h) the clock is %v ahead, want 48h", d)
	}

	target := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	c.Set(target)
	if d := c.Now().Sub(target); d < 0 || d > time.Second {
		t.Fatalf("after Set the clock is %v from the target", d)
	}
	time.Sleep(5 * time.Millisecond)
	if !c.Now().After(target) {
		t.Fatal("real clock stopped ticking after Set")
	}
}
