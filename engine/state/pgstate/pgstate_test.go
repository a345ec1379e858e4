package pgstate

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokenflow/tokenflow/engine/state"
	"github.com/tokenflow/tokenflow/engine/state/journaltest"
	"github.com/tokenflow/tokenflow/engine/store"
	"github.com/tokenflow/tokenflow/engine/store/storetest"
	"github.com/tokenflow/tokenflow/internal/pgtest"
)

var pg *pgtest.Server

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, &pg)) }

func newKeys(t *testing.T) *state.Keyring {
	t.Helper()
	k, err := state.LoadKeyring(filepath.Join(t.TempDir(), "key.txt"), true)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func open(t *testing.T, url string, keys *state.Keyring) *DB {
	t.Helper()
	db, err := Open(context.Background(), Options{URL: url, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func fresh(t *testing.T) *DB { return open(t, pg.NewDatabase(t), newKeys(t)) }

func TestStoreConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return fresh(t) })
}

func TestJournalConformance(t *testing.T) {
	journaltest.Run(t, func(t *testing.T) state.Backend { return fresh(t) })
}

// TestReopenKeepsStateAndRefusesAnotherKey: a second worker opening the
// same database sees the first's tokens with the same key, and is refused
// with ErrKey (not a garbled value) with another.
func TestReopenKeepsStateAndRefusesAnotherKey(t *testing.T) {
	ctx := context.Background()
	url, keys := pg.NewDatabase(t), newKeys(t)
	a := open(t, url, keys)
	if err := a.Put(ctx, store.Token{Target: "east", Name: "a", Value: "v1"}); err != nil {
		t.Fatal(err)
	}
	b := open(t, url, keys)
	if got, err := b.Get(ctx, "east", "a"); err != nil || got.Value != "v1" {
		t.Fatalf("second worker: %+v %v", got, err)
	}
	var version int
	if err := b.pool.QueryRow(ctx, `SELECT MAX(version) FROM schema_version`).Scan(&version); err != nil || version != len(migrations) {
		t.Fatalf("schema version %d %v", version, err)
	}
	_, err := Open(ctx, Options{URL: url, Keys: newKeys(t)})
	if !errors.Is(err, state.ErrKey) || !strings.Contains(err.Error(), "does not open") {
		t.Fatalf("another key: %v", err)
	}
	if _, err := Open(ctx, Options{URL: url}); !errors.Is(err, state.ErrKey) {
		t.Fatalf("no key: %v", err)
	}
}

func TestURLPasswordNeverInErrors(t *testing.T) {
	const pw = "hunter2-canary"
	for _, url := range []string{
		"postgres://u:" + pw + "@127.0.0.1:1/db?sslmode=disable&connect_timeout=1",
		"postgres://u:" + pw + "@127.0.0.1:1/db?sslmode=bogus",
	} {
		_, err := Open(context.Background(), Options{URL: url, Keys: newKeys(t)})
		if err == nil || strings.Contains(err.Error(), pw) {
			t.Fatalf("error for %q: %v", strings.ReplaceAll(url, pw, "***"), err)
		}
	}
}

// TestOneCurrentEnforcedByTheDatabase: the index refuses a second current
// version even from a writer that bypasses the lock.
func TestOneCurrentEnforcedByTheDatabase(t *testing.T) {
	ctx := context.Background()
	db := fresh(t)
	if err := db.Put(ctx, store.Token{Target: "east", Name: "a", Value: "v1"}); err != nil {
		t.Fatal(err)
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO tokens (`+tokenCols+`) VALUES ('x', 'a', '', 'east', '{}', '', NULL, now(), NULL, NULL, 'current')`)
	if err == nil || !strings.Contains(err.Error(), "tokens_one_current") {
		t.Fatalf("a second current version was accepted: %v", err)
	}
	vs, _ := db.Versions(ctx, "east", "a")
	if err := db.SetState(ctx, vs[0].ID, store.Current); err != nil {
		t.Fatalf("setting the current version current again: %v", err)
	}
	if err := db.Put(ctx, store.Token{Target: "east", Name: "a", Value: "v2"}); err != nil {
		t.Fatal(err)
	}
	vs, _ = db.Versions(ctx, "east", "a")
	if err := db.SetState(ctx, vs[1].ID, store.Current); err == nil || !strings.Contains(err.Error(), "tokens_one_current") {
		t.Fatalf("previous made current beside the current one: %v", err)
	}
}

// TestSecretsNeverInClear: a token value and a step's secrets are sealed in
// every row of every table (each row read whole as text).
func TestSecretsNeverInClear(t *testing.T) {
	ctx := context.Background()
	db := fresh(t)
	const canary = "canary-secret-7d1f"
	must(t, db.Put(ctx, store.Token{Target: "east", Name: "a", Value: canary, Labels: map[string]string{"k": "v"}}))
	must(t, db.Put(ctx, store.Token{Target: "east", Name: "a", Value: canary + "-2", State: store.Pending}))
	must(t, db.BeginRun(ctx, state.Run{ID: "r1", StartedAt: time.Now()}))
	must(t, db.StepIntent(ctx, state.Step{RunID: "r1", Seq: 1, Call: "xyz.x", Args: `{"p":"***"}`, ArgsSecret: []byte(`{"p":"` + canary + `"}`)}))
	must(t, db.StepFinished(ctx, "r1", 1, `{"t":"***"}`, []byte(`{"t":"`+canary+`"}`), state.StepDone, ""))
	must(t, db.StepRecord(ctx, state.Step{RunID: "r1", Seq: 2, Call: "xyz.y", Args: `{}`, ArgsSecret: []byte(canary), ResultSecret: []byte(canary), Status: state.StepDone}))

	rows, err := db.pool.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(tables) < 5 {
		t.Fatalf("tables: %v %v", tables, err)
	}
	for _, table := range tables {
		var n, all int
		q := `SELECT COUNT(*) FILTER (WHERE t::text LIKE '%' || $1 || '%'), COUNT(*) FROM ` + pgx.Identifier{table}.Sanitize() + ` t`
		if err := db.pool.QueryRow(ctx, q, canary).Scan(&n, &all); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%s: %d of %d rows hold the secret in clear", table, n, all)
		}
	}
	// The canary itself is still there, sealed.
	if got, err := db.Get(ctx, "east", "a"); err != nil || got.Value != canary {
		t.Fatalf("get: %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
