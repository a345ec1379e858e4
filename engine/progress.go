package engine

// stepDone reports a finished step to Options.OnStep, outside the run's
// lock (the callback writes to a terminal).
func (r *run) stepDone(idx int) {
	if r.opts.OnStep == nil {
		return
	}
	r.mu.Lock()
	s := r.steps[idx]
	r.mu.Unlock()
	r.opts.OnStep(s)
}
