package fleet_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"math/rand"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/engine/state"
	"github.com/tokenflow/tokenflow/internal/flowtest"
)

// TestFleetKillAndResume onboards 30 VCF targets while SIGKILLing tokenflow
// at random moments, resuming the fleet run after each kill, until a run
// ends with exit 0. Every target must then hold exactly one current token in
// the store and exactly one token at its appliance, the stored one live: no
// token issued twice, none lost.
func TestFleetKillAndResume(t *testing.T) {
	t.Parallel()
	seed := time.Now().UnixNano()
	if s := lookupSeed(); s != 0 {
		seed = s
	}
	t.Logf("seed %d (rerun with TOKENFLOW_E2E_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewSource(seed))

	e := newEnv(t, 30, "vcf")
	binary(t) // built before the clock starts
	deadline := time.Now().Add(60 * time.Second)
	maxKills := 3 + rng.Intn(3)
	kills, attempts, midRun := 0, 0, 0
	fleetRun := ""
	for {
		if time.Now().After(deadline) {
			t.Fatalf("no successful run within 60s (%d attempts, %d kills)", attempts, kills)
		}
		attempts++
		args := []string{"run", flowtest.Flow("vcf/onboard.star"), "--targets", e.inv, "--json", "--parallel", "5"}
		if fleetRun != "" {
			args = append(args, "--resume", fleetRun)
		}
		// A kill comes after k targets of this attempt finished (then a
		// jitter, so it lands anywhere in the runs still in flight), or,
		// for k < 0, after a delay from the start (startup, journaling).
		k := neverKill
		var jitter time.Duration
		switch {
		case kills == 0:
			// The first kill always lands while targets finish.
			k = 1 + rng.Intn(12)
			jitter = time.Duration(rng.Intn(40)) * time.Millisecond
		case kills == 1:
			// So does the second, in a resumed run (more than 12 targets
			// are left).
			k = 1 + rng.Intn(3)
			jitter = time.Duration(rng.Intn(30)) * time.Millisecond
		case kills < maxKills && rng.Intn(4) == 0:
			k = -1
			jitter = time.Duration(50+rng.Intn(200)) * time.Millisecond
		case kills < maxKills:
			// Few enough that targets are usually left to kill.
			k = 1 + rng.Intn(4)
			jitter = time.Duration(rng.Intn(40)) * time.Millisecond
		}
		r, killed := e.runKillAfter(time.Until(deadline), k, jitter, args...)
		if killed {
			kills++
			t.Logf("attempt %d (resume %q): killed (k=%d, jitter %s) after %s; %d targets finished by then", attempts, fleetRun, k, jitter, r.elapsed.Round(time.Millisecond), r.finished)
			if r.finished > 0 {
				midRun++
			}
			if id := e.latestFleetRun(); id != "" {
				fleetRun = id
			}
			continue
		}
		if r.code != 0 {
			t.Fatalf("attempt %d (resume %q) failed:\n%s", attempts, fleetRun, r.result)
		}
		lines, sum := parseJSON(t, r.stdout)
		if sum.Targets != 30 || sum.Counts["ok"]+sum.Counts["completed"] != 30 {
			t.Fatalf("final summary %+v", sum)
		}
		if fleetRun != "" && sum.RunID != fleetRun {
			t.Fatalf("resumed %s but the summary names %s", fleetRun, sum.RunID)
		}
		t.Logf("attempt %d ended: %v after %s (%d kills); %d lines", attempts, sum.Counts, r.elapsed, kills, len(lines))
		break
	}
	if midRun < 2 {
		t.Fatalf("%d runs were killed while targets were finishing, want 2 or more", midRun)
	}

	db := e.openState()
	for _, inst := range e.fleet.Instances {
		n := inst.Name
		cur := current(t, db, n, vcfToken)
		if len(cur) != 1 {
			t.Errorf("%s: %d current tokens in the store", n, len(cur))
			continue
		}
		sim := e.vcf(n)
		if c := sim.APIClients(realmID); len(c) != 1 {
			t.Errorf("%s: %d API clients at the appliance", n, len(c))
		}
		if toks := sim.Tokens(realmID); len(toks) != 1 {
			t.Errorf("%s: %d tokens at the appliance", n, len(toks))
		} else if !sim.TokenSecretValid(cur[0].Value) {
			t.Errorf("%s: the stored token is not the live one", n)
		} else if id := cur[0].Labels["token_id"]; id != toks[0].ID {
			t.Errorf("%s: stored token_id %q, appliance token %q", n, id, toks[0].ID)
		}
	}
}

// runKillAfter runs tokenflow with --json and SIGKILLs it once after
// targets finished (status ok or failed, not completed) and then jitter
// passed; after < 0 counts jitter from the start; neverKill never
// kills. The plugin processes it started are in its process group and are
// killed once it is dead, as an OS would reap a crashed session's children.
func (e *env) runKillAfter(limit time.Duration, after int, jitter time.Duration, args ...string) (killResult, bool) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := e.command(ctx, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out, errb bytes.Buffer
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = io.MultiWriter(&out, pw), &errb
	start := time.Now()
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	pgid := cmd.Process.Pid
	kill := func() { _ = cmd.Process.Signal(syscall.SIGKILL) }
	var once sync.Once
	finished := atomic.Int32{}
	trigger := func() {
		once.Do(func() {
			time.AfterFunc(jitter, kill)
		})
	}
	if after < 0 && after != neverKill {
		time.AfterFunc(jitter, func() { once.Do(func() { kill() }) })
	}
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		if after == 0 {
			trigger()
		}
		for sc.Scan() {
			var l line
			if json.Unmarshal(sc.Bytes(), &l) == nil && (l.Status == "ok" || l.Status == "failed") {
				if n := int(finished.Add(1)); after > 0 && n >= after {
					trigger()
				}
			}
		}
	}()
	err := cmd.Wait()
	pw.Close()
	<-scanned
	// Leftover plugins of a killed tokenflow (only this run's group).
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	r := killResult{result: result{stdout: out.String(), stderr: errb.String(), elapsed: time.Since(start)}, finished: int(finished.Load())}
	if ctx.Err() != nil {
		e.t.Fatalf("tokenflow %v did not end in time\n%s", args, r.result)
	}
	if err != nil {
		if ps := cmd.ProcessState; ps != nil {
			if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
				r.code, r.killed = -1, true
				return r, true
			}
			r.code = ps.ExitCode()
		}
	}
	return r, false
}

const neverKill = math.MinInt

// killResult is a run's result and how many targets it finished.
type killResult struct {
	result
	finished int
}

// latestFleetRun is the newest fleet run in the state ("" when a kill came
// before the first was journaled).
func (e *env) latestFleetRun() string {
	e.t.Helper()
	db, err := state.Open(context.Background(), state.Options{Dir: e.state})
	if err != nil {
		e.t.Fatal(err)
	}
	defer db.Close()
	runs, err := db.Runs(context.Background(), 20)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, r := range runs {
		if r.Kind == "fleet" {
			return r.ID
		}
	}
	return ""
}

func lookupSeed() int64 {
	s, _ := strconv.ParseInt(os.Getenv("TOKENFLOW_E2E_SEED"), 10, 64)
	return s
}
