package engine

import (
	"io"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/tokenflow/tokenflow/engine/hostnet"
	"github.com/tokenflow/tokenflow/engine/pluginmgr"
	"github.com/tokenflow/tokenflow/engine/redact"
	"github.com/tokenflow/tokenflow/engine/state"
	"github.com/tokenflow/tokenflow/engine/store"
)

// Options configures one run. The zero value plus a flow path is a valid
// run against real vendors with an in-memory store.
type Options struct {
	// Vars are the values var() returns (--var k=v, --vars FILE).
	Vars map[string]string
	// Target names what the run acts on; the token store is scoped to it
	// (two targets never share a token name) and the journal records it.
	// A fleet run sets the inventory target's name. Default: Vars["url"],
	// which is what flows written before fleets stored as a token's target.
	Target string
	// TargetLockWait bounds how long a journaled run waits for another
	// run (another process, too) that is changing the same Target to end;
	// the state says how runs are serialised (state.TargetLocker).
	// Default 2m.
	TargetLockWait time.Duration
	// TargetTLS applies a fleet target's TLS settings to every connection
	// the flow opens to the target's host, unless the flow sets them itself.
	TargetTLS *TargetTLS
	// Parent is the journal id of the fleet run this run belongs to.
	Parent string
	// TargetInfo is journaled with the run: how to reach the target again,
	// without secrets (JSON), for `rotate --due`.
	TargetInfo string

	// Runtime is shared by the runs of one process (the targets of a fleet
	// run): plugin processes, the host transport, the cassette. When nil
	// the run makes its own from the plugin and recording options below
	// and closes it at the end; when set, those options are taken from the
	// Runtime and the run leaves it open.
	Runtime *Runtime
	// Ops, when set, executes the run's op calls instead of the Runtime's
	// plugins (distributed mode: Temporal activities; see OpExecutor).
	Ops OpExecutor
	// Sources, when set, holds the flow and every file it may load(), by
	// absolute path: the run reads no file from disk (a distributed flow
	// replays inside a workflow from the bundle hashed at submit).
	// file.* and sink.* are refused, since they would read or write the
	// disk of whichever worker replays the flow.
	Sources map[string][]byte
	// SecretRef, when set, is what secret(ref) returns the value of
	// instead of resolving env:, file: and store: itself: a distributed
	// run turns each reference into a token that the worker resolves
	// inside the activity, so no secret enters workflow history.
	SecretRef func(ref string) (string, error)
	// DryRun sends reads, holds writes and returns a plan.
	DryRun bool
	// Record writes every exchange to this cassette file. Exclusive with
	// Replay.
	Record string
	// Replay answers every exchange from this cassette file and never
	// touches the network. A replayed run is a rehearsal: it journals
	// nothing and stores tokens in a throwaway in-memory store (State is
	// neither read nor written; a Store other than a *store.Memory is
	// replaced), and the cassette must match the integrity hash it was
	// saved with.
	Replay string
	// ReplayEdited replays a cassette that does not match its integrity
	// hash (--replay-edited): the user edited it on purpose.
	ReplayEdited bool

	// AllowHTTP lets connect() use an http:// URL (--allow-http); the run
	// log then warns. Without it (or the flow's allow_insecure_http =
	// True) such a connection is refused: it would carry credentials in
	// clear. Loopback addresses are no exception.
	AllowHTTP bool

	// PluginDirs are searched in order for plugin binaries, before $PATH
	// when SearchPATH is set.
	PluginDirs []string
	SearchPATH bool
	// PluginStartTimeout bounds a plugin's start. Default 10s.
	PluginStartTimeout time.Duration
	// PluginLock, when set, refuses a plugin binary that does not match
	// it (see pluginmgr.Lock). The CLI finds tokenflow.lock from the
	// flow's directory upward, or takes --lock.
	PluginLock *pluginmgr.Lock

	// LibDir is the second place load() looks (after the flow's own
	// directory). Default: the "lib" directory beside the flow's directory
	// (flows/acme/x.star loads from flows/lib).
	LibDir string
	// MaxSteps bounds Starlark execution steps. Default 10,000,000.
	MaxSteps uint64
	// MaxMemory is the Go heap, in bytes, past which the run is stopped.
	// The heap is the process's (a fleet's runs share it) and is sampled,
	// so one huge allocation can overshoot it (see engine/limits.go).
	// Default DefaultMaxMemory (1 GiB).
	MaxMemory uint64
	// Timeout bounds the flow's execution, op calls included. Default
	// DefaultTimeout (30 minutes).
	Timeout time.Duration

	// State journals applied runs (so they can be resumed) and, unless Store
	// is set, backs the token store. Nil: no journal, in-memory store.
	State state.Backend
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

	// OnStep, when set, is called as each op call finishes (the CLI prints
	// a line per step on a terminal). Its Error is redacted.
	OnStep func(StepRecord)

	// Redactor masks secrets in every output. Pass the one the Log and
	// Logger write through; default: a fresh one.
	Redactor *redact.Redactor

	// Retry bounds the host transport's retries.
	Retry hostnet.RetryPolicy
	// HTTPTimeout bounds one HTTP attempt of every connection, body
	// included, unless connect() passes timeout; all attempts of one
	// exchange together get three times that. Default 30s.
	HTTPTimeout time.Duration
	// Proxy, when set, is the HTTP proxy every connection of the run goes
	// through unless its connect() passes proxy; it takes precedence over
	// HTTPS_PROXY, HTTP_PROXY and NO_PROXY (which are read through
	// Getenv). Nil: those variables decide.
	Proxy *RunProxy
}

// RunProxy is an HTTP proxy for a whole run.
type RunProxy struct {
	// URL is http(s)://host:port, without credentials; "direct" turns
	// proxies off.
	URL string
	// User and Password authenticate to the proxy; Password is registered
	// with the redactor.
	User, Password string
}

// TargetTLS is how an inventory target's certificate is checked.
type TargetTLS struct {
	// URL is the target's URL; connections to its host:port get the
	// settings below.
	URL string
	// CAFile is a PEM CA to trust besides the system roots.
	CAFile string
	// Pin is "sha256:<hex>" of the certificate's SubjectPublicKeyInfo; the
	// connection refuses any other key.
	Pin string
	// Insecure turns verification off (labs only; the run log warns).
	Insecure bool
}
