package pluginmgr

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A prestarted plugin is the one the first Get returns: no second launch.
func TestPrestartedPluginIsTheOneGetReturns(t *testing.T) {
	m := newManager(t, Config{})
	m.Prestart("mgrkit", "mgrkit") // a repeat is ignored
	deadline := time.Now().Add(10 * time.Second)
	for m.current("mgrkit") == nil {
		if time.Now().After(deadline) {
			t.Fatal("prestart launched nothing")
		}
		time.Sleep(5 * time.Millisecond)
	}
	pid := m.pid(t, "mgrkit")
	p, err := m.Get(context.Background(), "mgrkit")
	if err != nil {
		t.Fatal(err)
	}
	echo(t, p)
	if got := m.pid(t, "mgrkit"); got != pid {
		t.Fatalf("Get launched pid %d beside the prestarted %d", got, pid)
	}
}

// A prestart that fails is the first Get's failure, said as a launch of
// its own would say it; the Get after that tries again.
func TestPrestartFailureIsTheFirstGetsError(t *testing.T) {
	m := newManager(t, Config{})
	m.Prestart("nosuchvendor")
	_, err := m.Get(context.Background(), "nosuchvendor")
	if err == nil || !strings.Contains(err.Error(), "plugin not found") {
		t.Fatalf("err = %v, want plugin not found", err)
	}
	if _, err2 := m.Get(context.Background(), "nosuchvendor"); err2 == nil || err2.Error() != err.Error() {
		t.Fatalf("second Get: %v, want the same error as the first (%v)", err2, err)
	}
}

// Close during a prestart that hangs (a plugin that never completes its
// handshake) stops it at once and leaves no process behind.
func TestCloseStopsAPrestartInFlight(t *testing.T) {
	m := New(Config{Dirs: []string{kitDir}, StartTimeout: time.Minute})
	m.Prestart("mgrsilent")
	time.Sleep(200 * time.Millisecond) // let the launch begin
	start := time.Now()
	m.Close()
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Close took %s with a prestart in flight", d)
	}
	if _, err := m.Get(context.Background(), "mgrsilent"); err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Get after Close: %v, want the manager closed", err)
	}
	out, _ := exec.Command("pgrep", "-f", filepath.Join(kitDir, "tokenflow-plugin-mgrsilent")).Output()
	if pids := strings.TrimSpace(string(out)); pids != "" {
		t.Fatalf("left running: %s", pids)
	}
}
