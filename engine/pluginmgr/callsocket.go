package pluginmgr

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"

	pb "github.com/tokenflow/tokenflow/sdk/proto/tokenflow/plugin/v1"
	"google.golang.org/protobuf/proto"
)

// Host is the engine's host transport as plugins reach it: on the call
// socket one exchange at a time (Do), on the broker as the Host service's
// RoundTrip stream (plugins without the call socket).
type Host interface {
	pb.HostServer
	// Do answers one exchange.
	Do(ctx context.Context, req *pb.HTTPRequest) *pb.HTTPResponse
	// Serial reports whether exchanges may be answered one after another
	// on the goroutine that received them: true while a single step is in
	// flight (one run, the common case), where handing each to a goroutine
	// of its own costs a thread wake-up, which dominates a loopback
	// exchange.
	Serial() bool
}

// newSocketPair returns the engine's end of a call socket and the
// plugin's, to be inherited as its descriptor pb.CallSocketFD.
func newSocketPair() (net.Conn, *os.File, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("call socket: %w", err)
	}
	own := os.NewFile(uintptr(fds[0]), "call socket")
	defer own.Close() // FileConn keeps a duplicate
	conn, err := net.FileConn(own)
	if err != nil {
		syscall.Close(fds[1])
		return nil, nil, fmt.Errorf("call socket: %w", err)
	}
	return conn, os.NewFile(uintptr(fds[1]), "call socket (plugin)"), nil
}

// callSocket carries one plugin process's calls, and the host exchanges
// they make, on the call socket (pb.FrameConn) for plugins that advertise
// CAPABILITY_CALL_SOCKET. An op then costs two frames each way on a socket
// only the two processes hold, written by the goroutine that has the
// message and read by the goroutine waiting for it, instead of four gRPC
// messages (each handed to gRPC's writer goroutine, framed as HTTP/2 inside
// TLS and handed again to the waiting goroutine by a reader) on two
// connections, one of them a second mutual TLS handshake dialled through
// the broker at the first call.
//
// No goroutine reads the socket for its own sake: a call waiting for its
// answer reads, serving the exchanges it finds and routing other calls'
// answers (see waitlist.await). Between calls nothing is read; a plugin
// sends nothing then.
type callSocket struct {
	*waitlist
	fc     *pb.FrameConn
	host   Host
	reader *reader
	// onBreak runs when the socket breaks while the process may live:
	// the process is killed, since no new socket can reach it.
	onBreak func()
	// exchanges ends the host exchanges in flight when the socket closes.
	exchanges context.Context
}

// errSocketClosed fails the calls in flight when the socket breaks (the
// plugin exited, say).
var errSocketClosed = errors.New("call socket closed during the call")

func newCallSocket(conn net.Conn, host Host, onBreak func()) *callSocket {
	fc := pb.NewFrameConn(conn)
	ctx, cancel := context.WithCancel(context.Background())
	s := &callSocket{fc: fc, host: host, onBreak: onBreak, exchanges: ctx}
	s.waitlist = newWaitlist(func() {
		cancel()
		fc.Close()
	})
	s.reader = &reader{token: make(chan struct{}, 1), read: s.readFor}
	return s
}

// interrupted is a deadline in the past: it interrupts a read at once.
var interrupted = time.Unix(1, 0)

// readFor reads frames, answering exchanges and routing answers, until ch
// has its answer, cctx ends or the socket breaks. A read interrupted when
// cctx ends resumes where it stopped in the next reader.
func (s *callSocket) readFor(cctx context.Context, ch chan *pb.CallResponse) {
	stop := context.AfterFunc(cctx, func() { s.fc.SetReadDeadline(interrupted) })
	defer stop()
	for len(ch) == 0 {
		kind, id, payload, err := s.fc.Read()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			// cctx ended, or an earlier reader's cctx did just as it
			// handed over: either way this reader looks again.
			s.fc.SetReadDeadline(time.Time{})
			if cctx.Err() != nil {
				return
			}
			continue
		}
		if err != nil {
			s.broke(fmt.Errorf("%w: %w", errSocketClosed, err))
			return
		}
		if !s.handle(kind, id, payload) {
			return
		}
	}
}

