package state

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenflow/tokenflow/engine/store"
)

// TestMigrationKeepsTokensOfBeforeFleets: a store written by a tokenflow
// from before fleets (schema 1, one name space) opens with its tokens
// intact, each under the target its flow stored (the URL), and the new rule
// of one current version per target and name holds from then on.
func TestMigrationKeepsTokensOfBeforeFleets(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "state")
	saved := migrations
	migrations = migrations[:1]
	db := open(t, dir)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// As a schema-1 tokenflow stored it: the flow passed its URL as target.
	must(db.Put(ctx, store.Token{Name: "xyz/ci-bot/main", Target: "https://xyz-a.example", Value: "secret-a", Vendor: "xyz"}))
	must(db.exec(ctx, `INSERT INTO runs (id, flow_path, flow_hash, plugins, vars, dry_run, status, started_at) VALUES ('old-run', '/flows/xyz/onboard.star', '{}', '{}', '{"url":"https://xyz-a.example"}', 0, 'ok', '2026-01-01T00:00:00Z')`))
	db.Close()
	migrations = saved

	db = open(t, dir)
	defer db.Close()
	tok, err := db.Get(ctx, "https://xyz-a.example", "xyz/ci-bot/main")
	if err != nil || tok.Value != "secret-a" {
		t.Fatalf("token of before the migration: %+v %v", tok, err)
	}
	run, err := db.GetRun(ctx, "old-run")
	if err != nil || run.Kind != "run" || run.Parent != "" || run.Target != "" {
		t.Fatalf("run of before the migration: %+v %v", run, err)
	}
	// Another target may now hold the same name.
	must(db.Put(ctx, store.Token{Name: "xyz/ci-bot/main", Target: "xyz-b", Value: "secret-b"}))
	if tok, _ := db.Get(ctx, "https://xyz-a.example", "xyz/ci-bot/main"); tok.Value != "secret-a" {
		t.Fatalf("a second target's put replaced the first's token: %+v", tok)
	}
	// The database itself refuses a second current version of one name.
	err = db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO tokens (`+tokenCols+`) VALUES ('x', 'xyz/ci-bot/main', '', 'xyz-b', '{}', '', NULL, '2026-01-01T00:00:00Z', NULL, NULL, 'current')`)
		return err
	})
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "unique") {
		t.Fatalf("a second current version was accepted: %v", err)
	}
	if errors.Is(err, store.ErrNotFound) {
		t.Fatal("wrong error")
	}
}
