package pluginmgr

import (
	"context"

	"github.com/tokenflow/tokenflow/engine/schema"
)

// handle is the Plugin Get returns: it sends each call to the vendor's
// running process, so a plugin that died between two calls (killed after a
// timeout, or crashed outside any call) is started afresh for the next one
// instead of failing it as a crash.
type handle struct {
	m      *Manager
	vendor string
	schema *schema.Schema
}

func (h *handle) Schema() *schema.Schema { return h.schema }

func (h *handle) Call(ctx context.Context, req *CallRequest) (*CallResult, error) {
	inst, err := h.m.live(ctx, h.vendor)
	if err != nil {
		return nil, err
	}
	return inst.plugin.Call(ctx, req)
}

// CloseConnection does not start a plugin: a session held by a process
// that is gone ended with it.
func (h *handle) CloseConnection(ctx context.Context, req *CallRequest) error {
	inst := h.m.current(h.vendor)
	if inst == nil {
		return nil
	}
	return inst.plugin.CloseConnection(ctx, req)
}