// handle takes one frame from the plugin; false means the socket broke.
func (s *callSocket) handle(kind pb.FrameKind, id uint64, payload []byte) bool {
	switch kind {
	case pb.FrameAnswer:
		resp := &pb.CallResponse{}
		if err := proto.Unmarshal(payload, resp); err != nil {
			s.broke(fmt.Errorf("malformed answer on the call socket: %w", err))
			return false
		}
		s.Deliver(id, resp)
	case pb.FrameExchange:
		req := &pb.HTTPRequest{}
		if err := proto.Unmarshal(payload, req); err != nil {
			s.broke(fmt.Errorf("malformed exchange on the call socket: %w", err))
			return false
		}
		switch {
		case s.host == nil:
			s.reply(id, &pb.HTTPResponse{Error: &pb.Error{Code: pb.ErrorCode_ERROR_CODE_PERMISSION_DENIED, Message: "this engine serves no host transport"}})
		case s.host.Serial() && s.Len() <= 1:
			// The only call in flight, in the only step: nothing else can
			// arrive on the socket before this exchange is answered.
			s.reply(id, s.host.Do(s.exchanges, req))
		default:
			// Its own goroutine: a slow vendor must not hold up the other
			// calls' frames behind this reader.
			go func() { s.reply(id, s.host.Do(s.exchanges, req)) }()
		}
	default:
		s.broke(fmt.Errorf("unexpected frame kind %d on the call socket", kind))
		return false
	}
	return true
}

// reply answers an exchange. A response too large for a frame is answered
// with an error instead, so the plugin's exchange does not wait for ever.
func (s *callSocket) reply(id uint64, resp *pb.HTTPResponse) {
	err := s.fc.Write(pb.FrameReply, id, resp)
	if errors.Is(err, pb.ErrFrameTooLarge) {
		err = s.fc.Write(pb.FrameReply, id, &pb.HTTPResponse{Error: &pb.Error{Code: pb.ErrorCode_ERROR_CODE_INTERNAL,
			Message: fmt.Sprintf("the response is over the %d MB a plugin may receive", pb.MaxFrame>>20)}})
	}
	if err != nil {
		s.broke(err)
	}
}

// broke fails the waiting calls and kills the process: a socket that broke
// cannot be replaced while it lives, and the next call starts a new one.
func (s *callSocket) broke(err error) {
	if s.Err() != nil {
		return // closed on purpose, or already broken
	}
	s.fail(err)
	if s.onBreak != nil {
		s.onBreak()
	}
}

func (s *callSocket) broken() bool { return s.Err() != nil }

func (s *callSocket) close() { s.fail(errors.New("call socket closed")) }

// call sends a call frame and waits for its answer until cctx ends.
func (s *callSocket) call(cctx context.Context, req *pb.CallRequest) (*pb.CallResponse, error) {
	req.TimeoutMs = timeoutMs(cctx)
	return s.exchange(cctx, pb.FrameCall, req)
}

// closeConnection asks the plugin to end a connection's session.
func (s *callSocket) closeConnection(cctx context.Context, req *pb.CloseConnectionRequest) error {
	_, err := s.exchange(cctx, pb.FrameClose, req)
	return err
}

func (s *callSocket) exchange(cctx context.Context, kind pb.FrameKind, m proto.Message) (*pb.CallResponse, error) {
	id, ch, err := s.Add()
	if err != nil {
		return nil, err
	}
	if err := s.fc.Write(kind, id, m); err != nil {
		if errors.Is(err, pb.ErrFrameTooLarge) {
			s.Forget(id)
			return nil, fmt.Errorf("call arguments over the %d MB a plugin may receive", pb.MaxFrame>>20)
		}
		s.broke(err)
		return nil, s.Err()
	}
	return s.await(cctx, id, ch, func() error { return s.fc.Write(pb.FrameCancel, id, nil) }, s.reader)
}
