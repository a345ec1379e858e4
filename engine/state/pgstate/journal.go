package pgstate

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokenflow/tokenflow/engine/state"
)

// The journal's methods mean exactly what engine/state's do (see there).
// Each write is one statement, committed before it returns: PostgreSQL's
// own group commit shares the flushes of concurrent writers, which the
// SQLite state does by hand.

func marshal(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func (db *DB) exec(ctx context.Context, q string, args ...any) error {
	_, err := db.pool.Exec(ctx, q, args...)
	return db.wrap(err)
}

// BeginRun records a new run as running.
func (db *DB) BeginRun(ctx context.Context, r state.Run) error {
	if r.Kind == "" {
		r.Kind = "run"
	}
	return db.exec(ctx, `INSERT INTO runs (id, flow_path, flow_hash, plugins, vars, dry_run, status, started_at, kind, parent_id, target, target_info)
		VALUES ($1, $2, $3, $4, $5, 0, 'running', $6, $7, $8, $9, $10)`,
		r.ID, r.FlowPath, marshal(r.Sources), marshal(r.Plugins), marshal(r.Vars), ts(r.StartedAt), r.Kind, nullString(r.Parent), r.Target, nullString(r.TargetInfo))
}

// ResumeRun marks an existing run as running again.
func (db *DB) ResumeRun(ctx context.Context, id string) error {
	return db.exec(ctx, `UPDATE runs SET status = 'running', finished_at = NULL, error = NULL WHERE id = $1`, id)
}

// SetRunSources records the flow files' hashes.
func (db *DB) SetRunSources(ctx context.Context, id string, sources map[string]string) error {
	return db.exec(ctx, `UPDATE runs SET flow_hash = $1 WHERE id = $2`, marshal(sources), id)
}

// SetRunVars records a run's vars (a resume with a corrected --var).
func (db *DB) SetRunVars(ctx context.Context, id string, vars map[string]string) error {
	return db.exec(ctx, `UPDATE runs SET vars = $1 WHERE id = $2`, marshal(vars), id)
}

// SetRunPlugins records the plugin binaries' hashes.
func (db *DB) SetRunPlugins(ctx context.Context, id string, plugins map[string]string) error {
	return db.exec(ctx, `UPDATE runs SET plugins = $1 WHERE id = $2`, marshal(plugins), id)
}

// FinishRun records how a run ended.
func (db *DB) FinishRun(ctx context.Context, id, status, errMsg string) error {
	return db.exec(ctx, `UPDATE runs SET status = $1, finished_at = $2, error = $3 WHERE id = $4`, status, ts(db.now()), nullString(errMsg), id)
}

// StepIntent records a step about to be sent; it is committed when this
// returns, before any request of the step leaves.
func (db *DB) StepIntent(ctx context.Context, s state.Step) error {
	sealed, err := db.sealOptional(s.ArgsSecret)
	if err != nil {
		return err
	}
	return db.exec(ctx, `INSERT INTO steps (run_id, seq, call, call_site, effect, args, args_sealed, args_hash, status, attempts, started_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'intent', 1, $9)
		ON CONFLICT (run_id, seq) DO UPDATE SET status = 'intent', attempts = steps.attempts + 1, started_at = excluded.started_at, error = NULL`,
		s.RunID, s.Seq, s.Call, s.CallSite, s.Effect, s.Args, sealed, s.ArgsHash, ts(db.now()))
}

// StepRecord records a finished step in one write, without an intent row
// (reads, which are safe to send again).
func (db *DB) StepRecord(ctx context.Context, s state.Step) error {
	argsSealed, err := db.sealOptional(s.ArgsSecret)
	if err != nil {
		return err
	}
	resultSealed, err := db.sealOptional(s.ResultSecret)
	if err != nil {
		return err
	}
	now := ts(db.now())
	return db.exec(ctx, `INSERT INTO steps (run_id, seq, call, call_site, effect, args, args_sealed, args_hash, result, result_sealed, status, attempts, started_at, finished_at, error)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12, $12, $13)
		ON CONFLICT (run_id, seq) DO UPDATE SET result = excluded.result, result_sealed = excluded.result_sealed, status = excluded.status,
			attempts = steps.attempts + 1, finished_at = excluded.finished_at, error = excluded.error`,
		s.RunID, s.Seq, s.Call, s.CallSite, s.Effect, s.Args, argsSealed, s.ArgsHash, nullString(s.Result), resultSealed, s.Status, now, nullString(s.Error))
}

// StepFinished records a step's result (status done) or error.
func (db *DB) StepFinished(ctx context.Context, runID string, seq int, result string, resultSecret []byte, status, errMsg string) error {
	sealed, err := db.sealOptional(resultSecret)
	if err != nil {
		return err
	}
	return db.exec(ctx, `UPDATE steps SET result = $1, result_sealed = $2, status = $3, finished_at = $4, error = $5 WHERE run_id = $6 AND seq = $7`,
		nullString(result), sealed, status, ts(db.now()), nullString(errMsg), runID, seq)
}

// GetRun returns one run.
func (db *DB) GetRun(ctx context.Context, id string) (state.Run, error) {
	runs, err := db.runs(ctx, `WHERE id = $1`, id)
	if err != nil {
		return state.Run{}, err
	}
	if len(runs) == 0 {
		return state.Run{}, fmt.Errorf("%w: %s", state.ErrNoRun, id)
	}
	return runs[0], nil
}

// Runs returns the most recent runs that are not part of a fleet run,
// newest first.
func (db *DB) Runs(ctx context.Context, limit int) ([]state.Run, error) {
	return db.runs(ctx, `WHERE parent_id IS NULL ORDER BY started_at DESC, id DESC LIMIT $1`, limit)
}

// Children returns the runs of a fleet run, oldest first.
func (db *DB) Children(ctx context.Context, parent string) ([]state.Run, error) {
	return db.runs(ctx, `WHERE parent_id = $1 ORDER BY started_at, id`, parent)
}

// RunsByID returns the runs with these ids (those that exist).
func (db *DB) RunsByID(ctx context.Context, ids []string) (map[string]state.Run, error) {
	runs, err := db.runs(ctx, `WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]state.Run, len(runs))
	for _, r := range runs {
		out[r.ID] = r
	}
	return out, nil
}

// ChildCounts counts a fleet run's children by status.
func (db *DB) ChildCounts(ctx context.Context, parent string) (map[string]int, error) {
	rows, err := db.pool.Query(ctx, `SELECT status, COUNT(*) FROM runs WHERE parent_id = $1 GROUP BY status`, parent)
	if err != nil {
		return nil, db.wrap(err)
	}
	out := map[string]int{}
	var st string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&st, &n}, func() error {
		out[st] = n
		return nil
	})
	return out, db.wrap(err)
}

func (db *DB) runs(ctx context.Context, where string, args ...any) ([]state.Run, error) {
	rows, err := db.pool.Query(ctx, `SELECT id, flow_path, flow_hash, plugins, vars, status, started_at, finished_at, error, kind, parent_id, target, target_info FROM runs `+where, args...)
	if err != nil {
		return nil, db.wrap(err)
	}
	defer rows.Close()
	var out []state.Run
	for rows.Next() {
		var r state.Run
		var sources, plugins, vars string
		var started time.Time
		var finished *time.Time
		var errMsg, parent, info *string
		if err := rows.Scan(&r.ID, &r.FlowPath, &sources, &plugins, &vars, &r.Status, &started, &finished, &errMsg, &r.Kind, &parent, &r.Target, &info); err != nil {
			return nil, db.wrap(err)
		}
		r.Parent, r.TargetInfo, r.Error = deref(parent), deref(info), deref(errMsg)
		json.Unmarshal([]byte(sources), &r.Sources)
		json.Unmarshal([]byte(plugins), &r.Plugins)
		json.Unmarshal([]byte(vars), &r.Vars)
		r.StartedAt, r.FinishedAt = started.UTC(), fromTS(finished)
		out = append(out, r)
	}
	return out, db.wrap(rows.Err())
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Steps returns a run's steps in order. With reveal, the sealed args and
// results are opened (resume needs them; listing never does).
func (db *DB) Steps(ctx context.Context, runID string, reveal bool) ([]state.Step, error) {
	rows, err := db.pool.Query(ctx, `SELECT seq, call, call_site, effect, args, args_sealed, args_hash, result, result_sealed, status, attempts, started_at, finished_at, error
		FROM steps WHERE run_id = $1 ORDER BY seq`, runID)
	if err != nil {
		return nil, db.wrap(err)
	}
	defer rows.Close()
	var out []state.Step
	for rows.Next() {
		s := state.Step{RunID: runID}
		var argsSealed, result, resultSealed, errMsg *string
		var started time.Time
		var finished *time.Time
		if err := rows.Scan(&s.Seq, &s.Call, &s.CallSite, &s.Effect, &s.Args, &argsSealed, &s.ArgsHash, &result, &resultSealed, &s.Status, &s.Attempts, &started, &finished, &errMsg); err != nil {
			return nil, db.wrap(err)
		}
		s.Result, s.StartedAt, s.FinishedAt, s.Error = deref(result), started.UTC(), fromTS(finished), deref(errMsg)
		if reveal {
			if s.ArgsSecret, err = db.open(argsSealed); err != nil {
				return nil, err
			}
			if s.ResultSecret, err = db.open(resultSealed); err != nil {
				return nil, err
			}
		}
		out = append(out, s)
	}
	return out, db.wrap(rows.Err())
}

// open opens a nullable sealed column; NULL is nil.
func (db *DB) open(sealed *string) ([]byte, error) {
	if sealed == nil {
		return nil, nil
	}
	b, err := db.keys.Open(*sealed)
	return b, db.wrap(err)
}

// ClockReading records a reading of the run's clock.
func (db *DB) ClockReading(ctx context.Context, runID string, seq int, at time.Time) error {
	return db.exec(ctx, `INSERT INTO clock (run_id, seq, unix_nano) VALUES ($1, $2, $3) ON CONFLICT (run_id, seq) DO NOTHING`,
		runID, seq, at.UnixNano())
}

// ClockReadings returns the run's readings of its clock, in order.
func (db *DB) ClockReadings(ctx context.Context, runID string) ([]time.Time, error) {
	rows, err := db.pool.Query(ctx, `SELECT unix_nano FROM clock WHERE run_id = $1 ORDER BY seq`, runID)
	if err != nil {
		return nil, db.wrap(err)
	}
	defer rows.Close()
	var out []time.Time
	for rows.Next() {
		var ns int64
		if err := rows.Scan(&ns); err != nil {
			return nil, db.wrap(err)
		}
		out = append(out, time.Unix(0, ns))
	}
	return out, db.wrap(rows.Err())
}
