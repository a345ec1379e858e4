package sdk

import (
	"context"
	"sync"
	"time"

	pb "github.com/tokenflow/tokenflow/sdk/proto/tokenflow/plugin/v1"
)

// capabilities is what Describe advertises beyond the base contract.
var capabilities = []pb.Capability{pb.Capability_CAPABILITY_CALL_STREAM}

// Calls serves the engine's long-lived call stream: each CallRequest is one
// call, run on a goroutine of its own so the calls of many targets proceed
// at once, and answered with one CallResponse carrying the request's id. An op
// then costs one message each way instead of a new HTTP/2 stream, with its
// headers, trailers and per-call goroutines on both sides.
func (s *server) Calls(stream pb.Plugin_CallsServer) error {
	var (
		sendMu  sync.Mutex // stream.Send is not safe for concurrent use
		mu      sync.Mutex // guards running
		running = map[uint64]context.CancelFunc{}
		wg      sync.WaitGroup
	)
	// Calls run on workers that stay for the stream's life: a goroutine per
	// call grew its stack from the minimum on every call, and copying
	// stacks was a tenth of the plugin's CPU per op. A call finding no idle
	// worker starts one, so as many calls run at once as arrive.
	work := make(chan func())
	worker := func(f func()) {
		for ; f != nil; f = <-work {
			f()
		}
	}
	// A call still running when the stream ends is cancelled and waited
	// for: its Send must not come after this handler returned.
	defer func() {
		mu.Lock()
		for _, cancel := range running {
			cancel()
		}
		mu.Unlock()
		wg.Wait()
		close(work) // idle workers receive nil and end
	}()
	for {
		req, err := stream.Recv()
		if err != nil {
			// io.EOF when the engine closes the stream, a status error when
			// its process goes away: both end the stream for good.
			return nil
		}
		if req.Cancel {
			mu.Lock()
			if cancel := running[req.Id]; cancel != nil {
				cancel()
			}
			mu.Unlock()
			continue
		}
		// The deadline a unary Call gets from grpc-timeout.
		var ctx context.Context
		var cancel context.CancelFunc
		if req.TimeoutMs > 0 {
			ctx, cancel = context.WithTimeout(stream.Context(), time.Duration(req.TimeoutMs)*time.Millisecond)
		} else {
			ctx, cancel = context.WithCancel(stream.Context())
		}
		mu.Lock()
		running[req.Id] = cancel
		mu.Unlock()
		wg.Add(1)
		call := func() {
			defer wg.Done()
			resp, _ := s.Call(ctx, req) // Call reports every failure in resp
			mu.Lock()
			delete(running, req.Id)
			mu.Unlock()
			cancel()
			// Answered even when cancelled: the engine drops an answer to a
			// call it gave up on.
			resp.Id = req.Id
			sendMu.Lock()
			defer sendMu.Unlock()
			if err := stream.Send(resp); err != nil {
				s.logger.Debug("call answer lost: the engine closed the stream", "op", req.Op, "error", err)
			}
		}
		select {
		case work <- call:
		default:
			go worker(call)
		}
	}
}
