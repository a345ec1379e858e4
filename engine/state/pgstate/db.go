// Package pgstate keeps tokenflow's state (the journal of runs and steps and
// the token store) in PostgreSQL, for workers on several machines that share
// one state. It implements the same interfaces as the SQLite state
// (state.Backend: state.Journal and store.Store) with the same schema
// meaning, and seals every secret with the same age key code
// (state.Keyring): no secret is ever in a row in clear.
//
// Sharing adds two guarantees the single-process SQLite state gets from its
// one writer:
//
//   - The database keeps at most one current version per (target, name)
//     (a partial unique index), and every write that changes which version
//     is current (Put, Promote, SetState, Delete) first takes a
//     transaction-level advisory lock on (target, name), so two workers
//     rotating one name take turns instead of failing on the index.
//   - A worker can fence its writes on what it read (PutIf, PromoteIf): the
//     write is refused with ErrStale when the current version changed since,
//     so a stale worker (one paused, partitioned, or retried after another
//     took over) can never replace a newer credential with an older one.
package pgstate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tokenflow/tokenflow/engine/state"
)

// Options configures Open.
type Options struct {
	// URL is the database, as libpq takes it
	// ("postgres://user@host:5432/tokenflow?sslmode=verify-full"). It may
	// hold a password: it is never put in an error.
	URL string
	// Keys seals and opens the secrets. Every worker sharing the database
	// must load the same key (state.LoadKeyring); Open refuses another.
	Keys *state.Keyring
	// MaxConns bounds the pool. Default: pgxpool's (4, or the CPU count).
	MaxConns int32
	// Now is the clock for timestamps. Default time.Now.
	Now func() time.Time
}

// DB is an open PostgreSQL state. Safe for concurrent use.
type DB struct {
	pool  *pgxpool.Pool
	keys  *state.Keyring
	where string // host:port/database, for errors (never the password)
	now   func() time.Time
}

var _ state.Backend = (*DB)(nil)

// ErrStale is returned by PutIf and PromoteIf when the current version of
// the name is no longer the one the caller read: another worker rotated it
// in between. Nothing was written; read the token again and decide anew.
var ErrStale = errors.New("token changed since it was read")

// Open connects, brings the schema up to date and checks that opts.Keys is
// the key the database's secrets are sealed with (the first Open on an
// empty database records it).
func Open(ctx context.Context, opts Options) (*DB, error) {
	if opts.Keys == nil {
		return nil, fmt.Errorf("%w: pgstate.Open needs the state key (state.LoadKeyring)", state.ErrKey)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	cfg, err := pgxpool.ParseConfig(opts.URL)
	if err != nil {
		// pgx's parse errors quote the URL, password included.
		return nil, errors.New("state database URL does not parse; want postgres://user@host:port/database")
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	where := fmt.Sprintf("%s:%d/%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("state database %s: %w", where, err)
	}
	db := &DB{pool: pool, keys: opts.Keys, where: where, now: opts.Now}
	if err := db.migrate(ctx); err != nil {
		pool.Close()
		return nil, db.wrap(err)
	}
	if err := db.checkKey(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

// Location is host:port/database (state.Backend); never the password.
func (db *DB) Location() string { return db.where }

// Close closes the pool.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// wrap says which database an error came from.
func (db *DB) wrap(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("state database %s: %w", db.where, err)
}

// checkKey proves the key opens the database. Two workers opening an empty
// database at once both try to record theirs; the first wins and the other
// is checked against it.
func (db *DB) checkKey(ctx context.Context) error {
	s, err := db.keys.SealCheck()
	if err != nil {
		return err
	}
	if _, err := db.pool.Exec(ctx, `INSERT INTO key_check (id, sealed) VALUES (1, $1) ON CONFLICT (id) DO NOTHING`, s); err != nil {
		return db.wrap(err)
	}
	var sealed string
	if err := db.pool.QueryRow(ctx, `SELECT sealed FROM key_check WHERE id = 1`).Scan(&sealed); err != nil {
		return db.wrap(err)
	}
	if err := db.keys.VerifyCheck(sealed); err != nil {
		return fmt.Errorf("state database %s: %w", db.where, err)
	}
	return nil
}

// inTx runs fn in one transaction, committed when fn returns nil.
func (db *DB) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, db.pool, fn)
}

// ts is a timestamp column's value: NULL for the zero time.
func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

// fromTS reads a nullable timestamp column, in UTC like the SQLite state.
func fromTS(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// sealOptional seals b, or is NULL for a nil b.
func (db *DB) sealOptional(b []byte) (any, error) {
	if b == nil {
		return nil, nil
	}
	return db.keys.Seal(b)
}
