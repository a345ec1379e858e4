package state

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Run is one journaled run.
type Run struct {
	ID       string            `json:"id"`
	FlowPath string            `json:"flow"`
	Sources  map[string]string `json:"sources"` // path -> sha256 of the flow and every file it loaded
	Plugins  map[string]string `json:"plugins"` // vendor -> sha256 of the plugin binary
	Vars     map[string]string `json:"vars"`
	// Kind is "run", or "fleet" for the parent of a fleet run's children.
	Kind string `json:"kind,omitempty"`
	// Parent is the fleet run a child run belongs to.
	Parent string `json:"parent,omitempty"`
	// Target is what the run acted on (the token store's scope).
	Target string `json:"target,omitempty"`
	// TargetInfo is how to reach the target again, without secrets (JSON:
	// the inventory target's vendor, URL, TLS settings and credential
	// references); fleet runs of the parent record the inventory and limit.
	TargetInfo string    `json:"target_info,omitempty"`
	Status     string    `json:"status"` // running, ok, error, interrupted
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	Error      string    `json:"error,omitempty"`
}

// Step is one journaled op call. Args and Result are JSON with secrets
// masked (queryable); ArgsSecret and ResultSecret are the full JSON, sealed
// at rest and only filled when read with reveal.
type Step struct {
	RunID        string    `json:"-"`
	Seq          int       `json:"seq"`
	Call         string    `json:"call"`
	CallSite     string    `json:"call_site"`
	Effect       string    `json:"effect"`
	Args         string    `json:"args"`
	ArgsHash     string    `json:"-"`
	Result       string    `json:"result,omitempty"`
	Status       string    `json:"status"` // intent, done, error
	Attempts     int       `json:"attempts"`
	StartedAt    time.Time `json:"started_at"`
	FinishedAt   time.Time `json:"finished_at,omitzero"`
	Error        string    `json:"error,omitempty"`
	ArgsSecret   []byte    `json:"-"`
	ResultSecret []byte    `json:"-"`
}

// Step states.
const (
	StepIntent = "intent" // about to be sent; outcome unknown if the run died here
	StepDone   = "done"
	StepError  = "error"
)

// ErrNoRun is returned for an unknown run id.
var ErrNoRun = errors.New("no such run")

