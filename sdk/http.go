package sdk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	pb "github.com/tokenflow/tokenflow/sdk/proto/tokenflow/plugin/v1"
	"google.golang.org/grpc"
)

// maxBody bounds what a plugin sends or receives in one exchange.
const maxBody = 32 << 20

type sessionKey struct{}

type notesKey struct{}

// WithNote attaches a note to a request: shown beside it in a dry-run plan,
// never sent. Use it for what a reviewer needs to check a request that the
// wire form hides, such as the message a signature was computed over. Notes
// pass through the redactor like everything else in the plan.
func WithNote(req *http.Request, key, value string) *http.Request {
	notes := map[string]string{}
	if old, ok := req.Context().Value(notesKey{}).(map[string]string); ok {
		for k, v := range old {
			notes[k] = v
		}
	}
	notes[key] = value
	return req.WithContext(context.WithValue(req.Context(), notesKey{}, notes))
}

// MarkSession marks a request that opens or closes a per-connection login
// session. A dry-run sends such requests even inside a write op, so reads can
// authenticate; everything else a write op sends is held.
func MarkSession(req *http.Request) *http.Request {
	return req.WithContext(context.WithValue(req.Context(), sessionKey{}, true))
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// hostConn is the plugin's one RoundTrip stream to the engine, opened
// lazily and reopened after it breaks. Exchanges are multiplexed: each
// request carries an id and one reader goroutine per stream routes every
// answer back by that id, so the calls of many targets (a fleet run shares
// one plugin process) proceed at once and a slow vendor holds up only its
// own call.
type hostConn struct {
	dial func(id uint32) (*grpc.ClientConn, error)

	mu       sync.Mutex // guards the fields below and stream.Send
	brokerID uint32
	conn     *grpc.ClientConn
	stream   pb.Host_RoundTripClient
	cancel   context.CancelFunc
	replies  *replies // the current stream's
	warming  uint32   // the broker id warm last dialled for
}

// warm opens the host stream in the background the first time a call names
// brokerID. go-plugin drops the engine's connection info if this side has
// not claimed it within 5 s, so a first call that sends no request, with a
// pause after it, must not leave the dial to a later call that would find
// nothing to dial.
func (h *hostConn) warm(brokerID uint32) {
	if brokerID == 0 || h.dial == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.warming == brokerID || (h.stream != nil && h.brokerID == brokerID) {
		return
	}
	h.warming = brokerID
	go func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.open(brokerID) // an error is the next exchange's to report
	}()
}

// open returns the stream, dialling the broker on first use. Called with mu
// held.
func (h *hostConn) open(brokerID uint32) (pb.Host_RoundTripClient, error) {
	if h.stream != nil && h.brokerID == brokerID {
		return h.stream, nil
	}
	h.reset()
	conn, err := h.dial(brokerID)
	if err != nil {
		return nil, fmt.Errorf("dial host transport: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stream, err := pb.NewHostClient(conn).RoundTrip(ctx)
	if err != nil {
		cancel()
		conn.Close()
		return nil, fmt.Errorf("open host transport: %w", err)
	}
	h.conn, h.stream, h.cancel, h.brokerID = conn, stream, cancel, brokerID
	h.replies = &replies{}
	go h.read(stream, h.replies)
	return stream, nil
}

// read routes the stream's answers to their exchanges until it breaks.
func (h *hostConn) read(stream pb.Host_RoundTripClient, rep *replies) {
	for {
		resp, err := stream.Recv()
		if err != nil {
			h.mu.Lock()
			if h.stream == stream {
				h.reset()
			}
			h.mu.Unlock()
			return
		}
		rep.Deliver(resp.Id, resp)
	}
}

// reset drops the stream and fails every exchange waiting on it. Called
// with mu held.
func (h *hostConn) reset() {
	if h.cancel != nil {
		h.cancel()
	}
	if h.conn != nil {
		h.conn.Close()
	}
	if h.replies != nil {
		h.replies.fail()
	}
	h.conn, h.stream, h.cancel, h.replies = nil, nil, nil, nil
}

func (h *hostConn) roundTrip(ctx context.Context, brokerID uint32, req *pb.HTTPRequest) (*pb.HTTPResponse, error) {
	h.mu.Lock()
	stream, err := h.open(brokerID)
	if err != nil {
		h.mu.Unlock()
		return nil, err
	}
	rep := h.replies
	id, ch, err := rep.Add()
	if err != nil {
		h.mu.Unlock()
		return nil, err
	}
	req.Id = id
	if err := stream.Send(req); err != nil {
		h.reset()
		h.mu.Unlock()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("send to host transport: %w", err)
	}
	h.mu.Unlock()
	return rep.await(ctx, id, ch)
}

// exchanger carries one call's host exchanges: on the call socket
// (socketHost) or on the broker's RoundTrip stream (brokerHost).
type exchanger interface {
	roundTrip(ctx context.Context, req *pb.HTTPRequest) (*pb.HTTPResponse, error)
}

// brokerHost is the host stream of the broker a gRPC call named.
type brokerHost struct {
	conn     *hostConn
	brokerID uint32
}

func (b brokerHost) roundTrip(ctx context.Context, req *pb.HTTPRequest) (*pb.HTTPResponse, error) {
	return b.conn.roundTrip(ctx, b.brokerID, req)
}

// callTransport is the http.RoundTripper of one Call: it tags every request
// with the call's step so the host applies that step's policy.
type callTransport struct {
	host   exchanger
	stepID string
}

func (t *callTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(io.LimitReader(req.Body, maxBody+1))
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("read request body: %w", err)
		}
		if len(b) > maxBody {
			return nil, fmt.Errorf("request body over %d bytes", maxBody)
		}
		body = b
	}
	preq := &pb.HTTPRequest{
		StepId: t.stepID,
		Method: req.Method,
		Url:    req.URL.String(),
		Body:   body,
	}
	preq.Session, _ = req.Context().Value(sessionKey{}).(bool)
	preq.Notes, _ = req.Context().Value(notesKey{}).(map[string]string)
	preq.Headers = headersToProto(req.Header)
	if req.Host != "" && req.Host != req.URL.Host {
		preq.Headers = append(preq.Headers, &pb.Header{Name: "Host", Values: []string{req.Host}})
	}
	presp, err := t.host.roundTrip(req.Context(), preq)
	if err != nil {
		return nil, err
	}
	return responseFromProto(presp, req)
}

