package engine

import (
	"io"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/tokenflow/tokenflow/engine/hostnet"
	"github.com/tokenflow/tokenflow/engine/redact"
	"github.com/tokenflow/tokenflow/engine/state"
	"github.com/tokenflow/tokenflow/engine/store"
)

// Options configures one run. The zero value plus a flow path is a valid
// run against real vendors with an in-memory store.
type Options struct {
	// Vars are the values var() returns (--var k=v, --vars FILE).
	Vars map[string]string
	// DryRun sends reads, holds writes and returns a plan.
	DryRun bool
	// Record writes every exchange to this cassette file. Exclusive with
	// Replay.
	Record string
	// Replay answers every exchange from this cassette file and never
	// touches the network.
	Replay string

	// PluginDirs are searched in order for plugin binaries, before $PATH
	// when SearchPATH is set.
	PluginDirs []string
	SearchPATH bool
	// PluginStartTimeout bounds a plugin's start. Default 10s.
	PluginStartTimeout time.Duration

	// LibDir is the second place load() looks (after the flow's own
	// directory). Default: the "lib" directory beside the flow's directory
	// (flows/vcf/x.star loads from flows/lib).
	LibDir string
	// MaxSteps bounds Starlark execution steps. Default 10,000,000.
	MaxSteps uint64

	// State journals applied runs (so they can be resumed) and, unless Store
	// is set, backs the token store. Nil: no journal, in-memory store.
	State *state.DB
	// Resume continues the journaled run with this id: the flow and vars
	// come from the journal; completed steps return their recorded results.
	Resume string
	// Failpoint kills the process at a step boundary ("after:N",
	// "inflight:N"); only crash tests set it.
	Failpoint string

	// Store backs store.*. Default: State, else a fresh in-memory store.
	Store store.Store
	// Getenv resolves secret("env:NAME"). Default os.LookupEnv.
	Getenv func(string) (string, bool)
	// Now is the clock time.now() reads. Default time.Now.
	Now func() time.Time

	// Log receives print() output and plugin log lines, redacted.
	// Default: discard.
	Log io.Writer
	// Logger is the engine's structured logger; its output should pass
	// through the redactor too (the CLI does that). Default: discard.
	Logger hclog.Logger

	// Redactor masks secrets in every output. Pass the one the Log and
	// Logger write through; default: a fresh one.
	Redactor *redact.Redactor

	// Retry bounds the host transport's retries.
	Retry hostnet.RetryPolicy
}
