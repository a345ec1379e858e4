package pluginmgr

import (
	"context"
	"sync"
	"time"

	pb "github.com/tokenflow/tokenflow/sdk/proto/tokenflow/plugin/v1"
)

// waitlist pairs a plugin's answers with the calls waiting for them, by
// id, for the transports that multiplex calls: the Calls stream and the
// call socket. Once failed, it fails every waiting call and every later one
// with the same error.
type waitlist struct {
	mu      sync.Mutex
	nextID  uint64
	waiting map[uint64]chan *pb.CallResponse
	err     error
	// onFail runs once, with mu held, when the list fails: it closes the
	// transport.
	onFail func()
}

func newWaitlist(onFail func()) *waitlist {
	return &waitlist{waiting: map[uint64]chan *pb.CallResponse{}, onFail: onFail}
}

// add registers a call and returns its id and the channel its answer
// arrives on.
func (w *waitlist) add() (uint64, chan *pb.CallResponse, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return 0, nil, w.err
	}
	w.nextID++
	ch := make(chan *pb.CallResponse, 1)
	w.waiting[w.nextID] = ch
	return w.nextID, ch, nil
}

// deliver hands an answer to its call; the answer to a call given up on
// is dropped.
func (w *waitlist) deliver(id uint64, resp *pb.CallResponse) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if ch := w.waiting[id]; ch != nil {
		delete(w.waiting, id)
		ch <- resp // buffered: never blocks
	}
}

// forget drops a call given up on and reports whether the list still
// works (so a cancel is worth sending).
func (w *waitlist) forget(id uint64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.waiting, id)
	return w.err == nil
}

// fail breaks the list with err (the first error wins).
func (w *waitlist) fail(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return
	}
	w.err = err
	if w.onFail != nil {
		w.onFail()
	}
	for id, ch := range w.waiting {
		close(ch)
		delete(w.waiting, id)
	}
}

// waiters is the number of calls waiting for an answer.
func (w *waitlist) waiters() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.waiting)
}

// failed returns the error the list failed with (nil: it works).
func (w *waitlist) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// await waits for call id's answer until cctx ends. A call given up on is
// forgotten and cancel is sent (best effort); its late answer is dropped.
// When a deadline and the answer arrive together, the deadline wins, as on
// a unary call.
//
// With a reader (the call socket), a waiting call that can take the
// reader's token reads the transport itself, until its answer arrives or
// cctx ends, and then hands the token on: an answer read by the goroutine
// waiting for it costs no hand-off between goroutines, each of which wakes
// another thread when the engine has an idle processor.
func (w *waitlist) await(cctx context.Context, id uint64, ch chan *pb.CallResponse, cancel func() error, r *reader) (*pb.CallResponse, error) {
	var token chan struct{}
	if r != nil {
		token = r.token
	}
	for {
		select {
		case resp, ok := <-ch:
			if !ok {
				return nil, w.failed()
			}
			if err := expired(cctx); err != nil {
				return nil, err
			}
			return resp, nil
		case <-cctx.Done():
			if w.forget(id) {
				// A transport that cannot take the cancel is broken and
				// fails on its own.
				cancel()
			}
			return nil, cctx.Err()
		case token <- struct{}{}:
			r.read(cctx, ch)
			<-token
		}
	}
}

// reader is the right to read a transport, taken by the calls waiting on it
// one at a time (see await).
type reader struct {
	token chan struct{} // holds a value while someone reads
	// read reads until ch has an answer, cctx ends or the transport
	// breaks.
	read func(cctx context.Context, ch chan *pb.CallResponse)
}

// timeoutMs is the deadline the plugin's handler gets, as a unary call
// carries it in grpc-timeout: rounded up and counted from its receipt, so
// it ends no earlier than the engine's, and a handler that gives up on its
// deadline cannot answer before the engine times it out. 0: none.
func timeoutMs(cctx context.Context) int64 {
	deadline, ok := cctx.Deadline()
	if !ok {
		return 0
	}
	return max(int64((time.Until(deadline)+time.Millisecond-1)/time.Millisecond), 1)
}

// expired reports cctx's error, or DeadlineExceeded once its deadline has
// passed even if its timer has not fired yet: an answer read on the heels
// of the deadline (the plugin's own deadline ends a moment later) loses to
// it, as on a unary call.
func expired(cctx context.Context) error {
	if err := cctx.Err(); err != nil {
		return err
	}
	if d, ok := cctx.Deadline(); ok && !time.Now().Before(d) {
		return context.DeadlineExceeded
	}
	return nil
}
