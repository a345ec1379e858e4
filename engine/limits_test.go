package engine_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/engine"
)

// runPlain runs a flow that needs no plugin.
func runPlain(t *testing.T, src string, opts engine.Options) error {
	t.Helper()
	p := filepath.Join(t.TempDir(), "flow.star")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := engine.Run(context.Background(), p, opts)
	return err
}

func wantLimit(t *testing.T, err error, limit, pos string) {
	t.Helper()
	var le *engine.LimitError
	if !errors.As(err, &le) || le.Limit != limit {
		t.Fatalf("error %v: want the %s limit", err, limit)
	}
	var fe *engine.FlowError
	if !errors.As(err, &fe) || !strings.Contains(fe.Position, pos) {
		t.Fatalf("error %v: want it located at %s", err, pos)
	}
}

// A string built by doubling ends in a clear error at the flow's line, not
// in an out-of-memory kill.
func TestMemoryLimitStopsDoublingString(t *testing.T) {
	src := "s = \"x\" * 1024 * 1024\nfor i in range(40):\n    s = s + s\n"
	start := time.Now()
	err := runPlain(t, src, engine.Options{MaxMemory: 256 << 20})
	wantLimit(t, err, "memory", "flow.star:3")
	wantErr(t, err, "memory limit of 256MiB", "--max-memory")
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("took %s to stop", d)
	}
}

func TestMemoryLimitStopsGrowingList(t *testing.T) {
	src := "l = []\nfor i in range(100000000):\n    l.append([i])\n"
	err := runPlain(t, src, engine.Options{MaxMemory: 128 << 20, MaxSteps: 1 << 40})
	wantLimit(t, err, "memory", "flow.star:")
}

func TestTimeoutStopsEndlessLoop(t *testing.T) {
	start := time.Now()
	err := runPlain(t, "while True:\n    pass\n", engine.Options{Timeout: 200 * time.Millisecond, MaxSteps: 1 << 62})
	wantLimit(t, err, "timeout", "flow.star:")
	wantErr(t, err, "time limit of 200ms", "--timeout")
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %s to stop", d)
	}
}

func TestStepLimitIsLocated(t *testing.T) {
	err := runPlain(t, "x = 0\nwhile True:\n    x += 1\n", engine.Options{MaxSteps: 10000})
	wantErr(t, err, "flow.star:", "step limit of 10000")
}

// The defaults are not hit by an ordinary flow.
func TestLimitsDefaultsLetFlowsRun(t *testing.T) {
	if err := runPlain(t, "s = \"x\" * 1000\nprint(len(s))\n", engine.Options{}); err != nil {
		t.Fatal(err)
	}
}

// The engine's own string building (an output, an op's arguments) refuses
// a huge string before it copies it.
func TestHugeStringOutputIsRefused(t *testing.T) {
	err := runPlain(t, "s = \"y\" * (65 * 1024 * 1024)\noutput(\"big\", s)\n", engine.Options{})
	wantErr(t, err, "flow.star:2:", "a string of 65MiB: an op argument or output takes at most 64MiB")
}
