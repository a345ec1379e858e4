package pluginmgr

import "context"

// prestart is a launch begun by Prestart, before any run asked for the
// plugin: done closes when it ended, err is its failure.
type prestart struct {
	done chan struct{}
	err  error
}

// Prestart launches the vendors' plugins in the background, so that a run
// whose flow is still loading (and whose state is still opening) finds its
// plugin started at its first connect(). It never fails: the first Get of
// a vendor waits for that vendor's launch and returns its error, the one it
// would have met launching the plugin itself. A vendor already running or
// already prestarting is left alone; Close stops launches in flight.
func (m *Manager) Prestart(vendors ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	for _, v := range vendors {
		if m.pre[v] != nil || m.running[v] != nil {
			continue
		}
		p := &prestart{done: make(chan struct{})}
		m.pre[v] = p
		go func() {
			defer close(p.done)
			_, p.err = m.live(m.stopCtx, v)
		}()
	}
}

// awaitPrestart waits for the vendor's prestart, if one is pending, and
// hands its error over once: a later Get launches afresh, as without it.
func (m *Manager) awaitPrestart(ctx context.Context, vendor string) error {
	m.mu.Lock()
	p := m.pre[vendor]
	delete(m.pre, vendor)
	m.mu.Unlock()
	if p == nil {
		return nil
	}
	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		return ctx.Err()
	}
}
