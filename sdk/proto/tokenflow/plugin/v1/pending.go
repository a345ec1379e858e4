package pluginv1

import "sync"

// Pending pairs the answers arriving on one transport with the requests
// waiting for them, by id: the engine's calls to a plugin and a plugin's
// exchanges with the engine's host transport both use it. Each request
// gets a buffered channel its answer is delivered on; once the transport
// fails, every waiting channel is closed and every later request fails with
// the same error. The zero value is ready to use.
type Pending[T any] struct {
	mu     sync.Mutex
	nextID uint64
	chans  map[uint64]chan T
	err    error
}

// Add registers a request and returns its id and the channel its answer
// arrives on.
func (p *Pending[T]) Add() (uint64, chan T, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return 0, nil, p.err
	}
	if p.chans == nil {
		p.chans = map[uint64]chan T{}
	}
	p.nextID++
	ch := make(chan T, 1)
	p.chans[p.nextID] = ch
	return p.nextID, ch, nil
}

// Deliver hands an answer to its request; the answer to a request given up
// on is dropped.
func (p *Pending[T]) Deliver(id uint64, v T) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ch := p.chans[id]; ch != nil {
		delete(p.chans, id)
		ch <- v // buffered: never blocks
	}
}

// Forget drops a request given up on and reports whether the transport
// still works (so telling the other side is worth it).
func (p *Pending[T]) Forget(id uint64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.chans, id)
	return p.err == nil
}

// Fail fails the waiting requests and every later one with err, and reports
// whether this call did it (the first failure wins).
func (p *Pending[T]) Fail(err error) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return false
	}
	p.err = err
	for id, ch := range p.chans {
		close(ch)
		delete(p.chans, id)
	}
	return true
}

// Err is the error the transport failed with (nil: it works).
func (p *Pending[T]) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Len is the number of requests waiting.
func (p *Pending[T]) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.chans)
}
