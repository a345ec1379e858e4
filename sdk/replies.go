package sdk

import (
	"context"
	"errors"
	"sync"

	pb "github.com/tokenflow/tokenflow/sdk/proto/tokenflow/plugin/v1"
)

// errHostClosed fails the exchanges in flight when the host stream or the
// call socket breaks.
var errHostClosed = errors.New("host transport closed during the exchange")

// replies pairs the host's replies with the exchanges waiting for them, by
// id, on one host stream or call socket: its reader delivers each reply,
// and when it breaks every exchange still waiting fails.
type replies struct {
	mu      sync.Mutex
	nextID  uint64
	waiting map[uint64]chan *pb.HTTPResponse // nil once failed
}

func newReplies() *replies {
	return &replies{waiting: map[uint64]chan *pb.HTTPResponse{}}
}

// add registers an exchange and returns its id and the channel its reply
// arrives on.
func (r *replies) add() (uint64, chan *pb.HTTPResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.waiting == nil {
		return 0, nil, errHostClosed
	}
	r.nextID++
	ch := make(chan *pb.HTTPResponse, 1)
	r.waiting[r.nextID] = ch
	return r.nextID, ch, nil
}

// deliver hands a reply to its exchange; the reply to an exchange given up
// on is dropped.
func (r *replies) deliver(id uint64, resp *pb.HTTPResponse) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ch := r.waiting[id]; ch != nil {
		delete(r.waiting, id)
		ch <- resp // buffered: never blocks
	}
}

func (r *replies) forget(id uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.waiting, id)
}

// fail ends every exchange waiting, and every later one.
func (r *replies) fail() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ch := range r.waiting {
		close(ch)
	}
	r.waiting = nil
}

// await waits for exchange id's reply until ctx ends. An exchange given up
// on is forgotten; the transport stays open for the others.
func (r *replies) await(ctx context.Context, id uint64, ch chan *pb.HTTPResponse) (*pb.HTTPResponse, error) {
	select {
	case resp, ok := <-ch:
		if !ok {
			return nil, errHostClosed
		}
		return resp, nil
	case <-ctx.Done():
		r.forget(id)
		return nil, ctx.Err()
	}
}
