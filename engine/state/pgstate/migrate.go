package pgstate

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// migrations mirror engine/state's one for one, so a schema_version means
// the same schema on both databases; only the types are PostgreSQL's
// (timestamps are timestamptz, so they sort as times). Never edit a
// released migration: add one, here and in engine/state.
var migrations = []string{
	// 1: runs, steps, tokens and the key check. tokens.seq is SQLite's
	// rowid: the insertion order that breaks ties between versions created
	// in the same microsecond.
	`CREATE TABLE runs (
		id TEXT PRIMARY KEY,
		flow_path TEXT NOT NULL,
		flow_hash TEXT NOT NULL,      -- JSON {path: sha256} of the flow's files
		plugins TEXT NOT NULL,        -- JSON {vendor: sha256}
		vars TEXT NOT NULL,           -- JSON {name: value}
		dry_run INTEGER NOT NULL,
		status TEXT NOT NULL,         -- running, ok, error, interrupted
		started_at TIMESTAMPTZ NOT NULL,
		finished_at TIMESTAMPTZ,
		error TEXT
	);
	CREATE TABLE steps (
		run_id TEXT NOT NULL REFERENCES runs(id),
		seq INTEGER NOT NULL,
		call TEXT NOT NULL,
		call_site TEXT NOT NULL,
		effect TEXT NOT NULL,
		args TEXT NOT NULL,           -- JSON, secrets masked
		args_sealed TEXT,             -- age-sealed JSON with secrets
		args_hash TEXT NOT NULL,
		result TEXT,                  -- JSON, secrets masked
		result_sealed TEXT,
		status TEXT NOT NULL,         -- intent, done, error
		attempts INTEGER NOT NULL,
		started_at TIMESTAMPTZ NOT NULL,
		finished_at TIMESTAMPTZ,
		error TEXT,
		PRIMARY KEY (run_id, seq)
	);
	CREATE TABLE tokens (
		seq BIGINT GENERATED ALWAYS AS IDENTITY,
		id TEXT PRIMARY KEY,
		name TEXT NOT NULL,
		vendor TEXT NOT NULL,
		target TEXT NOT NULL,
		labels TEXT NOT NULL,         -- JSON
		value_sealed TEXT NOT NULL,
		expires_at TIMESTAMPTZ,
		created_at TIMESTAMPTZ NOT NULL,
		rotated_at TIMESTAMPTZ,
		run_id TEXT,
		state TEXT NOT NULL           -- pending, current, previous, revoked
	);
	CREATE INDEX tokens_name_state ON tokens (name, state);
	CREATE TABLE key_check (
		id INTEGER PRIMARY KEY,
		sealed TEXT NOT NULL
	);`,
	// 2: fleets: runs record their kind, parent and target; a token is
	// named per target, and the database keeps at most one current version
	// of each (target, name).
	`ALTER TABLE runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'run';
	ALTER TABLE runs ADD COLUMN parent_id TEXT;
	ALTER TABLE runs ADD COLUMN target TEXT NOT NULL DEFAULT '';
	ALTER TABLE runs ADD COLUMN target_info TEXT;
	CREATE INDEX runs_parent ON runs (parent_id);
	DROP INDEX tokens_name_state;
	CREATE INDEX tokens_target_name_state ON tokens (target, name, state);
	CREATE UNIQUE INDEX tokens_one_current ON tokens (target, name) WHERE state = 'current';
	CREATE INDEX tokens_run ON tokens (run_id);`,
	// 3: target leases (targetlock.go): the runs of several machines
	// changing one target take turns. A lease names its holder (no secret)
	// and expires unless renewed, so a machine that died frees its target.
	`CREATE TABLE target_leases (
		target TEXT PRIMARY KEY,
		holder TEXT NOT NULL,
		token TEXT NOT NULL,
		expires_at TIMESTAMPTZ NOT NULL
	);`,
	// 4: the run's readings of the clock, as engine/state's 4.
	`CREATE TABLE clock (
		run_id TEXT NOT NULL REFERENCES runs(id),
		seq INTEGER NOT NULL,
		unix_nano BIGINT NOT NULL,
		PRIMARY KEY (run_id, seq)
	);`,
}

// migrate applies the missing migrations in one transaction, under an
// advisory lock: workers starting together must not apply one twice.
func (db *DB) migrate(ctx context.Context) error {
	return db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('tokenflow schema', 0))`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
			return err
		}
		var v int
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&v); err != nil {
			return err
		}
		if v > len(migrations) {
			return fmt.Errorf("database schema version %d is newer than this tokenflow knows (%d); upgrade tokenflow", v, len(migrations))
		}
		for i := v; i < len(migrations); i++ {
			if _, err := tx.Exec(ctx, migrations[i]); err != nil {
				return fmt.Errorf("migration %d: %w", i+1, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_version (version) VALUES ($1)`, i+1); err != nil {
				return err
			}
		}
		return nil
	})
}
