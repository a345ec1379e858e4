package pluginmgr

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	pb "github.com/tokenflow/tokenflow/sdk/proto/tokenflow/plugin/v1"
)

// kitDir holds the testkit plugin built as tokenflow-plugin-mgrkit,
// -mgrstall and -mgrsilent (see internal/testkit). The names keep these
// processes out of the engine tests' pgrep for "testkit".
var kitDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pluginmgr-test")
	if err != nil {
		panic(err)
	}
	// The plugin cache of these tests stays in their directory.
	os.Setenv(EnvCacheDir, filepath.Join(dir, "cache"))
	code := func() int {
		defer os.RemoveAll(dir)
		bin := filepath.Join(dir, "tokenflow-plugin-mgrkit")
		cmd := exec.Command("go", "build", "-o", bin, "./internal/testkit")
		cmd.Dir = "../.."
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build testkit: %v\n%s", err, out)
			return 1
		}
		for _, name := range []string{"mgrstall", "mgrsilent"} {
			if err := os.Link(bin, filepath.Join(dir, "tokenflow-plugin-"+name)); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
		kitDir = dir
		return m.Run()
	}()
	os.Exit(code)
}

func newManager(t *testing.T, cfg Config) *Manager {
	cfg.Dirs = []string{kitDir}
	m := New(cfg)
	t.Cleanup(m.Close)
	return m
}

func echo(t *testing.T, p Plugin) {
	t.Helper()
	res, err := p.Call(context.Background(), &CallRequest{Op: "echo", Connection: []byte(`{"url":"http://127.0.0.1:1"}`), Args: []byte(`{"text":"hi"}`)})
	if err != nil || res.Err != nil || !strings.Contains(string(res.Result), `"text"`) {
		t.Fatalf("echo: %v %+v", err, res)
	}
}

func (m *Manager) pid(t *testing.T, vendor string) int {
	t.Helper()
	inst := m.current(vendor)
	if inst == nil {
		t.Fatalf("%s not running", vendor)
	}
	// A plugin used through its call socket may still be in go-plugin's
	// start (or not yet in it).
	for i := 0; i < 500; i++ {
		if rc := inst.client.ReattachConfig(); rc != nil {
			return rc.Pid
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s: no process 5s after its launch", vendor)
	return 0
}

// gone waits until the process is reaped (a zombie still answers kill 0).
func gone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || strings.Contains(string(b), ") Z ") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d still running", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPluginThatDiesBetweenCallsIsRestartedForTheNext(t *testing.T) {
	m := newManager(t, Config{})
	p, err := m.Get(context.Background(), "mgrkit")
	if err != nil {
		t.Fatal(err)
	}
	echo(t, p)
	first := m.pid(t, "mgrkit")
	syscall.Kill(first, syscall.SIGKILL)
	gone(t, first)
	// Let go-plugin notice the exit, as it would between two steps.
	for i := 0; i < 100 && !m.running["mgrkit"].client.Exited(); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	// The Plugin the connection holds keeps working: a fresh process
	// answers.
	echo(t, p)
	if second := m.pid(t, "mgrkit"); second == first {
		t.Fatalf("same pid %d after the crash", first)
	}
}

func TestCallPastItsDeadlineKillsThePlugin(t *testing.T) {
	m := newManager(t, Config{CallTimeout: 300 * time.Millisecond})
	p, err := m.Get(context.Background(), "mgrkit")
	if err != nil {
		t.Fatal(err)
	}
	first := m.pid(t, "mgrkit")
	start := time.Now()
	_, err = p.Call(context.Background(), &CallRequest{Op: "hang", Connection: []byte(`{"url":"http://127.0.0.1:1"}`), Args: []byte(`{}`)})
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "did not answer hang within 300ms") || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %s", d)
	}
	gone(t, first)
	echo(t, p) // restarted
}

