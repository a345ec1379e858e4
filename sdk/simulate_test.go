package sdk

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/sdk/simkit"
)

type pingSim struct {
	clock *simkit.Clock
	rec   *simkit.Recorder
	tuned string
}

func (s *pingSim) Vendor() string { return "acme" }
func (s *pingSim) Handler() http.Handler {
	return simkit.Wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("pong")) }), nil, s.rec)
}
func (s *pingSim) Clock() *simkit.Clock       { return s.clock }
func (s *pingSim) Faults() *simkit.Faults     { return nil }
func (s *pingSim) Recorder() *simkit.Recorder { return s.rec }

// syncBuffer is written by runSimulator while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}
func (b *syncBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.b.String() }

func TestRunSimulatorServesOverTLSAndDescribesItself(t *testing.T) {
	var built *pingSim
	reg := &simkit.Registration{
		Vendor: "acme", Username: "admin", Password: "pw", PasswordEnv: "ACME_PASSWORD",
		New: func(c *simkit.Clock) simkit.Simulator {
			built = &pingSim{clock: c, rec: simkit.NewRecorder(c)}
			return built
		},
		Knobs: map[string]string{"mood": "how it feels"},
		Tune:  func(s simkit.Simulator, k, v string) error { s.(*pingSim).tuned = k + "=" + v; return nil },
	}
	stop := make(chan os.Signal)
	var out, errOut syncBuffer
	done := make(chan int)
	dir := t.TempDir()
	go func() {
		done <- runSimulator("acme", reg, []string{"--simulate", "--json", "--dir", dir, "--set", "mood=calm"}, &out, &errOut, stop)
	}()
	var info SimulatorInfo
	deadline := time.Now().Add(10 * time.Second)
	for info.URL == "" && time.Now().Before(deadline) {
		if line, _, ok := strings.Cut(out.String(), "\n"); ok {
			if err := json.Unmarshal([]byte(line), &info); err != nil {
				t.Fatalf("first line %q: %v", line, err)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.HasPrefix(info.URL, "https://127.0.0.1:") || info.CAFile == "" || info.PasswordEnv != "ACME_PASSWORD" || info.Password != "pw" {
		t.Fatalf("info = %+v (stderr %s)", info, errOut.String())
	}
	if built.tuned != "mood=calm" {
		t.Errorf("--set mood=calm: the simulator got %q", built.tuned)
	}
	pem, err := os.ReadFile(info.CAFile)
	if err != nil || !bytes.Contains(pem, []byte("CERTIFICATE")) {
		t.Fatalf("CA file: %v", err)
	}
	stop <- os.Interrupt
	if code := <-done; code != 0 {
		t.Errorf("exit code %d after an interrupt, want 0", code)
	}
}

func TestRunSimulatorRefusals(t *testing.T) {
	reg := &simkit.Registration{Vendor: "acme", New: func(c *simkit.Clock) simkit.Simulator { return &pingSim{clock: c} }}
	for _, tt := range []struct {
		reg  *simkit.Registration
		args []string
		code int
		want string
	}{
		{nil, []string{"--simulate"}, 2, "has no simulator (its main does not pass sdk.WithSimulator"},
		{reg, []string{"--simulate", "--set", "mood=calm"}, 1, `no setting "mood" (have: write_latency)`},
		{reg, []string{"--simulate", "--set", "mood"}, 1, "want KEY=VALUE"},
		{reg, []string{"--simulate", "--bogus"}, 2, "flag provided but not defined"},
	} {
		var out, errOut syncBuffer
		code := runSimulator("acme", tt.reg, append(tt.args, "--dir", t.TempDir()), &out, &errOut, make(chan os.Signal))
		if code != tt.code || !strings.Contains(errOut.String(), tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tt.args, code, errOut.String(), tt.code, tt.want)
		}
	}
}
