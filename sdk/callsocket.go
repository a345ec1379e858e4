package sdk

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"

	pb "github.com/tokenflow/tokenflow/sdk/proto/tokenflow/plugin/v1"
	"google.golang.org/protobuf/proto"
)

// openCallSocket adopts the call socket the engine passed, if it passed
// one (an older engine does not). The inherited descriptor is closed once
// duplicated: the duplicate is close-on-exec, so a process the plugin
// starts does not inherit the engine's calls.
func openCallSocket() (*pb.FrameConn, error) {
	v := os.Getenv(pb.EnvCallSocketFD)
	if v == "" {
		return nil, nil
	}
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return nil, fmt.Errorf("%s=%q is not a descriptor the engine passes; start plugins through tokenflow", pb.EnvCallSocketFD, v)
	}
	f := os.NewFile(uintptr(fd), "call socket")
	defer f.Close()
	conn, err := net.FileConn(f)
	if err != nil {
		return nil, fmt.Errorf("call socket on descriptor %d: %w", fd, err)
	}
	return pb.NewFrameConn(conn), nil
}

// serveSocket serves the calls that arrive on the call socket until the
// engine closes it: each on a worker, its host exchanges sent back on the
// same socket. One goroutine reads every frame and never waits on a call,
// so an answer to one call's exchange is never held up by another call.
func (s *server) serveSocket(fc *pb.FrameConn) {
	ctx, cancel := context.WithCancel(context.Background())
	host := &socketHost{fc: fc, replies: &replies{}}
	pool := newCallPool(ctx)
	defer func() {
		cancel()
		host.fail()
		pool.stop()
		fc.Close()
	}()
	for {
		kind, id, payload, err := fc.Read()
		if err != nil {
			return // the engine closed its end (or is gone)
		}
		switch kind {
		case pb.FrameCall:
			req := &pb.CallRequest{}
			if err := proto.Unmarshal(payload, req); err != nil {
				s.logger.Error("malformed call frame; closing the call socket", "error", err)
				return
			}
			pool.start(id, req.TimeoutMs, func(ctx context.Context) {
				s.answer(fc, id, req.Op, s.call(ctx, req, host))
			})
		case pb.FrameCancel:
			pool.cancel(id)
		case pb.FrameClose:
			req := &pb.CloseConnectionRequest{}
			if err := proto.Unmarshal(payload, req); err != nil {
				s.logger.Error("malformed close frame; closing the call socket", "error", err)
				return
			}
			pool.start(id, 0, func(ctx context.Context) {
				s.closeConnection(ctx, req, host)
				s.answer(fc, id, "close_session", &pb.CallResponse{})
			})
		case pb.FrameReply:
			resp := &pb.HTTPResponse{}
			if err := proto.Unmarshal(payload, resp); err != nil {
				s.logger.Error("malformed reply frame; closing the call socket", "error", err)
				return
			}
			host.Deliver(id, resp)
		default:
			s.logger.Error("unknown frame on the call socket; closing it", "kind", kind)
			return
		}
	}
}

// answer sends a call's answer. One too large for a frame is answered with
// an error instead: the engine would otherwise wait for it until the
// call's deadline.
func (s *server) answer(fc *pb.FrameConn, id uint64, op string, resp *pb.CallResponse) {
	err := fc.Write(pb.FrameAnswer, id, resp)
	if errors.Is(err, pb.ErrFrameTooLarge) {
		err = fc.Write(pb.FrameAnswer, id, &pb.CallResponse{Error: errorToProto(
			Errorf(CodeInternal, "the result of %s is over the %d MB a call may return", op, pb.MaxFrame>>20))})
	}
	if err != nil {
		s.logger.Debug("call answer lost: the call socket closed", "op", op, "error", err)
	}
}

// socketHost sends a call's host exchanges on the call socket; the
// socket's reader delivers the replies.
type socketHost struct {
	fc *pb.FrameConn
	*replies
}

func (h *socketHost) roundTrip(ctx context.Context, req *pb.HTTPRequest) (*pb.HTTPResponse, error) {
	id, ch, err := h.Add()
	if err != nil {
		return nil, err
	}
	if err := h.fc.Write(pb.FrameExchange, id, req); err != nil {
		h.Forget(id)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, pb.ErrFrameTooLarge) {
			return nil, fmt.Errorf("send to host transport: request %w", err)
		}
		return nil, fmt.Errorf("send to host transport: %w", err)
	}
	return h.await(ctx, id, ch)
}
