package state_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tokenflow/tokenflow/engine/state"
	"github.com/tokenflow/tokenflow/engine/state/journaltest"
)

func TestJournalConformance(t *testing.T) {
	journaltest.Run(t, func(t *testing.T) state.Backend {
		db, err := state.Open(context.Background(), state.Options{Dir: filepath.Join(t.TempDir(), "state")})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}
