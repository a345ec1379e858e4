package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Options configures Open.
type Options struct {
	// Dir is the state directory. Default: DefaultDir().
	Dir string
	// LockTimeout is how long a write waits for another run holding the
	// database before failing. Default 10s.
	LockTimeout time.Duration
	// Now is the clock for timestamps. Default time.Now.
	Now func() time.Time
	// ReadOnly opens an existing database without write access (listing
	// commands); every write fails.
	ReadOnly bool
}

// DB is an open state database.
type DB struct {
	sql  *sql.DB
	keys *Keyring
	dir  string
	path string
	now  func() time.Time
	// writes batches concurrent journal writes into shared commits.
	writes *committer
}

// Sentinel errors.
var (
	// ErrInsecure means the state directory, database or key can be read by
	// group or others.
	ErrInsecure = errors.New("state is readable by others")
	// ErrCorrupt means the database file is not a readable tokenflow
	// database; nothing was changed.
	ErrCorrupt = errors.New("state database is corrupt")
	// ErrKey means the key is missing or does not open the database's
	// secrets.
	ErrKey = errors.New("state key problem")
)

// DefaultDir is $XDG_STATE_HOME/tokenflow, or ~/.local/state/tokenflow.
func DefaultDir() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "tokenflow"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("state directory: %w", err)
	}
	return filepath.Join(home, ".local", "state", "tokenflow"), nil
}

const (
	dbName  = "state.db"
	keyName = "key.txt"
)

// Open opens (creating on first use) the state in opts.Dir.
func Open(ctx context.Context, opts Options) (*DB, error) {
	if opts.Dir == "" {
		d, err := DefaultDir()
		if err != nil {
			return nil, err
		}
		opts.Dir = d
	}
	if opts.LockTimeout == 0 {
		opts.LockTimeout = 10 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("state directory %s: %w", opts.Dir, err)
	}
	if err := checkPrivate(opts.Dir, true); err != nil {
		return nil, err
	}
	path := filepath.Join(opts.Dir, dbName)
	existed := true
	if fi, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		existed = false
	} else if err != nil {
		return nil, fmt.Errorf("state database %s: %w", path, err)
	} else {
		if err := checkPrivate(path, false); err != nil {
			return nil, err
		}
		if fi.Size() > 0 && fi.Size() < 512 {
			return nil, fmt.Errorf("%w: %s is %d bytes, too short to be a database; nothing was changed (move it away to start afresh)", ErrCorrupt, path, fi.Size())
		}
	}
	keys, err := LoadKeyring(filepath.Join(opts.Dir, keyName), !existed)
	if err != nil {
		return nil, err
	}
	if !existed {
		// Create the file private before SQLite opens it: SQLite would
		// create it with the umask's mode, readable by others for a moment.
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			return nil, fmt.Errorf("create state database %s: %w", path, err)
		}
		f.Close()
	}
	// _txlock=immediate: a transaction takes the write lock when it begins,
	// so a second run waits on busy_timeout instead of failing at once when
	// its read turns into a write.
	dsn := fmt.Sprintf("file:%s?_pragma=busy_timeout(%d)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)&_txlock=immediate",
		path, opts.LockTimeout.Milliseconds())
	if opts.ReadOnly {
		if !existed {
			return nil, fmt.Errorf("state database %s does not exist", path)
		}
		dsn = fmt.Sprintf("file:%s?mode=ro&_pragma=busy_timeout(%d)", path, opts.LockTimeout.Milliseconds())
	}
	sqldb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open state database %s: %w", path, err)
	}
	db := &DB{sql: sqldb, keys: keys, dir: opts.Dir, path: path, now: opts.Now}
	if opts.ReadOnly {
		return db, nil
	}
	if err := db.migrate(ctx); err != nil {
		sqldb.Close()
		return nil, classify(path, err)
	}
	if db.writes, err = newCommitter(ctx, sqldb, path); err != nil {
		sqldb.Close()
		return nil, classify(path, err)
	}
	if err := db.checkKey(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// classify turns SQLite's errors about bad files into ErrCorrupt.
func classify(path string, err error) error {
	msg := err.Error()
	if strings.Contains(msg, "not a database") || strings.Contains(msg, "malformed") || strings.Contains(msg, "corrupt") {
		return fmt.Errorf("%w: %s: %v; nothing was changed (restore a backup or move it away to start afresh)", ErrCorrupt, path, err)
	}
	if strings.Contains(msg, "database is locked") || strings.Contains(msg, "SQLITE_BUSY") {
		return fmt.Errorf("state database %s is locked by another tokenflow run: %w", path, err)
	}
	if strings.Contains(msg, "readonly") || strings.Contains(msg, "read-only") || strings.Contains(msg, "disk") {
		return fmt.Errorf("state database %s cannot be written: %w", path, err)
	}
	return fmt.Errorf("state database %s: %w", path, err)
}

// checkPrivate refuses a path group or others can read.
func checkPrivate(path string, dir bool) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		want := "600"
		if dir {
			want = "700"
		}
		return fmt.Errorf("%w: %s has mode %04o; run chmod %s %s", ErrInsecure, path, perm, want, path)
	}
	return nil
}

