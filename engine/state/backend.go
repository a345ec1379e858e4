package state

import (
	"context"
	"time"

	"github.com/tokenflow/tokenflow/engine/store"
)

// Journal is the record of runs and steps: the engine writes it (every
// step's intent before its request leaves) and reads it to resume; the CLI
// lists it. DB keeps it in SQLite; engine/state/pgstate keeps it in
// PostgreSQL, for workers that share one state.
type Journal interface {
	BeginRun(ctx context.Context, r Run) error
	ResumeRun(ctx context.Context, id string) error
	SetRunSources(ctx context.Context, id string, sources map[string]string) error
	SetRunVars(ctx context.Context, id string, vars map[string]string) error
	SetRunPlugins(ctx context.Context, id string, plugins map[string]string) error
	FinishRun(ctx context.Context, id, status, errMsg string) error
	StepIntent(ctx context.Context, s Step) error
	StepRecord(ctx context.Context, s Step) error
	StepFinished(ctx context.Context, runID string, seq int, result string, resultSecret []byte, status, errMsg string) error
	GetRun(ctx context.Context, id string) (Run, error)
	Runs(ctx context.Context, limit int) ([]Run, error)
	Children(ctx context.Context, parent string) ([]Run, error)
	ChildCounts(ctx context.Context, parent string) (map[string]int, error)
	RunsByID(ctx context.Context, ids []string) (map[string]Run, error)
	Steps(ctx context.Context, runID string, reveal bool) ([]Step, error)
	TokensOfRun(ctx context.Context, runID string) ([]store.Token, error)
	// ClockReading records the run's seq-th reading of the clock (from 1).
	// Like a read step's record it may ride the next commit: a reading is
	// durable with whatever was computed from it and written next.
	ClockReading(ctx context.Context, runID string, seq int, at time.Time) error
	// ClockReadings returns the run's readings of the clock in order.
	ClockReadings(ctx context.Context, runID string) ([]time.Time, error)
}

// Backend is a whole state: the journal and the token store, in one
// database so a token and the run that stored it are kept together.
type Backend interface {
	Journal
	store.Store
	// Location says where the state is (a directory, or host:port/database;
	// never a password), for messages.
	Location() string
	Close() error
}

var _ Backend = (*DB)(nil)
