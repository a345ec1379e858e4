package pluginmgr

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tokenflow/tokenflow/engine/schema"
)

// Plugin is a running vendor plugin as the engine sees it.
type Plugin interface {
	Schema() *schema.Schema
	// Call runs one op. A transport failure (the plugin crashed, say) is
	// returned as error; a vendor or argument failure as CallResult.Err.
	Call(ctx context.Context, req *CallRequest) (*CallResult, error)
	// CloseConnection lets the plugin end a login session it holds.
	CloseConnection(ctx context.Context, req *CallRequest) error
}

// CallRequest is one op call.
type CallRequest struct {
	Op           string
	ConnectionID string
	Connection   []byte // JSON, secrets revealed
	Args         []byte // JSON, secrets revealed
	DryRun       bool
	StepID       string
	// Reconcile asks whether an earlier call with these arguments took
	// effect (see schema.Op.Reconcilable).
	Reconcile bool
}

// CallResult is the outcome of a call that reached the plugin.
type CallResult struct {
	Result []byte // JSON object
	Held   bool   // a dry-run held one of the op's requests
	// NotApplied answers a Reconcile call: the earlier call did not take
	// effect.
	NotApplied bool
	Err        *OpError
}

// OpError is a typed error from a plugin.
type OpError struct {
	Code       string // invalid_argument, unauthenticated, ... (DESIGN.md, plugin contract)
	Message    string
	Retryable  bool
	RetryAfter time.Duration
	Param      string
}

func (e *OpError) Error() string {
	switch {
	case e.Param != "":
		return fmt.Sprintf("%s (%s: %s)", e.Message, e.Code, e.Param)
	case e.Code == "internal":
		return e.Message
	}
	return fmt.Sprintf("%s (%s)", e.Message, e.Code)
}

// Sentinel errors of the plugin manager.
var (
	// ErrNotFound means no tokenflow-plugin-<vendor> binary is installed in
	// any searched place; the message lists the places.
	ErrNotFound = errors.New("plugin not found")
	// ErrCrashed means the plugin process exited during a call. The manager
	// starts it afresh on the next Get.
	ErrCrashed = errors.New("plugin crashed")
	// ErrTimeout means a call missed Config.CallTimeout; the plugin process
	// was killed and is started afresh on the next call.
	ErrTimeout = errors.New("plugin call timed out")
)