func TestPluginThatNeverCompletesItsStartIsKilled(t *testing.T) {
	for _, vendor := range []string{"mgrsilent", "mgrstall"} {
		t.Run(vendor, func(t *testing.T) {
			m := newManager(t, Config{StartTimeout: 300 * time.Millisecond})
			start := time.Now()
			_, err := m.Get(context.Background(), vendor)
			if err == nil || !strings.Contains(err.Error(), "killed") {
				t.Fatalf("err = %v", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("took %s", d)
			}
			out, _ := exec.Command("pgrep", "-f", filepath.Join(kitDir, "tokenflow-plugin-"+vendor)).Output()
			if pids := strings.TrimSpace(string(out)); pids != "" {
				t.Fatalf("left running: %s", pids)
			}
		})
	}
}

// A plugin known from the cache to serve the call socket is used before
// go-plugin's handshake ends; one that then never completes it is killed
// at the start timeout, and the call waiting on it fails with that reason.
func TestSocketPluginThatNeverCompletesItsStartFailsItsCall(t *testing.T) {
	m := silentSocketPlugin(t, 300*time.Millisecond)
	start := time.Now()
	p, err := m.Get(context.Background(), "mgrsilentsock")
	if err != nil {
		t.Fatalf("a cached socket plugin is used at once, its start unfinished: %v", err)
	}
	_, err = p.Call(context.Background(), &CallRequest{Op: "echo", Connection: kitConn, Args: []byte(`{}`)})
	// go-plugin's own start timeout (the same 300ms) or this manager's
	// bound, whichever fires first, is the reason.
	if err == nil || !strings.Contains(err.Error(), "start plugin mgrsilentsock: ") || !strings.Contains(err.Error(), "its process was killed") {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %s", d)
	}
}

// Closing the manager while such a start is under way does not wait for
// the start timeout.
func TestCloseDuringABackgroundStartIsPrompt(t *testing.T) {
	m := silentSocketPlugin(t, time.Minute)
	if _, err := m.Get(context.Background(), "mgrsilentsock"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the handshake is under way
	start := time.Now()
	m.Close()
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Close took %s with a start in the background", d)
	}
}

// silentSocketPlugin returns a manager whose plugin cache says
// mgrsilentsock serves the call socket; the binary never completes a
// start (the testkit sleeps when its name says silent).
func silentSocketPlugin(t *testing.T, startTimeout time.Duration) *Manager {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "tokenflow-plugin-mgrsilentsock") // the testkit sleeps when its name says silent
	data, err := os.ReadFile(filepath.Join(kitDir, "tokenflow-plugin-mgrkit"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	m := New(Config{Dirs: []string{dir}, StartTimeout: startTimeout})
	t.Cleanup(m.Close)
	id, err := identity(bin)
	if err != nil {
		t.Fatal(err)
	}
	m.cacheDescribe(bin, id, &pb.DescribeResponse{
		Schema:       &pb.Schema{ProtocolVersion: pb.ProtocolVersion, Name: "mgrsilentsock", Ops: []*pb.Op{{Name: "echo", Effect: pb.Effect_EFFECT_READ}}},
		Capabilities: []pb.Capability{pb.Capability_CAPABILITY_CALL_SOCKET},
	})
	return m
}

// A plugin the cache says serves the call socket but that dies at start
// (a broken binary, a missing library) fails its first call with the
// start's reason, not as a crash during the call.
func TestSocketPluginDyingAtStartFailsItsCallWithTheReason(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "tokenflow-plugin-mgrdead")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho 'cannot start: no such thing' >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	m := New(Config{Dirs: []string{dir}})
	t.Cleanup(m.Close)
	id, err := identity(bin)
	if err != nil {
		t.Fatal(err)
	}
	m.cacheDescribe(bin, id, &pb.DescribeResponse{
		Schema:       &pb.Schema{ProtocolVersion: pb.ProtocolVersion, Name: "mgrdead", Ops: []*pb.Op{{Name: "echo", Effect: pb.Effect_EFFECT_READ}}},
		Capabilities: []pb.Capability{pb.Capability_CAPABILITY_CALL_SOCKET},
	})
	p, err := m.Get(context.Background(), "mgrdead")
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Call(context.Background(), &CallRequest{Op: "echo", Connection: kitConn, Args: []byte(`{}`)})
	if err == nil || !strings.Contains(err.Error(), "start plugin mgrdead: ") || errors.Is(err, ErrCrashed) {
		t.Fatalf("err = %v", err)
	}
}