func marshal(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// BeginRun records a new run as running. Like every journal write but a
// step's intent and a run's end, it is lazy (commit.go): nothing has been
// sent yet that a lost row would hide.
func (db *DB) BeginRun(ctx context.Context, r Run) error {
	if r.Kind == "" {
		r.Kind = "run"
	}
	return db.execLazy(ctx, `INSERT INTO runs (id, flow_path, flow_hash, plugins, vars, dry_run, status, started_at, kind, parent_id, target, target_info) VALUES (?, ?, ?, ?, ?, 0, 'running', ?, ?, ?, ?, ?)`,
		r.ID, r.FlowPath, marshal(r.Sources), marshal(r.Plugins), marshal(r.Vars), ts(r.StartedAt), r.Kind, nullString(r.Parent), r.Target, nullString(r.TargetInfo))
}

// Children returns the runs of a fleet run, oldest first.
func (db *DB) Children(ctx context.Context, parent string) ([]Run, error) {
	return db.runs(ctx, `WHERE parent_id = ? ORDER BY started_at, id`, parent)
}

// RunsByID returns the runs with these ids (those that exist).
func (db *DB) RunsByID(ctx context.Context, ids []string) (map[string]Run, error) {
	out := map[string]Run{}
	for len(ids) > 0 {
		n := min(len(ids), 500)
		args := make([]any, n)
		for i := range n {
			args[i] = ids[i]
		}
		runs, err := db.runs(ctx, `WHERE id IN (?`+strings.Repeat(", ?", n-1)+`)`, args...)
		if err != nil {
			return nil, err
		}
		for _, r := range runs {
			out[r.ID] = r
		}
		ids = ids[n:]
	}
	return out, nil
}

// ResumeRun marks an existing run as running again.
func (db *DB) ResumeRun(ctx context.Context, id string) error {
	return db.execLazy(ctx, `UPDATE runs SET status = 'running', finished_at = NULL, error = NULL WHERE id = ?`, id)
}

// SetRunSources records the flow files' hashes.
func (db *DB) SetRunSources(ctx context.Context, id string, sources map[string]string) error {
	return db.execLazy(ctx, `UPDATE runs SET flow_hash = ? WHERE id = ?`, marshal(sources), id)
}

// SetRunVars records a run's vars (a resume with a corrected --var).
func (db *DB) SetRunVars(ctx context.Context, id string, vars map[string]string) error {
	return db.exec(ctx, `UPDATE runs SET vars = ? WHERE id = ?`, marshal(vars), id)
}

// SetRunPlugins records the plugin binaries' hashes.
func (db *DB) SetRunPlugins(ctx context.Context, id string, plugins map[string]string) error {
	return db.execLazy(ctx, `UPDATE runs SET plugins = ? WHERE id = ?`, marshal(plugins), id)
}

// FinishRun records how a run ended. It is durable, so every lazy write
// of the run is on disk when the run reports its end.
func (db *DB) FinishRun(ctx context.Context, id, status, errMsg string) error {
	return db.exec(ctx, `UPDATE runs SET status = ?, finished_at = ?, error = ? WHERE id = ?`, status, ts(db.now()), nullString(errMsg), id)
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// StepIntent records a step about to be sent. With synchronous=FULL the
// row is on disk when this returns, before any request of the step leaves.
func (db *DB) StepIntent(ctx context.Context, s Step) error {
	var sealed any
	if s.ArgsSecret != nil {
		v, err := db.keys.Seal(s.ArgsSecret)
		if err != nil {
			return err
		}
		sealed = v
	}
	return db.exec(ctx, `INSERT INTO steps (run_id, seq, call, call_site, effect, args, args_sealed, args_hash, status, attempts, started_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'intent', 1, ?)
		ON CONFLICT (run_id, seq) DO UPDATE SET status = 'intent', attempts = steps.attempts + 1, started_at = excluded.started_at, error = NULL`,
		s.RunID, s.Seq, s.Call, s.CallSite, s.Effect, s.Args, sealed, s.ArgsHash, ts(db.now()))
}

// StepRecord records a finished step in one write, without an intent row:
// for reads, which are safe to send again, so nothing needs to be on disk
// before they leave. The write is lazy: a result lost to a power cut means
// the read is sent again on resume.
func (db *DB) StepRecord(ctx context.Context, s Step) error {
	var argsSealed, resultSealed any
	if s.ArgsSecret != nil {
		v, err := db.keys.Seal(s.ArgsSecret)
		if err != nil {
			return err
		}
		argsSealed = v
	}
	if s.ResultSecret != nil {
		v, err := db.keys.Seal(s.ResultSecret)
		if err != nil {
			return err
		}
		resultSealed = v
	}
	now := ts(db.now())
	return db.execDeferred(ctx, `INSERT INTO steps (run_id, seq, call, call_site, effect, args, args_sealed, args_hash, result, result_sealed, status, attempts, started_at, finished_at, error)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)
		ON CONFLICT (run_id, seq) DO UPDATE SET result = excluded.result, result_sealed = excluded.result_sealed, status = excluded.status,
			attempts = steps.attempts + 1, finished_at = excluded.finished_at, error = excluded.error`,
		s.RunID, s.Seq, s.Call, s.CallSite, s.Effect, s.Args, argsSealed, s.ArgsHash, nullString(s.Result), resultSealed, s.Status, now, now, nullString(s.Error))
}

// StepFinished records a step's result (status done) or error. The write
// is lazy: a result lost to a power cut leaves the step an intent, which
// resume reconciles.
func (db *DB) StepFinished(ctx context.Context, runID string, seq int, result string, resultSecret []byte, status, errMsg string) error {
	var sealed any
	if resultSecret != nil {
		v, err := db.keys.Seal(resultSecret)
		if err != nil {
			return err
		}
		sealed = v
	}
	return db.execLazy(ctx, `UPDATE steps SET result = ?, result_sealed = ?, status = ?, finished_at = ?, error = ? WHERE run_id = ? AND seq = ?`,
		nullString(result), sealed, status, ts(db.now()), nullString(errMsg), runID, seq)
}

// GetRun returns one run.
func (db *DB) GetRun(ctx context.Context, id string) (Run, error) {
	runs, err := db.runs(ctx, `WHERE id = ?`, id)
	if err != nil {
		return Run{}, err
	}
	if len(runs) == 0 {
		return Run{}, fmt.Errorf("%w: %s", ErrNoRun, id)
	}
	return runs[0], nil
}

// Runs returns the most recent runs that are not part of a fleet run,
// newest first (a fleet run stands for its children).
func (db *DB) Runs(ctx context.Context, limit int) ([]Run, error) {
	return db.runs(ctx, `WHERE parent_id IS NULL ORDER BY started_at DESC LIMIT ?`, limit)
}

// ChildCounts counts a fleet run's children by status.
func (db *DB) ChildCounts(ctx context.Context, parent string) (map[string]int, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT status, COUNT(*) FROM runs WHERE parent_id = ? GROUP BY status`, parent)
	if err != nil {
		return nil, classify(db.path, err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, classify(db.path, err)
		}
		out[st] = n
	}
	return out, rows.Err()
}

func (db *DB) runs(ctx context.Context, where string, args ...any) ([]Run, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT id, flow_path, flow_hash, plugins, vars, status, started_at, finished_at, error, kind, parent_id, target, target_info FROM runs `+where, args...)
	if err != nil {
		return nil, classify(db.path, err)
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		var r Run
		var sources, plugins, vars string
		var started, finished, errMsg, parent, info sql.NullString
		if err := rows.Scan(&r.ID, &r.FlowPath, &sources, &plugins, &vars, &r.Status, &started, &finished, &errMsg, &r.Kind, &parent, &r.Target, &info); err != nil {
			return nil, classify(db.path, err)
		}
		r.Parent, r.TargetInfo = parent.String, info.String
		json.Unmarshal([]byte(sources), &r.Sources)
		json.Unmarshal([]byte(plugins), &r.Plugins)
		json.Unmarshal([]byte(vars), &r.Vars)
		r.StartedAt, r.FinishedAt, r.Error = parseTS(started), parseTS(finished), errMsg.String
		out = append(out, r)
	}
	return out, rows.Err()
}

// Steps returns a run's steps in order. With reveal, the sealed args and
// results are opened (resume needs them; listing never does).
func (db *DB) Steps(ctx context.Context, runID string, reveal bool) ([]Step, error) {
	if err := db.flushDeferred(ctx); err != nil {
		return nil, err
	}
	rows, err := db.sql.QueryContext(ctx, `SELECT seq, call, call_site, effect, args, args_sealed, args_hash, result, result_sealed, status, attempts, started_at, finished_at, error
		FROM steps WHERE run_id = ? ORDER BY seq`, runID)
	if err != nil {
		return nil, classify(db.path, err)
	}
	defer rows.Close()
	var out []Step
	for rows.Next() {
		s := Step{RunID: runID}
		var argsSealed, result, resultSealed, started, finished, errMsg sql.NullString
		if err := rows.Scan(&s.Seq, &s.Call, &s.CallSite, &s.Effect, &s.Args, &argsSealed, &s.ArgsHash, &result, &resultSealed, &s.Status, &s.Attempts, &started, &finished, &errMsg); err != nil {
			return nil, classify(db.path, err)
		}
		s.Result, s.StartedAt, s.FinishedAt, s.Error = result.String, parseTS(started), parseTS(finished), errMsg.String
		if reveal {
			if argsSealed.Valid {
				if s.ArgsSecret, err = db.keys.Open(argsSealed.String); err != nil {
					return nil, err
				}
			}
			if resultSealed.Valid {
				if s.ResultSecret, err = db.keys.Open(resultSealed.String); err != nil {
					return nil, err
				}
			}
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// ClockReading records a reading of the run's clock; it rides the next
// commit, as a read step's record does.
func (db *DB) ClockReading(ctx context.Context, runID string, seq int, at time.Time) error {
	return db.execDeferred(ctx, `INSERT INTO clock (run_id, seq, unix_nano) VALUES (?, ?, ?) ON CONFLICT (run_id, seq) DO NOTHING`,
		runID, seq, at.UnixNano())
}

// ClockReadings returns the run's readings of its clock, in order.
func (db *DB) ClockReadings(ctx context.Context, runID string) ([]time.Time, error) {
	if err := db.flushDeferred(ctx); err != nil {
		return nil, err
	}
	rows, err := db.sql.QueryContext(ctx, `SELECT unix_nano FROM clock WHERE run_id = ? ORDER BY seq`, runID)
	if err != nil {
		return nil, classify(db.path, err)
	}
	defer rows.Close()
	var out []time.Time
	for rows.Next() {
		var ns int64
		if err := rows.Scan(&ns); err != nil {
			return nil, classify(db.path, err)
		}
		out = append(out, time.Unix(0, ns))
	}
	if err := rows.Err(); err != nil {
		return nil, classify(db.path, err)
	}
	return out, nil
}
