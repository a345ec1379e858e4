package pluginmgr

import (
	"context"
	"time"

	pb "github.com/tokenflow/tokenflow/sdk/proto/tokenflow/plugin/v1"
)

// waitlist pairs a plugin's answers with the calls waiting for them, by
// id, for the transports that multiplex calls: the Calls stream and the
// call socket. Once failed, it fails every waiting call and every later one
// with the same error, and closes the transport.
type waitlist struct {
	pb.Pending[*pb.CallResponse]
	// onFail runs once, when the list fails: it closes the transport.
	onFail func()
}

func newWaitlist(onFail func()) *waitlist { return &waitlist{onFail: onFail} }

// fail breaks the list with err (the first error wins).
func (w *waitlist) fail(err error) {
	if w.Fail(err) && w.onFail != nil {
		w.onFail()
	}
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
				return nil, w.Err()
			}
			if err := expired(cctx); err != nil {
				return nil, err
			}
			return resp, nil
		case <-cctx.Done():
			if w.Forget(id) {
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
