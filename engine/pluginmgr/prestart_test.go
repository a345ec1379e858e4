package pluginmgr

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
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

// A plugin started well before its first call (a prestart, a run waiting
// for its target's lock) still reaches the host: go-plugin drops broker
// connection info nobody claims within 5 s, so the host is served at the
// first call, not at launch.
func TestPluginIdleAfterItsStartStillReachesTheHost(t *testing.T) {
	if testing.Short() {
		t.Skip("waits 6 s")
	}
	host := &countingHost{}
	m := newManager(t, Config{Host: host})
	m.Prestart("mgrkit")
	if _, err := m.Get(context.Background(), "mgrkit"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(6 * time.Second) // past go-plugin's 5 s
	p, err := m.Get(context.Background(), "mgrkit")
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Call(context.Background(), &CallRequest{Op: "fetch", Connection: []byte(`{"url":"http://127.0.0.1:1"}`), Args: []byte(`{"url":"http://127.0.0.1:1/x"}`)})
	if err != nil || res.Err != nil || !strings.Contains(string(res.Result), `"status":204`) {
		t.Fatalf("fetch through the host transport after 6 s idle: %v %+v", err, res)
	}
}

// A plugin the manager stops on purpose, mid-start or idle, leaves no
// warning or error in the log: go-plugin's "failed to exit gracefully" and
// "signal: killed" would read as a failure beside the run's own error.
func TestStoppingPluginsOnPurposeIsQuiet(t *testing.T) {
	for _, wait := range []time.Duration{0, 2 * time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond, time.Second} {
		var buf strings.Builder
		var mu sync.Mutex
		logger := hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: writerFunc(func(p []byte) (int, error) {
			mu.Lock()
			defer mu.Unlock()
			return buf.Write(p)
		})})
		m := New(Config{Dirs: []string{kitDir}, Logger: logger})
		m.Prestart("mgrkit")
		time.Sleep(wait)
		m.Close()
		mu.Lock()
		if buf.Len() != 0 {
			t.Errorf("after %s: logged %q", wait, buf.String())
		}
		mu.Unlock()
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