// Dir is the state directory.
func (db *DB) Dir() string { return db.dir }

// Location is the state directory (state.Backend).
func (db *DB) Location() string { return db.dir }

// Path is the database file.
func (db *DB) Path() string { return db.path }

// Close closes the database.
func (db *DB) Close() error {
	if db.writes != nil {
		db.writes.close()
	}
	return db.sql.Close()
}

// exec runs a statement in the next group commit (commit.go) and returns
// once it is durable; failures are classified (locked, read-only, full).
func (db *DB) exec(ctx context.Context, q string, args ...any) error {
	return db.execSync(ctx, true, q, args...)
}

// execLazy is exec for a write that may wait for the next durable commit
// to reach the disk (see commit.go): it survives the process being killed.
func (db *DB) execLazy(ctx context.Context, q string, args ...any) error {
	return db.execSync(ctx, false, q, args...)
}

// execDeferred is exec for a read step's record: committed with the next
// transaction, not before the caller goes on (see commit.go).
func (db *DB) execDeferred(ctx context.Context, q string, args ...any) error {
	if db.writes == nil {
		return db.execSync(ctx, false, q, args...)
	}
	return db.writes.deferWrite(ctx, func(tx *sql.Tx) error {
		if _, err := db.writes.stmt(context.Background(), tx, q).ExecContext(context.Background(), args...); err != nil {
			return classify(db.path, err)
		}
		return nil
	})
}

// flushDeferred commits the deferred writes before a read of what they
// write.
func (db *DB) flushDeferred(ctx context.Context) error {
	if db.writes == nil {
		return nil
	}
	return db.writes.flush(ctx)
}

func (db *DB) execSync(ctx context.Context, durable bool, q string, args ...any) error {
	if db.writes == nil {
		if _, err := db.sql.ExecContext(ctx, q, args...); err != nil {
			return classify(db.path, err)
		}
		return nil
	}
	return db.writes.do(ctx, durable, func(tx *sql.Tx) error {
		if _, err := db.writes.stmt(ctx, tx, q).ExecContext(ctx, args...); err != nil {
			return classify(db.path, err)
		}
		return nil
	})
}

// write runs fn in the next group commit: every write of the database goes
// through the one committer, so writers never wait on SQLite's busy
// handler (which sleeps) for each other.
func (db *DB) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return db.writes.do(ctx, true, fn)
}

func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	// Fixed width (RFC3339Nano drops trailing zeros), so that text order is
	// time order in ORDER BY.
	return t.UTC().Format("2006-01-02T15:04:05.000000000Z07:00")
}

func parseTS(s sql.NullString) time.Time {
	if !s.Valid || s.String == "" {
		return time.Time{}
	}
	t, _ := time.Parse(time.RFC3339Nano, s.String)
	return t
}
