package state

import (
	"context"
	"fmt"
)

// migrations are applied in order; the schema_version table records how far
// a database got. Never edit a released migration: add one.
var migrations = []string{
	// 1: runs, steps, tokens, the revoke queue and the key check.
	`CREATE TABLE runs (
		id TEXT PRIMARY KEY,
		flow_path TEXT NOT NULL,
		flow_hash TEXT NOT NULL,
		plugins TEXT NOT NULL,        -- JSON {vendor: sha256}
		vars TEXT NOT NULL,           -- JSON {name: value}
		dry_run INTEGER NOT NULL,
		status TEXT NOT NULL,         -- running, ok, error, interrupted
		started_at TEXT NOT NULL,
		finished_at TEXT,
		error TEXT
	);
	CREATE TABLE steps (
		run_id TEXT NOT NULL REFERENCES runs(id),
		seq INTEGER NOT NULL,
		call TEXT NOT NULL,           -- vendor.op
		call_site TEXT NOT NULL,      -- file:line:col
		effect TEXT NOT NULL,
		args TEXT NOT NULL,           -- JSON, secrets masked
		args_sealed TEXT,             -- age-encrypted JSON with secrets
		args_hash TEXT NOT NULL,
		result TEXT,                  -- JSON, secrets masked
		result_sealed TEXT,
		status TEXT NOT NULL,         -- intent, done, error
		attempts INTEGER NOT NULL,
		started_at TEXT NOT NULL,
		finished_at TEXT,
		error TEXT,
		PRIMARY KEY (run_id, seq)
	);
	CREATE TABLE tokens (
		id TEXT PRIMARY KEY,
		name TEXT NOT NULL,
		vendor TEXT NOT NULL,
		target TEXT NOT NULL,
		labels TEXT NOT NULL,         -- JSON
		value_sealed TEXT NOT NULL,
		expires_at TEXT,
		created_at TEXT NOT NULL,
		rotated_at TEXT,
		run_id TEXT,
		state TEXT NOT NULL           -- pending, current, previous, revoked
	);
	CREATE INDEX tokens_name_state ON tokens (name, state);
	CREATE TABLE key_check (
		id INTEGER PRIMARY KEY,
		sealed TEXT NOT NULL
	);`,
	// 2: fleets. A fleet run is a parent run with a child run per target;
	// a run records its target and what reaching it takes (no secrets), so
	// `rotate --due` can run a token's rotate flow against its target again.
	// A token is named per target: the same name on two targets is two
	// tokens, and the database keeps at most one current version of each.
	// Tokens stored before carry the URL their flow passed as target, which
	// is what a single run's target defaults to, so they keep resolving.
	`ALTER TABLE runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'run'; -- run, fleet
	ALTER TABLE runs ADD COLUMN parent_id TEXT;
	ALTER TABLE runs ADD COLUMN target TEXT NOT NULL DEFAULT '';
	ALTER TABLE runs ADD COLUMN target_info TEXT;                   -- JSON, no secrets
	CREATE INDEX runs_parent ON runs (parent_id);
	DROP INDEX tokens_name_state;
	CREATE INDEX tokens_target_name_state ON tokens (target, name, state);
	CREATE UNIQUE INDEX tokens_one_current ON tokens (target, name) WHERE state = 'current';`,
	// 3: PostgreSQL's target leases (pgstate), which serialise the runs of
	// several machines on one target. Here one machine's runs are
	// serialised by a file lock (targetlock.go): nothing to store. The
	// number keeps the two schemas' versions in step.
	`SELECT 1`,
	// 4: the run's readings of the clock (time.now() in a flow), in order,
	// so a resumed run reads the same times at the same points and takes
	// the branches, and sends the arguments, the interrupted one did.
	`CREATE TABLE clock (
		run_id TEXT NOT NULL REFERENCES runs(id),
		seq INTEGER NOT NULL,
		unix_nano INTEGER NOT NULL,
		PRIMARY KEY (run_id, seq)
	);`,
}

func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.sql.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return err
	}
	var v int
	row := db.sql.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`)
	if err := row.Scan(&v); err != nil {
		return err
	}
	if v > len(migrations) {
		return fmt.Errorf("database schema version %d is newer than this tokenflow knows (%d); upgrade tokenflow", v, len(migrations))
	}
	for i := v; i < len(migrations); i++ {
		tx, err := db.sql.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (?)`, i+1); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}
