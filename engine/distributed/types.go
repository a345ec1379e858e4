// Package distributed runs flows on Temporal: a flow is a workflow that
// replays the Starlark script deterministically (sources bundled and hashed
// at submit, workflow time, no environment or disk reads), and every op call
// is an activity that a worker executes on its own plugins, with the shared
// state in PostgreSQL (engine/state/pgstate) making writes exactly-once.
//
// No secret enters workflow history in clear: secret() yields a reference
// ("tfref:env:NAME") that the worker resolves inside the activity, and an
// op's secret result fields come back as references to the step's sealed
// result in the shared journal. The submitting side (the CLI) imports only
// the Temporal client SDK; the server is for tests (temporaltest).
package distributed

import (
	"encoding/json"
	"time"

	"github.com/tokenflow/tokenflow/engine"
	"github.com/tokenflow/tokenflow/engine/plan"
	"github.com/tokenflow/tokenflow/engine/pluginmgr"
	"github.com/tokenflow/tokenflow/engine/store"
)

// Names registered with Temporal. Changing one strands running workflows.
const (
	WorkflowName     = "tokenflow.Flow"
	activityDescribe = "tokenflow.Describe"
	activityOp       = "tokenflow.Op"
	activityClose    = "tokenflow.CloseConnection"
	activityStore    = "tokenflow.Store"
	activityJournal  = "tokenflow.Journal"
	// DefaultTaskQueue is where flows and their activities go unless the
	// worker and the submitter name another.
	DefaultTaskQueue = "tokenflow"
)

// FlowInput is a workflow's input: everything the flow reads, so a replay
// on any worker sees the same thing. It holds no secret.
type FlowInput struct {
	// Flow is the absolute path of the main file when submitted; Sources
	// are keyed by such paths.
	Flow    string            `json:"flow"`
	LibDir  string            `json:"lib_dir"`
	Sources map[string]string `json:"sources"`
	// Hash is the SHA-256 of the bundle (see Bundle.hash); the workflow
	// refuses a bundle that does not match it.
	Hash   string            `json:"hash"`
	Vars   map[string]string `json:"vars"`
	Target string            `json:"target,omitempty"`
	// Site is the target's site label: its vendor activities go to the
	// site's queue (OpsQueue).
	Site string `json:"site,omitempty"`
	// Credentials are an inventory target's credentials as references
	// (name -> "env:NAME" or "file:/abs/path"), never values: the flow's
	// secret("env:NAME") for such a name becomes the reference, which the
	// worker resolves inside the activity.
	Credentials map[string]string `json:"credentials,omitempty"`
	// TLS is the inventory target's certificate check (engine.TargetTLS).
	TLS *engine.TargetTLS `json:"tls,omitempty"`
	// DryRun runs the flow as a plan: reads are sent, writes held on the
	// worker; nothing is journaled and the result carries the plan.
	DryRun bool `json:"dry_run,omitempty"`
	// TargetInfo is journaled with the run (state.Run.TargetInfo): how to
	// reach an inventory target again, without secrets, for rotate --due
	// and revoke.
	TargetInfo string `json:"target_info,omitempty"`
}

// FlowResult is a finished workflow's result, as a local run reports it.
type FlowResult struct {
	RunID   string              `json:"run_id"`
	Outputs []engine.Output     `json:"outputs"`
	Steps   []engine.StepRecord `json:"steps"`
	// Plan is a dry-run's plan, rendered (plan.FromSteps rebuilds it).
	Plan []plan.Step `json:"plan,omitempty"`
}

// connSpec is a connection's network side (hostnet.Conn) as activity
// input. ProxyPassword is a reference, like every secret.
type connSpec struct {
	ID            string        `json:"id"`
	Vendor        string        `json:"vendor"`
	URL           string        `json:"url"`
	Extra         []string      `json:"extra,omitempty"`
	CAFile        string        `json:"ca_file,omitempty"`
	Insecure      bool          `json:"insecure,omitempty"`
	Pin           string        `json:"pin,omitempty"`
	Timeout       time.Duration `json:"timeout,omitempty"`
	TotalTimeout  time.Duration `json:"total_timeout,omitempty"`
	ProxyURL      string        `json:"proxy_url,omitempty"`
	ProxyUser     string        `json:"proxy_user,omitempty"`
	ProxyPassword string        `json:"proxy_password,omitempty"`
	ProxyDirect   bool          `json:"proxy_direct,omitempty"`
}

// opInput is one op call as an activity's input. Connection and Args hold
// references, never secrets.
type opInput struct {
	RunID        string          `json:"run_id"`
	Seq          int             `json:"seq"`
	CallSite     string          `json:"call_site,omitempty"`
	Op           string          `json:"op"`
	Conn         connSpec        `json:"conn"`
	ConnectionID string          `json:"connection_id"`
	Connection   json.RawMessage `json:"connection"`
	Args         json.RawMessage `json:"args"`
	StepID       string          `json:"step_id"`
	DryRun       bool            `json:"dry_run,omitempty"`
}

// opOutput is an op's outcome: secret result fields are references.
type opOutput struct {
	Result     json.RawMessage `json:"result,omitempty"`
	NotApplied bool            `json:"not_applied,omitempty"`
	// Held and Requests are a dry-run call's: its requests, secrets
	// masked, placeholders left for the workflow's plan to render.
	Held     bool               `json:"held,omitempty"`
	Requests []plan.Request     `json:"requests,omitempty"`
	Err      *pluginmgr.OpError `json:"err,omitempty"`
}

// storeInput is one token store call; Token.Value may be a reference.
type storeInput struct {
	Op     string       `json:"op"` // put, get, list, versions, promote, set_state, delete
	Target string       `json:"target,omitempty"`
	Name   string       `json:"name,omitempty"`
	ID     string       `json:"id,omitempty"`
	State  string       `json:"state,omitempty"`
	Token  *store.Token `json:"token,omitempty"`
}

// storeOutput carries tokens whose values are references.
type storeOutput struct {
	Tokens   []store.Token `json:"tokens,omitempty"`
	NotFound bool          `json:"not_found,omitempty"`
}

// journalInput begins or finishes the run's journal entry.
type journalInput struct {
	Op      string            `json:"op"` // begin, finish
	RunID   string            `json:"run_id"`
	Flow    string            `json:"flow,omitempty"`
	Hash    string            `json:"hash,omitempty"`
	Vars    map[string]string `json:"vars,omitempty"`
	Target  string            `json:"target,omitempty"`
	Info    string            `json:"target_info,omitempty"`
	Started time.Time         `json:"started,omitempty"`
	Status  string            `json:"status,omitempty"`
	Error   string            `json:"error,omitempty"`
}
