package simkit

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// write_latency holds every write, and only writes, for the duration; a
// bad value names the knob and what it wants.
func TestCommonKnobWriteLatency(t *testing.T) {
	clock := NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	reg := Registration{Vendor: "acme", New: func(c *Clock) Simulator { return newBaseSim(c, "key-1") }}
	sim := reg.New(clock)
	if err := reg.ApplyKnob(sim, "write_latency", "soon"); err == nil || !strings.Contains(err.Error(), "acme.write_latency=soon: want a duration") {
		t.Fatalf("bad value: %v", err)
	}
	if err := reg.ApplyKnob(sim, "write_latency", "150ms"); err != nil {
		t.Fatal(err)
	}
	took := func(method string) time.Duration {
		req := httptest.NewRequest(method, "/api/tokens/t1", nil)
		req.Header.Set("Authorization", "Bearer key-1")
		start := time.Now()
		sim.Handler().ServeHTTP(httptest.NewRecorder(), req)
		return time.Since(start)
	}
	if d := took(http.MethodGet); d >= 150*time.Millisecond {
		t.Errorf("a read waited %s", d)
	}
	for _, m := range []string{http.MethodPost, http.MethodDelete} {
		if d := took(m); d < 150*time.Millisecond {
			t.Errorf("%s answered after %s, want the 150ms write latency", m, d)
		}
	}
	if err := reg.ApplyKnob(sim, "mood", "calm"); err == nil || !strings.Contains(err.Error(), "(have: write_latency)") {
		t.Fatalf("unknown knob: %v", err)
	}
}