func headersToProto(h http.Header) []*pb.Header {
	out := make([]*pb.Header, 0, len(h))
	for name, values := range h {
		out = append(out, &pb.Header{Name: name, Values: values})
	}
	return out
}

// responseFromProto is the host's answer to req as net/http's response,
// or the error it reports (held by a dry-run, no response to be had).
func responseFromProto(presp *pb.HTTPResponse, req *http.Request) (*http.Response, error) {
	if presp.Held {
		return nil, errHeld
	}
	if presp.Error != nil {
		return nil, errorFromProto(presp.Error)
	}
	resp := &http.Response{
		Status:        fmt.Sprintf("%d %s", presp.Status, http.StatusText(int(presp.Status))),
		StatusCode:    int(presp.Status),
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{},
		Body:          io.NopCloser(bytes.NewReader(presp.Body)),
		ContentLength: int64(len(presp.Body)),
		Request:       req,
	}
	for _, h := range presp.Headers {
		resp.Header[http.CanonicalHeaderKey(h.Name)] = h.Values
	}
	return resp, nil
}

func errorFromProto(e *pb.Error) *Error {
	out := &Error{
		Code:       codeFromProto(e.Code),
		Message:    e.Message,
		Retryable:  e.Retryable,
		RetryAfter: time.Duration(e.RetryAfterMs) * time.Millisecond,
		Param:      e.Param,
	}
	return out
}

func errorToProto(err error) *pb.Error {
	var e *Error
	if !errors.As(err, &e) {
		return &pb.Error{Code: pb.ErrorCode_ERROR_CODE_INTERNAL, Message: err.Error()}
	}
	return &pb.Error{
		Code:         codeToProto(e.Code),
		Message:      e.Message,
		Retryable:    e.Retryable,
		RetryAfterMs: e.RetryAfter.Milliseconds(),
		Param:        e.Param,
	}
}

var codes = []struct {
	c Code
	p pb.ErrorCode
}{
	{CodeInternal, pb.ErrorCode_ERROR_CODE_INTERNAL},
	{CodeInvalidArgument, pb.ErrorCode_ERROR_CODE_INVALID_ARGUMENT},
	{CodeUnauthenticated, pb.ErrorCode_ERROR_CODE_UNAUTHENTICATED},
	{CodePermissionDenied, pb.ErrorCode_ERROR_CODE_PERMISSION_DENIED},
	{CodeNotFound, pb.ErrorCode_ERROR_CODE_NOT_FOUND},
	{CodeConflict, pb.ErrorCode_ERROR_CODE_CONFLICT},
	{CodeRateLimited, pb.ErrorCode_ERROR_CODE_RATE_LIMITED},
	{CodeUnavailable, pb.ErrorCode_ERROR_CODE_UNAVAILABLE},
}

func codeToProto(c Code) pb.ErrorCode {
	for _, m := range codes {
		if m.c == c {
			return m.p
		}
	}
	return pb.ErrorCode_ERROR_CODE_INTERNAL
}

func codeFromProto(p pb.ErrorCode) Code {
	for _, m := range codes {
		if m.p == p {
			return m.c
		}
	}
	return CodeInternal
}
