package state

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tokenflow/tokenflow/engine/store"
)

var _ store.Store = (*DB)(nil)

const tokenCols = `id, name, vendor, target, labels, value_sealed, expires_at, created_at, rotated_at, run_id, state`

func newID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (db *DB) scanToken(row interface{ Scan(...any) error }, reveal bool) (store.Token, error) {
	var t store.Token
	var labels, sealed string
	var expires, created, rotated, runID sql.NullString
	if err := row.Scan(&t.ID, &t.Name, &t.Vendor, &t.Target, &labels, &sealed, &expires, &created, &rotated, &runID, &t.State); err != nil {
		return t, err
	}
	if labels != "" && labels != "null" {
		if err := json.Unmarshal([]byte(labels), &t.Labels); err != nil {
			return t, fmt.Errorf("%w: token %s labels: %v", ErrCorrupt, t.Name, err)
		}
	}
	t.ExpiresAt, t.CreatedAt, t.RotatedAt, t.RunID = parseTS(expires), parseTS(created), parseTS(rotated), runID.String
	if reveal {
		plain, err := db.keys.Open(sealed)
		if err != nil {
			return t, err
		}
		t.Value = string(plain)
	}
	return t, nil
}

// Put implements store.Store. The write is one transaction: a crash leaves
// either the old current version or the new one, never neither.
func (db *DB) Put(ctx context.Context, t store.Token) error {
	if t.State == "" {
		t.State = store.Current
	}
	if t.State != store.Current && t.State != store.Pending {
		return fmt.Errorf("put %s: state must be current or pending, not %q", t.Name, t.State)
	}
	sealed, err := db.keys.Seal([]byte(t.Value))
	if err != nil {
		return err
	}
	labels, _ := json.Marshal(t.Labels)
	now := db.now()
	return db.write(ctx, func(tx *sql.Tx) error { return db.put(ctx, tx, t, sealed, string(labels), now) })
}

func (db *DB) put(ctx context.Context, tx *sql.Tx, t store.Token, sealed, labels string, now time.Time) error {
	if t.State == store.Pending {
		// The same value stored as pending again (a resumed run replays
		// the put): refresh it rather than queue a duplicate.
		rows, err := tx.QueryContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE target = ? AND name = ? AND state = ?`, t.Target, t.Name, store.Pending)
		if err != nil {
			return classify(db.path, err)
		}
		var same string
		for rows.Next() {
			p, err := db.scanToken(rows, true)
			if err != nil {
				rows.Close()
				return err
			}
			if p.Value == t.Value {
				same = p.ID
			}
		}
		rows.Close()
		if same != "" {
			_, err := tx.ExecContext(ctx, `UPDATE tokens SET vendor = ?, target = ?, labels = ?, expires_at = ?, run_id = ? WHERE id = ?`,
				t.Vendor, t.Target, string(labels), ts(t.ExpiresAt), t.RunID, same)
			if err != nil {
				return classify(db.path, err)
			}
			return nil
		}
	}
	if t.State == store.Current {
		row := tx.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE target = ? AND name = ? AND state = ?`, t.Target, t.Name, store.Current)
		old, err := db.scanToken(row, true)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return classify(db.path, err)
		case old.Value == t.Value:
			// Same credential (a vendor that returns the same value):
			// refresh the metadata, nothing rotated.
			_, err := tx.ExecContext(ctx, `UPDATE tokens SET vendor = ?, target = ?, labels = ?, expires_at = ?, run_id = ? WHERE id = ?`,
				t.Vendor, t.Target, string(labels), ts(t.ExpiresAt), t.RunID, old.ID)
			if err != nil {
				return classify(db.path, err)
			}
			return nil
		default:
			if _, err := tx.ExecContext(ctx, `UPDATE tokens SET state = ? WHERE id = ?`, store.Previous, old.ID); err != nil {
				return classify(db.path, err)
			}
			t.RotatedAt = now
		}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO tokens (`+tokenCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		newID(), t.Name, t.Vendor, t.Target, labels, sealed, ts(t.ExpiresAt), ts(now), ts(t.RotatedAt), t.RunID, t.State)
	if err != nil {
		return classify(db.path, err)
	}
	return nil
}

// Get implements store.Store.
func (db *DB) Get(ctx context.Context, target, name string) (store.Token, error) {
	row := db.sql.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE target = ? AND name = ? AND state = ?`, target, name, store.Current)
	t, err := db.scanToken(row, true)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Token{}, store.ErrNotFound
	}
	if err != nil {
		return store.Token{}, classify(db.path, err)
	}
	return t, nil
}

