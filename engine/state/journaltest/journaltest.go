// Package journaltest checks that a state.Backend keeps the journal the way
// the engine relies on: every backend (SQLite, PostgreSQL) runs the same
// suite, so a run journaled on one resumes the same on the other.
package journaltest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/engine/state"
	"github.com/tokenflow/tokenflow/engine/store"
)

// Run runs the suite against backends made by newBackend, each empty.
func Run(t *testing.T, newBackend func(t *testing.T) state.Backend) {
	ctx := context.Background()
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

	t.Run("a run round-trips and finishes", func(t *testing.T) {
		j := newBackend(t)
		if _, err := j.GetRun(ctx, "nope"); !errors.Is(err, state.ErrNoRun) {
			t.Fatalf("unknown run: %v", err)
		}
		must(t, j.BeginRun(ctx, state.Run{ID: "r1", FlowPath: "/flows/a.star", Vars: map[string]string{"url": "https://x"},
			Target: "east", TargetInfo: `{"vendor":"acme"}`, StartedAt: start}))
		must(t, j.SetRunSources(ctx, "r1", map[string]string{"/flows/a.star": "abc"}))
		must(t, j.SetRunPlugins(ctx, "r1", map[string]string{"acme": "def"}))
		r, err := j.GetRun(ctx, "r1")
		if err != nil || r.Kind != "run" || r.Status != "running" || r.FlowPath != "/flows/a.star" || r.Vars["url"] != "https://x" ||
			r.Sources["/flows/a.star"] != "abc" || r.Plugins["acme"] != "def" || r.Target != "east" || r.TargetInfo != `{"vendor":"acme"}` ||
			!r.StartedAt.Equal(start) || !r.FinishedAt.IsZero() || r.Parent != "" {
			t.Fatalf("begun: %+v %v", r, err)
		}
		must(t, j.FinishRun(ctx, "r1", "error", "acme.create_token: 403"))
		r, _ = j.GetRun(ctx, "r1")
		if r.Status != "error" || r.Error != "acme.create_token: 403" || r.FinishedAt.IsZero() {
			t.Fatalf("finished: %+v", r)
		}
		must(t, j.ResumeRun(ctx, "r1"))
		r, _ = j.GetRun(ctx, "r1")
		if r.Status != "running" || r.Error != "" || !r.FinishedAt.IsZero() {
			t.Fatalf("resumed: %+v", r)
		}
	})

	t.Run("clock readings come back in order, to the nanosecond, once each", func(t *testing.T) {
		j := newBackend(t)
		must(t, j.BeginRun(ctx, state.Run{ID: "r1", FlowPath: "/flows/a.star", StartedAt: start}))
		must(t, j.BeginRun(ctx, state.Run{ID: "r2", FlowPath: "/flows/a.star", StartedAt: start}))
		readings := []time.Time{start.Add(123456789), start.Add(time.Hour), start.Add(-time.Minute)}
		for i, at := range readings {
			must(t, j.ClockReading(ctx, "r1", i+1, at))
		}
		// A resumed run that reads again does not replace a reading.
		must(t, j.ClockReading(ctx, "r1", 1, start.Add(24*time.Hour)))
		must(t, j.ClockReading(ctx, "r2", 1, start))
		got, err := j.ClockReadings(ctx, "r1")
		if err != nil || len(got) != len(readings) {
			t.Fatalf("readings %v %v", got, err)
		}
		for i := range readings {
			if !got[i].Equal(readings[i]) {
				t.Errorf("reading %d is %v, want %v", i+1, got[i], readings[i])
			}
		}
		if got, err := j.ClockReadings(ctx, "nope"); err != nil || len(got) != 0 {
			t.Errorf("readings of an unknown run: %v %v", got, err)
		}
	})

	t.Run("steps keep secrets sealed until revealed", func(t *testing.T) {
		j := newBackend(t)
		must(t, j.BeginRun(ctx, state.Run{ID: "r1", StartedAt: start}))
		must(t, j.StepIntent(ctx, state.Step{RunID: "r1", Seq: 1, Call: "acme.create_token", CallSite: "a.star:3:5", Effect: "write",
			Args: `{"password":"***"}`, ArgsSecret: []byte(`{"password":"pw-1"}`), ArgsHash: "h1"}))
		// The run died after sending: the intent is sent again.
		must(t, j.StepIntent(ctx, state.Step{RunID: "r1", Seq: 1, Call: "acme.create_token", CallSite: "a.star:3:5", Effect: "write",
			Args: `{"password":"***"}`, ArgsSecret: []byte(`{"password":"pw-1"}`), ArgsHash: "h1"}))
		must(t, j.StepFinished(ctx, "r1", 1, `{"token":"***"}`, []byte(`{"token":"tok-1"}`), state.StepDone, ""))
		must(t, j.StepRecord(ctx, state.Step{RunID: "r1", Seq: 2, Call: "acme.whoami", CallSite: "a.star:4:5", Effect: "read",
			Args: `{}`, ArgsHash: "h2", Result: `{"user":"ci"}`, Status: state.StepDone}))
		must(t, j.StepRecord(ctx, state.Step{RunID: "r1", Seq: 3, Call: "acme.list", CallSite: "a.star:5:5", Effect: "read",
			Args: `{}`, ArgsHash: "h3", Status: state.StepError, Error: "timeout"}))

		steps, err := j.Steps(ctx, "r1", false)
		if err != nil || len(steps) != 3 {
			t.Fatalf("steps: %+v %v", steps, err)
		}
		s := steps[0]
		if s.Seq != 1 || s.Status != state.StepDone || s.Attempts != 2 || s.Args != `{"password":"***"}` || s.Result != `{"token":"***"}` ||
			s.ArgsHash != "h1" || s.CallSite != "a.star:3:5" || s.Effect != "write" || s.ArgsSecret != nil || s.ResultSecret != nil || s.FinishedAt.IsZero() {
			t.Fatalf("step 1 listed: %+v", s)
		}
		if steps[1].Attempts != 1 || steps[1].Result != `{"user":"ci"}` || steps[2].Status != state.StepError || steps[2].Error != "timeout" {
			t.Fatalf("recorded steps: %+v", steps[1:])
		}
		steps, err = j.Steps(ctx, "r1", true)
		if err != nil || string(steps[0].ArgsSecret) != `{"password":"pw-1"}` || string(steps[0].ResultSecret) != `{"token":"tok-1"}` || steps[1].ArgsSecret != nil {
			t.Fatalf("revealed: %+v %v", steps, err)
		}
		// A step sent again after an error goes back to intent.
		must(t, j.StepIntent(ctx, state.Step{RunID: "r1", Seq: 3, Call: "acme.list", CallSite: "a.star:5:5", Effect: "read", Args: `{}`, ArgsHash: "h3"}))
		steps, _ = j.Steps(ctx, "r1", false)
		if steps[2].Status != state.StepIntent || steps[2].Attempts != 2 || steps[2].Error != "" {
			t.Fatalf("retried step: %+v", steps[2])
		}
	})

	t.Run("fleet runs, children and counts", func(t *testing.T) {
		j := newBackend(t)
		must(t, j.BeginRun(ctx, state.Run{ID: "solo", StartedAt: start}))
		must(t, j.BeginRun(ctx, state.Run{ID: "fleet", Kind: "fleet", StartedAt: start.Add(time.Minute)}))
		for i, st := range []string{"ok", "ok", "error"} {
			id := fmt.Sprintf("child-%d", i)
			must(t, j.BeginRun(ctx, state.Run{ID: id, Parent: "fleet", Target: fmt.Sprintf("t%d", i), StartedAt: start.Add(time.Duration(2+i) * time.Minute)}))
			must(t, j.FinishRun(ctx, id, st, ""))
		}
		runs, err := j.Runs(ctx, 10)
		if err != nil || len(runs) != 2 || runs[0].ID != "fleet" || runs[0].Kind != "fleet" || runs[1].ID != "solo" {
			t.Fatalf("runs: %+v %v", runs, err)
		}
		if runs, _ := j.Runs(ctx, 1); len(runs) != 1 || runs[0].ID != "fleet" {
			t.Fatalf("runs limited to 1: %+v", runs)
		}
		kids, err := j.Children(ctx, "fleet")
		if err != nil || len(kids) != 3 || kids[0].ID != "child-0" || kids[2].ID != "child-2" || kids[1].Parent != "fleet" || kids[1].Target != "t1" {
			t.Fatalf("children: %+v %v", kids, err)
		}
		counts, err := j.ChildCounts(ctx, "fleet")
		if err != nil || len(counts) != 2 || counts["ok"] != 2 || counts["error"] != 1 {
			t.Fatalf("counts: %v %v", counts, err)
		}
		byID, err := j.RunsByID(ctx, []string{"child-1", "solo", "missing"})
		if err != nil || len(byID) != 2 || byID["child-1"].Target != "t1" || byID["solo"].ID != "solo" {
			t.Fatalf("by id: %+v %v", byID, err)
		}
		if byID, err := j.RunsByID(ctx, nil); err != nil || len(byID) != 0 {
			t.Fatalf("by no id: %+v %v", byID, err)
		}
	})

	t.Run("tokens of a run are its live versions, without values", func(t *testing.T) {
		j := newBackend(t)
		must(t, j.BeginRun(ctx, state.Run{ID: "r1", StartedAt: start}))
		must(t, j.Put(ctx, store.Token{Target: "east", Name: "a", Value: "v1", RunID: "r1"}))
		must(t, j.Put(ctx, store.Token{Target: "east", Name: "a", Value: "v2", RunID: "r1"}))
		must(t, j.Put(ctx, store.Token{Target: "east", Name: "b", Value: "w1", RunID: "other"}))
		vs, _ := j.Versions(ctx, "east", "a")
		must(t, j.SetState(ctx, vs[1].ID, store.Revoked))
		toks, err := j.TokensOfRun(ctx, "r1")
		if err != nil || len(toks) != 1 || toks[0].Name != "a" || toks[0].State != store.Current || toks[0].Value != "" {
			t.Fatalf("tokens of run: %+v %v", toks, err)
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
