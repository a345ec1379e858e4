package pluginmgr

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	pb "github.com/tokenflow/tokenflow/sdk/proto/tokenflow/plugin/v1"
)

// callStream carries the calls of one plugin process on its Plugin.Calls
// stream, multiplexed by id, for plugins that advertise
// CAPABILITY_CALL_STREAM: one message each way per op instead of a new
// HTTP/2 stream (headers, trailers and per-call goroutines on both sides).
// One reader goroutine routes every answer to its caller.
type callStream struct {
	mu      sync.Mutex // guards the fields below and stream.Send
	stream  pb.Plugin_CallsClient
	cancel  context.CancelFunc
	nextID  uint64
	waiting map[uint64]chan *pb.CallResponse
	// err is set once the stream broke; every later call fails with it.
	err error
}

// errStreamClosed fails the calls in flight when the stream breaks (the
// plugin exited, say).
var errStreamClosed = errors.New("call stream closed during the call")

// advertisesCallStream reports whether Describe listed the capability.
func advertisesCallStream(resp *pb.DescribeResponse) bool {
	return slices.Contains(resp.Capabilities, pb.Capability_CAPABILITY_CALL_STREAM)
}

// openCallStream opens the stream for the life of the process: it ends
// when the process does (or close is called).
func openCallStream(client pb.PluginClient) (*callStream, error) {
	ctx, cancel := context.WithCancel(context.Background())
	stream, err := client.Calls(ctx)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("open call stream: %w", err)
	}
	s := &callStream{stream: stream, cancel: cancel, waiting: map[uint64]chan *pb.CallResponse{}}
	go s.read()
	return s, nil
}

// read routes the answers to their calls until the stream breaks.
func (s *callStream) read() {
	for {
		resp, err := s.stream.Recv()
		s.mu.Lock()
		if err != nil {
			s.fail(fmt.Errorf("%w: %w", errStreamClosed, err))
			s.mu.Unlock()
			return
		}
		if ch := s.waiting[resp.Id]; ch != nil {
			delete(s.waiting, resp.Id)
			ch <- resp // buffered: never blocks
		}
		// else: the answer to a call the engine gave up on; dropped.
		s.mu.Unlock()
	}
}

// fail breaks the stream and every call waiting on it. Called with mu held.
func (s *callStream) fail(err error) {
	if s.err == nil {
		s.err = err
	}
	s.cancel()
	for id, ch := range s.waiting {
		close(ch)
		delete(s.waiting, id)
	}
}

// broken reports whether the stream failed; calls waiting on it have
// failed with it.
func (s *callStream) broken() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err != nil
}

func (s *callStream) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail(errors.New("call stream closed"))
}

// call sends req and waits for its answer until cctx ends. A call given up
// on is cancelled in the plugin and its late answer dropped; the stream
// stays open for the others.
func (s *callStream) call(cctx context.Context, req *pb.CallRequest) (*pb.CallResponse, error) {
	if deadline, ok := cctx.Deadline(); ok {
		// The plugin's handler gets the deadline a unary call would carry
		// as grpc-timeout, rounded up and counted from its receipt: it
		// ends no earlier than the engine's, so a handler that gives up
		// on its deadline cannot answer before the engine times it out.
		req.TimeoutMs = max(int64((time.Until(deadline)+time.Millisecond-1)/time.Millisecond), 1)
	}
	ch := make(chan *pb.CallResponse, 1)
	s.mu.Lock()
	if s.err != nil {
		err := s.err
		s.mu.Unlock()
		return nil, err
	}
	s.nextID++
	id := s.nextID
	req.Id = id
	s.waiting[id] = ch
	if err := s.stream.Send(req); err != nil {
		s.fail(fmt.Errorf("send on call stream: %w", err))
		err = s.err
		s.mu.Unlock()
		return nil, err
	}
	s.mu.Unlock()
	select {
	case resp, ok := <-ch:
		if !ok {
			s.mu.Lock()
			defer s.mu.Unlock()
			return nil, s.err
		}
		if cctx.Err() != nil {
			// Both ready: the deadline or cancellation wins, as on a
			// unary call.
			return nil, cctx.Err()
		}
		return resp, nil
	case <-cctx.Done():
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.waiting, id)
		if s.err == nil {
			// Best effort: a stream that cannot take the cancel is broken
			// and fails on its own.
			if err := s.stream.Send(&pb.CallRequest{Id: id, Cancel: true}); err != nil {
				s.fail(fmt.Errorf("send on call stream: %w", err))
			}
		}
		return nil, cctx.Err()
	}
}
