// Package state is tokenflow's memory: one SQLite database (pure-Go driver)
// holding the journal of runs and steps and the token store, with every
// secret encrypted with a local age X25519 key.
//
// Open creates or opens the state directory (default
// $XDG_STATE_HOME/tokenflow); DB implements Backend: store.Store (tokens)
// and Journal (runs and steps). The SQL is kept portable (TEXT and INTEGER
// columns, no SQLite-only syntax in the schema): engine/state/pgstate keeps
// the same schema on PostgreSQL for workers that share one state, sealing
// with the same Keyring.
package state
