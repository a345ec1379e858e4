package sdk

import (
	"context"
	"sync"
	"time"

	pb "github.com/tokenflow/tokenflow/sdk/proto/tokenflow/plugin/v1"
)

// capabilities is what Describe advertises beyond the base contract.
var capabilities = []pb.Capability{pb.Capability_CAPABILITY_CALL_STREAM, pb.Capability_CAPABILITY_CALL_SOCKET}

// callPool runs the calls of one stream or socket, each on a goroutine of
// its own so the calls of many targets proceed at once, and cancels them by
// id. Calls run on workers that stay for the pool's life: a goroutine per
// call grew its stack from the minimum on every call, and copying stacks was
// a tenth of the plugin's CPU per op. A call finding no idle worker starts
// one, so as many calls run at once as arrive.
type callPool struct {
	parent  context.Context
	mu      sync.Mutex // guards running
	running map[uint64]context.CancelFunc
	wg      sync.WaitGroup
	work    chan func()
}

func newCallPool(parent context.Context) *callPool {
	return &callPool{parent: parent, running: map[uint64]context.CancelFunc{}, work: make(chan func())}
}

// start runs f for call id with the deadline a unary Call gets from
// grpc-timeout (timeoutMs; 0: none).
func (p *callPool) start(id uint64, timeoutMs int64, f func(ctx context.Context)) {
	var ctx context.Context
	var cancel context.CancelFunc
	if timeoutMs > 0 {
		ctx, cancel = context.WithTimeout(p.parent, time.Duration(timeoutMs)*time.Millisecond)
	} else {
		ctx, cancel = context.WithCancel(p.parent)
	}
	p.mu.Lock()
	p.running[id] = cancel
	p.mu.Unlock()
	p.wg.Add(1)
	call := func() {
		defer p.wg.Done()
		f(ctx)
		p.mu.Lock()
		delete(p.running, id)
		p.mu.Unlock()
		cancel()
	}
	select {
	case p.work <- call:
	default:
		go p.worker(call)
	}
}

func (p *callPool) worker(f func()) {
	for ; f != nil; f = <-p.work {
		f()
	}
}

// cancel stops call id if it is still running.
func (p *callPool) cancel(id uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if cancel := p.running[id]; cancel != nil {
		cancel()
	}
}

// stop cancels the calls still running and waits for them: their answers
// must not be sent after the stream's handler returned. Idle workers end.
func (p *callPool) stop() {
	p.mu.Lock()
	for _, cancel := range p.running {
		cancel()
	}
	p.mu.Unlock()
	p.wg.Wait()
	close(p.work) // idle workers receive nil and end
}

// Calls serves the engine's long-lived call stream: each CallRequest is one
// call, answered with one CallResponse carrying the request's id. An op
// then costs one message each way instead of a new HTTP/2 stream, with its
// headers, trailers and per-call goroutines on both sides.
func (s *server) Calls(stream pb.Plugin_CallsServer) error {
	var sendMu sync.Mutex // stream.Send is not safe for concurrent use
	pool := newCallPool(stream.Context())
	defer pool.stop()
	for {
		req, err := stream.Recv()
		if err != nil {
			// io.EOF when the engine closes the stream, a status error when
			// its process goes away: both end the stream for good.
			return nil
		}
		if req.Cancel {
			pool.cancel(req.Id)
			continue
		}
		pool.start(req.Id, req.TimeoutMs, func(ctx context.Context) {
			resp, _ := s.Call(ctx, req) // Call reports every failure in resp
			// Answered even when cancelled: the engine drops an answer to a
			// call it gave up on.
			resp.Id = req.Id
			sendMu.Lock()
			defer sendMu.Unlock()
			if err := stream.Send(resp); err != nil {
				s.logger.Debug("call answer lost: the engine closed the stream", "op", req.Op, "error", err)
			}
		})
	}
}
