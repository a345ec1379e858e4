package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tokenflow/tokenflow/engine/state"
	"github.com/tokenflow/tokenflow/engine/state/pgstate"
)

// isStateURL reports whether --state names a PostgreSQL database rather
// than a directory.
func isStateURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// openShared opens a state shared in PostgreSQL: the journal and the token
// store of every machine pointed at it, secrets sealed with the age key in
// $TOKENFLOW_STATE_KEY (default key.txt in the local state directory). Every
// machine must hold the same key; the database refuses another one, and a
// key is created only for a database that has none yet.
func (f *Factory) openShared(ctx context.Context, url string) (state.Backend, error) {
	keys, err := f.sharedKeys()
	if err != nil {
		return nil, err
	}
	db, err := pgstate.Open(ctx, pgstate.Options{URL: url, Keys: keys})
	if err != nil {
		return nil, fmt.Errorf("%w (check the postgres:// URL given to --state, or use a directory for a local state)", err)
	}
	return db, nil
}

// sharedKeys loads the shared state's key ($TOKENFLOW_STATE_KEY, default
// key.txt in the local state directory), creating it when missing.
func (f *Factory) sharedKeys() (*state.Keyring, error) {
	keyPath, _ := f.Getenv("TOKENFLOW_STATE_KEY")
	if keyPath == "" {
		dir, err := state.DefaultDir()
		if err != nil {
			return nil, err
		}
		keyPath = filepath.Join(dir, "key.txt")
	}
	if err := os.MkdirAll(filepath.Dir(keyPath), 0o700); err != nil {
		return nil, fmt.Errorf("state key directory: %w", err)
	}
	keys, err := state.LoadKeyring(keyPath, true)
	if err != nil {
		return nil, fmt.Errorf("%w (the shared state's key: set TOKENFLOW_STATE_KEY to the key file every machine shares)", err)
	}
	return keys, nil
}
