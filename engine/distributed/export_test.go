package distributed

import (
	"context"
	"encoding/json"

	"github.com/hashicorp/go-hclog"
	"github.com/tokenflow/tokenflow/engine"
	"github.com/tokenflow/tokenflow/engine/state"
)

// OpInput is the op activity's input, for tests that decode it from a
// history and run the activity again.
type OpInput = opInput

// RunOpActivity runs the op activity once, as a worker would on a retry.
func RunOpActivity(ctx context.Context, rt *engine.Runtime, st state.Backend, getenv func(string) (string, bool), in OpInput) (json.RawMessage, error) {
	a := &activities{rt: rt, state: st, getenv: getenv, logger: hclog.NewNullLogger()}
	out, err := a.op(ctx, in)
	if err != nil {
		return nil, err
	}
	if out.Err != nil {
		return nil, out.Err
	}
	return out.Result, nil
}

// SecretRefWith is what secret(ref) returns in a workflow of an inventory
// target with these credentials.
var SecretRefWith = secretRefWith