// List implements store.Store. Values are left empty: listing never needs
// them (use Get).
func (db *DB) List(ctx context.Context) ([]store.Token, error) {
	return db.query(ctx, `SELECT `+tokenCols+` FROM tokens WHERE state = ? ORDER BY target, name`, store.Current)
}

// Versions implements store.Store, values included.
func (db *DB) Versions(ctx context.Context, target, name string) ([]store.Token, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE target = ? AND name = ? ORDER BY created_at DESC, rowid DESC`, target, name)
	if err != nil {
		return nil, classify(db.path, err)
	}
	defer rows.Close()
	var out []store.Token
	for rows.Next() {
		t, err := db.scanToken(rows, true)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

func (db *DB) query(ctx context.Context, q string, args ...any) ([]store.Token, error) {
	rows, err := db.sql.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, classify(db.path, err)
	}
	defer rows.Close()
	var out []store.Token
	for rows.Next() {
		t, err := db.scanToken(rows, false)
		if err != nil {
			return nil, classify(db.path, err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// Promote implements store.Store.
func (db *DB) Promote(ctx context.Context, target, name string) error {
	return db.write(ctx, func(tx *sql.Tx) error { return db.promote(ctx, tx, target, name) })
}

func (db *DB) promote(ctx context.Context, tx *sql.Tx, target, name string) error {
	pending, err := db.scanToken(tx.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE target = ? AND name = ? AND state = ? ORDER BY created_at DESC, rowid DESC LIMIT 1`, target, name, store.Pending), true)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("promote %s: no pending version: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return classify(db.path, err)
	}
	id := pending.ID
	cur, err := db.scanToken(tx.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE target = ? AND name = ? AND state = ?`, target, name, store.Current), true)
	if err == nil && cur.Value == pending.Value {
		// The vendor handed back the same credential: nothing rotated,
		// nothing to revoke.
		if _, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE id = ?`, id); err != nil {
			return classify(db.path, err)
		}
		return nil
	}
	res, err := tx.ExecContext(ctx, `UPDATE tokens SET state = ? WHERE target = ? AND name = ? AND state = ?`, store.Previous, target, name, store.Current)
	if err != nil {
		return classify(db.path, err)
	}
	rotated := any(nil)
	if n, _ := res.RowsAffected(); n > 0 {
		rotated = ts(db.now())
	}
	if _, err := tx.ExecContext(ctx, `UPDATE tokens SET state = ?, rotated_at = ? WHERE id = ?`, store.Current, rotated, id); err != nil {
		return classify(db.path, err)
	}
	return nil
}

// SetState implements store.Store.
func (db *DB) SetState(ctx context.Context, id, state string) error {
	return db.execOne(ctx, `UPDATE tokens SET state = ? WHERE id = ?`, state, id)
}

// execOne runs a statement that must change a row; none is ErrNotFound.
func (db *DB) execOne(ctx context.Context, q string, args ...any) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return classify(db.path, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		return nil
	})
}

// Delete implements store.Store.
func (db *DB) Delete(ctx context.Context, target, name string) error {
	return db.execOne(ctx, `DELETE FROM tokens WHERE target = ? AND name = ?`, target, name)
}

// TokensOfRun returns the live (not revoked) token versions a run stored,
// without their values.
func (db *DB) TokensOfRun(ctx context.Context, runID string) ([]store.Token, error) {
	return db.query(ctx, `SELECT `+tokenCols+` FROM tokens WHERE run_id = ? AND state <> ? ORDER BY target, name, created_at`, runID, store.Revoked)
}
