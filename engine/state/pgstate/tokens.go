package pgstate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokenflow/tokenflow/engine/store"
)

const tokenCols = `id, name, vendor, target, labels, value_sealed, expires_at, created_at, rotated_at, run_id, state`

func newID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (db *DB) scanToken(row pgx.Row, reveal bool) (store.Token, error) {
	var t store.Token
	var labels, sealed string
	var expires, created, rotated *time.Time
	var runID *string
	if err := row.Scan(&t.ID, &t.Name, &t.Vendor, &t.Target, &labels, &sealed, &expires, &created, &rotated, &runID, &t.State); err != nil {
		return t, err
	}
	if labels != "" && labels != "null" {
		if err := json.Unmarshal([]byte(labels), &t.Labels); err != nil {
			return t, fmt.Errorf("token %s labels are not JSON: %w", t.Name, err)
		}
	}
	t.ExpiresAt, t.CreatedAt, t.RotatedAt, t.RunID = fromTS(expires), fromTS(created), fromTS(rotated), deref(runID)
	if reveal {
		plain, err := db.keys.Open(sealed)
		if err != nil {
			return t, err
		}
		t.Value = string(plain)
	}
	return t, nil
}

// lock takes the transaction-level advisory lock of (target, name): every
// write that may change which version is current holds it, so writers of
// one name take turns and the one-current index never has to refuse one.
// The two-key form keeps these locks apart from the single-key ones
// (migrations, and whatever else shares the database).
func lock(ctx context.Context, tx pgx.Tx, target, name string) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))`, target, name)
	return err
}

// current reads the current version of (target, name), value included;
// ok is false when there is none.
func (db *DB) current(ctx context.Context, tx pgx.Tx, target, name string) (t store.Token, ok bool, err error) {
	t, err = db.scanToken(tx.QueryRow(ctx, `SELECT `+tokenCols+` FROM tokens WHERE target = $1 AND name = $2 AND state = 'current'`, target, name), true)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Token{}, false, nil
	}
	return t, err == nil, err
}

// Put implements store.Store: PutIf without the fence.
func (db *DB) Put(ctx context.Context, t store.Token) error {
	_, err := db.put(ctx, t, nil)
	return err
}

// PutIf is Put fenced on what the caller read: it writes only if the
// current version of (t.Target, t.Name) is still the one with id expect
// ("" for none), and returns the id of the version it stored (for
// PromoteIf). Otherwise it writes nothing and fails with ErrStale. A
// current value equal to t.Value is this write already done (a retried
// call): its metadata is refreshed and its id returned.
func (db *DB) PutIf(ctx context.Context, t store.Token, expect string) (string, error) {
	return db.put(ctx, t, &expect)
}

func (db *DB) put(ctx context.Context, t store.Token, expect *string) (string, error) {
	if t.State == "" {
		t.State = store.Current
	}
	if t.State != store.Current && t.State != store.Pending {
		return "", fmt.Errorf("put %s: state must be current or pending, not %q", t.Name, t.State)
	}
	sealed, err := db.keys.Seal([]byte(t.Value))
	if err != nil {
		return "", err
	}
	labels, _ := json.Marshal(t.Labels)
	now := db.now()
	var id string
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		if err := lock(ctx, tx, t.Target, t.Name); err != nil {
			return err
		}
		cur, hasCur, err := db.current(ctx, tx, t.Target, t.Name)
		if err != nil {
			return err
		}
		refresh := func(id string) error {
			_, err := tx.Exec(ctx, `UPDATE tokens SET vendor = $1, labels = $2, expires_at = $3, run_id = $4 WHERE id = $5`,
				t.Vendor, string(labels), ts(t.ExpiresAt), nullString(t.RunID), id)
			return err
		}
		if t.State == store.Current && hasCur && cur.Value == t.Value {
			// Same credential (a vendor that returns the same value, or
			// this very write retried): refresh the metadata, nothing
			// rotated.
			id = cur.ID
			return refresh(id)
		}
		if expect != nil && cur.ID != *expect {
			return stale("put", t.Target, t.Name, *expect, cur.ID)
		}
		if t.State == store.Pending {
			// The same value stored as pending again (a resumed run
			// replays the put): refresh it rather than queue a duplicate.
			rows, err := tx.Query(ctx, `SELECT `+tokenCols+` FROM tokens WHERE target = $1 AND name = $2 AND state = 'pending'`, t.Target, t.Name)
			if err != nil {
				return err
			}
			pending, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Token, error) { return db.scanToken(r, true) })
			if err != nil {
				return err
			}
			for _, p := range pending {
				if p.Value == t.Value {
					id = p.ID
					return refresh(id)
				}
			}
		}
		var rotated any
		if t.State == store.Current && hasCur {
			if _, err := tx.Exec(ctx, `UPDATE tokens SET state = 'previous' WHERE id = $1`, cur.ID); err != nil {
				return err
			}
			rotated = ts(now)
		}
		id = newID()
		_, err = tx.Exec(ctx, `INSERT INTO tokens (`+tokenCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			id, t.Name, t.Vendor, t.Target, string(labels), sealed, ts(t.ExpiresAt), ts(now), rotated, nullString(t.RunID), t.State)
		return err
	})
	if err != nil {
		return "", db.wrapTx(err)
	}
	return id, nil
}

// wrapTx is wrap for a token transaction's error, leaving the answers that
// are not database failures (not found, stale) as they are.
func (db *DB) wrapTx(err error) error {
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, ErrStale) {
		return err
	}
	return db.wrap(err)
}

// stale is ErrStale with what changed (ids only: never a value).
func stale(op, target, name, expect, got string) error {
	if expect == "" {
		expect = "none"
	}
	if got == "" {
		got = "none"
	}
	return fmt.Errorf("%s %s on %q: current version is %s, not %s as read (another worker rotated it); read the token again: %w", op, name, target, got, expect, ErrStale)
}

// Get implements store.Store.
func (db *DB) Get(ctx context.Context, target, name string) (store.Token, error) {
	t, err := db.scanToken(db.pool.QueryRow(ctx, `SELECT `+tokenCols+` FROM tokens WHERE target = $1 AND name = $2 AND state = 'current'`, target, name), true)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Token{}, store.ErrNotFound
	}
	return t, db.wrap(err)
}

// List implements store.Store. Values are left empty (use Get).
func (db *DB) List(ctx context.Context) ([]store.Token, error) {
	return db.query(ctx, false, `SELECT `+tokenCols+` FROM tokens WHERE state = 'current' ORDER BY target, name`)
}

// Versions implements store.Store, values included.
func (db *DB) Versions(ctx context.Context, target, name string) ([]store.Token, error) {
	return db.query(ctx, true, `SELECT `+tokenCols+` FROM tokens WHERE target = $1 AND name = $2 ORDER BY created_at DESC, seq DESC`, target, name)
}

// TokensOfRun returns the live (not revoked) token versions a run stored,
// without their values.
func (db *DB) TokensOfRun(ctx context.Context, runID string) ([]store.Token, error) {
	return db.query(ctx, false, `SELECT `+tokenCols+` FROM tokens WHERE run_id = $1 AND state <> 'revoked' ORDER BY target, name, created_at, seq`, runID)
}

func (db *DB) query(ctx context.Context, reveal bool, q string, args ...any) ([]store.Token, error) {
	rows, err := db.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, db.wrap(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Token, error) { return db.scanToken(r, reveal) })
	return out, db.wrap(err)
}

// Promote implements store.Store: PromoteIf of the newest pending version,
// without the fence.
func (db *DB) Promote(ctx context.Context, target, name string) error {
	return db.promote(ctx, target, name, "", nil)
}

// PromoteIf makes the pending version id (PutIf's) current, only if the
// current version is still the one with id expect ("" for none); otherwise
// it changes nothing and fails with ErrStale. If id is already current
// (this call retried after it committed) it succeeds without a change.
func (db *DB) PromoteIf(ctx context.Context, target, name, id, expect string) error {
	return db.promote(ctx, target, name, id, &expect)
}

func (db *DB) promote(ctx context.Context, target, name, id string, expect *string) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if err := lock(ctx, tx, target, name); err != nil {
			return err
		}
		cur, hasCur, err := db.current(ctx, tx, target, name)
		if err != nil {
			return err
		}
		if id != "" && cur.ID == id {
			return nil
		}
		if expect != nil && cur.ID != *expect {
			return stale("promote", target, name, *expect, cur.ID)
		}
		q := `SELECT ` + tokenCols + ` FROM tokens WHERE target = $1 AND name = $2 AND state = 'pending' ORDER BY created_at DESC, seq DESC LIMIT 1`
		args := []any{target, name}
		if id != "" {
			q = `SELECT ` + tokenCols + ` FROM tokens WHERE target = $1 AND name = $2 AND state = 'pending' AND id = $3`
			args = append(args, id)
		}
		pending, err := db.scanToken(tx.QueryRow(ctx, q, args...), true)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("promote %s on %q: no pending version: %w", name, target, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if hasCur && cur.Value == pending.Value {
			// The vendor handed back the same credential: nothing
			// rotated, nothing to revoke.
			_, err := tx.Exec(ctx, `DELETE FROM tokens WHERE id = $1`, pending.ID)
			return err
		}
		var rotated any
		if hasCur {
			if _, err := tx.Exec(ctx, `UPDATE tokens SET state = 'previous' WHERE id = $1`, cur.ID); err != nil {
				return err
			}
			rotated = ts(db.now())
		}
		_, err = tx.Exec(ctx, `UPDATE tokens SET state = 'current', rotated_at = $1 WHERE id = $2`, rotated, pending.ID)
		return err
	})
	return db.wrapTx(err)
}

// SetState implements store.Store. It takes the name's lock too: making a
// version current by hand must not race a rotation.
func (db *DB) SetState(ctx context.Context, id, state string) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var target, name string
		if err := tx.QueryRow(ctx, `SELECT target, name FROM tokens WHERE id = $1`, id).Scan(&target, &name); errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotFound
		} else if err != nil {
			return err
		}
		if err := lock(ctx, tx, target, name); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE tokens SET state = $1 WHERE id = $2`, state, id)
		if err == nil && tag.RowsAffected() == 0 {
			return store.ErrNotFound
		}
		return err
	})
	return db.wrapTx(err)
}

// Delete implements store.Store.
func (db *DB) Delete(ctx context.Context, target, name string) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if err := lock(ctx, tx, target, name); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM tokens WHERE target = $1 AND name = $2`, target, name)
		if err == nil && tag.RowsAffected() == 0 {
			return store.ErrNotFound
		}
		return err
	})
	return db.wrapTx(err)
}
