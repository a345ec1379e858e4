package pluginmgr

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	pb "github.com/tokenflow/tokenflow/sdk/proto/tokenflow/plugin/v1"
)

// callStream carries the calls of one plugin process on its Plugin.Calls
// stream, multiplexed by id, for plugins that advertise
// CAPABILITY_CALL_STREAM but not the call socket: one message each way per
// op instead of a new HTTP/2 stream (headers, trailers and per-call
// goroutines on both sides). One reader goroutine routes every answer to
// its caller.
type callStream struct {
	*waitlist
	sendMu sync.Mutex // stream.Send is not safe for concurrent use
	stream pb.Plugin_CallsClient
}

// errStreamClosed fails the calls in flight when the stream breaks (the
// plugin exited, say).
var errStreamClosed = errors.New("call stream closed during the call")

// advertises reports whether Describe listed the capability.
func advertises(resp *pb.DescribeResponse, c pb.Capability) bool {
	return slices.Contains(resp.Capabilities, c)
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
	s := &callStream{waitlist: newWaitlist(cancel), stream: stream}
	go s.read()
	return s, nil
}

// read routes the answers to their calls until the stream breaks.
func (s *callStream) read() {
	for {
		resp, err := s.stream.Recv()
		if err != nil {
			s.fail(fmt.Errorf("%w: %w", errStreamClosed, err))
			return
		}
		s.Deliver(resp.Id, resp)
	}
}

// broken reports whether the stream failed; calls waiting on it have
// failed with it.
func (s *callStream) broken() bool { return s.Err() != nil }

func (s *callStream) close() { s.fail(errors.New("call stream closed")) }

func (s *callStream) send(req *pb.CallRequest) error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if err := s.stream.Send(req); err != nil {
		err = fmt.Errorf("send on call stream: %w", err)
		s.fail(err)
		return err
	}
	return nil
}

// call sends req and waits for its answer until cctx ends. A call given up
// on is cancelled in the plugin and its late answer dropped; the stream
// stays open for the others.
func (s *callStream) call(cctx context.Context, req *pb.CallRequest) (*pb.CallResponse, error) {
	req.TimeoutMs = timeoutMs(cctx)
	id, ch, err := s.Add()
	if err != nil {
		return nil, err
	}
	req.Id = id
	if err := s.send(req); err != nil {
		return nil, s.Err()
	}
	return s.await(cctx, id, ch, func() error { return s.send(&pb.CallRequest{Id: id, Cancel: true}) }, nil)
}
