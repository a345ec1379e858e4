package hostnet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/tokenflow/tokenflow/engine/plan"
	"github.com/tokenflow/tokenflow/engine/redact"
	pb "github.com/tokenflow/tokenflow/sdk/proto/tokenflow/plugin/v1"
)

// Options configures a Transport. Zero values are the documented defaults.
type Options struct {
	// Redactor masks secrets in logs, plans, errors and cassettes; the
	// transport also adds credentials it sees on the wire. Required.
	Redactor *redact.Redactor
	// Cassette records or replays exchanges. Nil sends for real.
	Cassette *Cassette
	// Retry bounds retries; see RetryPolicy for defaults.
	Retry RetryPolicy
	// Logger audits every exchange at debug level. Default: discard.
	Logger hclog.Logger
}

// Step is what the transport knows about the op call a request belongs to.
type Step struct {
	// ID is unique among the steps in flight on this transport (runs of a
	// fleet share one transport, so it carries a per-run prefix).
	ID     string
	Call   string // "acme.create_api_client"
	Write  bool   // the op's effect is write
	DryRun bool
	Conn   *Conn
	// Plan receives the step's requests in a dry-run, under PlanStep (the
	// step's id in its run's plan). Nil outside a dry-run.
	Plan     *plan.Plan
	PlanStep string
}

// Transport is the engine's side of the Host service. One transport serves
// every run of a process (a fleet run's targets share it); what differs per
// run travels with each Step.
type Transport struct {
	pb.UnimplementedHostServer
	opts Options
	log  hclog.Logger

	mu    sync.Mutex
	steps map[string]*Step
	conns []*Conn
}

// New returns a transport.
func New(opts Options) *Transport {
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	opts.Retry = opts.Retry.withDefaults()
	return &Transport{opts: opts, log: opts.Logger.Named("hostnet"), steps: map[string]*Step{}}
}

// Begin registers a step before its Call is sent; End forgets it. Requests
// for an unknown step are refused.
func (t *Transport) Begin(s *Step) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.steps[s.ID] = s
	for _, c := range t.conns {
		if c == s.Conn {
			return
		}
	}
	t.conns = append(t.conns, s.Conn)
}

// End forgets a step.
func (t *Transport) End(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.steps, id)
}

// Forget releases a finished run's connection: its idle keep-alive
// connections are closed and the transport no longer tracks it, so a
// long fleet run does not accumulate one client per target.
func (t *Transport) Forget(c *Conn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, x := range t.conns {
		if x == c {
			t.conns = append(t.conns[:i], t.conns[i+1:]...)
			break
		}
	}
	c.close()
}

// Close releases idle connections. The cassette is saved by its owner.
func (t *Transport) Close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range t.conns {
		c.close()
	}
}

// RoundTrip serves a plugin's request stream. While a single step is in
// flight (one run, the common case) requests are answered in order on the
// receiving goroutine: handing each to a new goroutine costs a thread
// wake-up per request, which dominates a loopback exchange. When several
// steps share the plugin (a fleet run), each request is answered on its own
// goroutine, so a slow vendor holds up only its own target.
func (t *Transport) RoundTrip(stream pb.Host_RoundTripServer) error {
	var sendMu sync.Mutex
	var wg sync.WaitGroup
	defer wg.Wait()
	answer := func(req *pb.HTTPRequest) error {
		resp := t.Do(stream.Context(), req)
		resp.Id = req.Id
		sendMu.Lock()
		defer sendMu.Unlock()
		if err := stream.Send(resp); err != nil {
			t.log.Debug("answer to plugin lost", "error", err)
			return err
		}
		return nil
	}
	for {
		req, err := stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if t.Serial() {
			if err := answer(req); err != nil {
				return err
			}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			answer(req)
		}()
	}
}

// Serial reports whether a single step is in flight, so exchanges may be
// answered in order on the goroutine that received them (see RoundTrip).
func (t *Transport) Serial() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.steps) <= 1
}

func errResponse(code pb.ErrorCode, format string, args ...any) *pb.HTTPResponse {
	return &pb.HTTPResponse{Error: &pb.Error{Code: code, Message: fmt.Sprintf(format, args...)}}
}

// Do handles one request from a plugin.
func (t *Transport) Do(ctx context.Context, req *pb.HTTPRequest) *pb.HTTPResponse {
	t.mu.Lock()
	step := t.steps[req.StepId]
	t.mu.Unlock()
	red := t.opts.Redactor
	if step == nil {
		return errResponse(pb.ErrorCode_ERROR_CODE_INTERNAL, "request outside of any step (step %q)", req.StepId)
	}
	u, err := url.Parse(req.Url)
	if err != nil {
		return errResponse(pb.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, "plugin sent a malformed URL: %v", red.Error(err))
	}
	header := http.Header{}
	for _, h := range req.Headers {
		header[http.CanonicalHeaderKey(h.Name)] = h.Values
	}
	// Credentials the plugin put on the wire are secrets of the run, even
	// those the engine never saw (a session token from a login).
	registerWireSecrets(red, header, req.Body)

	if !step.Conn.Allows(u) {
		return errResponse(pb.ErrorCode_ERROR_CODE_PERMISSION_DENIED,
			"%s: request to %s://%s refused: the connection only allows %s",
			step.Call, u.Scheme, u.Host, step.Conn.Allowed())
	}

	if step.DryRun && step.Plan == nil {
		// A dry-run step must hold its writes in a plan; without one it
		// could only send them. Refuse rather than risk a change.
		return errResponse(pb.ErrorCode_ERROR_CODE_INTERNAL, "%s: dry-run step %q has no plan to hold its requests in; nothing was sent", step.Call, step.ID)
	}
	if step.DryRun {
		unknown := plan.HasPlaceholder(req.Url) || plan.HasPlaceholder(string(req.Body)) || headerHasPlaceholder(header)
		unsafe := req.Method != http.MethodGet && req.Method != http.MethodHead
		if unknown || (step.Write && unsafe && !req.Session) {
			step.Plan.AddRequest(step.PlanStep, req.Method, req.Url, header, req.Body, req.Notes, true, 0)
			t.log.Debug("held by dry-run", "step", step.ID, "method", req.Method, "url", red.String(req.Url))
			return &pb.HTTPResponse{Held: true}
		}
	}

	start := time.Now()
	resp, body, err := t.send(ctx, step, req.Method, u, header, req.Body)
	if err != nil {
		t.log.Debug("exchange failed", "step", step.ID, "method", req.Method, "url", red.String(req.Url), "error", red.String(err.Error()))
		code := pb.ErrorCode_ERROR_CODE_UNAVAILABLE
		var miss *ReplayMissError
		if errors.As(err, &miss) {
			code = pb.ErrorCode_ERROR_CODE_INTERNAL
		}
		return &pb.HTTPResponse{Error: &pb.Error{Code: code, Message: red.String(err.Error())}}
	}
	registerWireSecrets(red, resp.Header, body)
	t.log.Debug("exchange", "step", step.ID, "method", req.Method, "url", red.String(req.Url), "status", resp.StatusCode, "duration", time.Since(start))
	if step.DryRun && step.Plan != nil && !req.Session {
		step.Plan.AddRequest(step.PlanStep, req.Method, req.Url, header, nil, req.Notes, false, resp.StatusCode)
	}
	out := &pb.HTTPResponse{Status: int32(resp.StatusCode), Body: body}
	for name, values := range resp.Header {
		out.Headers = append(out.Headers, &pb.Header{Name: name, Values: values})
	}
	return out
}

func headerHasPlaceholder(h http.Header) bool {
	for _, vs := range h {
		for _, v := range vs {
			if plan.HasPlaceholder(v) {
				return true
			}
		}
	}
	return false
}

// maxResponse bounds a response body handed to a plugin.
const maxResponse = 32 << 20

// send performs the exchange through the cassette (when set) and the retry
// policy, within the connection's deadlines: each attempt (headers and
// body) within its Timeout, all attempts within its TotalTimeout.
func (t *Transport) send(ctx context.Context, step *Step, method string, u *url.URL, header http.Header, body []byte) (*http.Response, []byte, error) {
	var rt http.RoundTripper
	if t.opts.Cassette != nil {
		rt = t.opts.Cassette.roundTripper(func() (http.RoundTripper, error) { return t.retrying(step, method) })
	} else {
		r, err := t.retrying(step, method)
		if err != nil {
			return nil, nil, err
		}
		rt = r
	}
	_, total := step.Conn.Deadlines()
	tctx, cancel := context.WithTimeout(ctx, total)
	defer cancel()
	req, err := http.NewRequestWithContext(tctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	if len(body) == 0 {
		req.Body = http.NoBody
	}
	req.ContentLength = int64(len(body))
	req.Header = header
	if h := header.Get("Host"); h != "" {
		req.Host = h
		header.Del("Host")
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return nil, nil, describeNetError(ctx, tctx, step, method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		if derr := deadlineError(ctx, tctx, step, method, u, err); derr != nil {
			return nil, nil, derr
		}
		return nil, nil, fmt.Errorf("%s %s: reading response: %w", method, u.Redacted(), err)
	}
	if len(b) > maxResponse {
		return nil, nil, fmt.Errorf("%s %s: response body over %d bytes", method, u.Redacted(), maxResponse)
	}
	return resp, b, nil
}

// ErrDeadline marks an exchange that ran out of time: one attempt took
// longer than the connection's timeout, or all attempts together took
// longer than its total deadline.
var ErrDeadline = errors.New("vendor did not answer in time")

// deadlineError describes err when it is a deadline of the exchange (nil
// otherwise), naming the host and the deadline that expired. A cancelled
// run (ctx done) is not a deadline: its cause is returned as is.
func deadlineError(ctx, tctx context.Context, step *Step, method string, u *url.URL, err error) error {
	where := fmt.Sprintf("%s %s://%s%s", method, u.Scheme, u.Host, u.EscapedPath())
	attempt, total := step.Conn.Deadlines()
	var nerr net.Error
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("%s: %w", where, ctx.Err())
	case errors.Is(tctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("%s: %w: no complete answer from %s within %s, the connection's total deadline across retries (is the vendor up and reachable? a slow one needs a longer timeout)",
			where, ErrDeadline, u.Host, total)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &nerr) && nerr.Timeout():
		return fmt.Errorf("%s: %w: no complete answer from %s within %s, the connection's timeout for one attempt (is the vendor up and reachable? a slow one needs a longer timeout)",
			where, ErrDeadline, u.Host, attempt)
	}
	return nil
}

// describeNetError turns transport failures into messages an operator can
// act on.
func describeNetError(ctx, tctx context.Context, step *Step, method string, u *url.URL, err error) error {
	var miss *ReplayMissError
	if errors.As(err, &miss) {
		return err
	}
	if derr := deadlineError(ctx, tctx, step, method, u, err); derr != nil {
		return derr
	}
	msg := err.Error()
	var uerr *url.Error
	if errors.As(err, &uerr) {
		msg = uerr.Err.Error()
	}
	hint := ""
	switch {
	case strings.Contains(msg, "certificate signed by unknown authority"),
		strings.Contains(msg, "x509:"), strings.Contains(msg, "tls:"):
		hint = " (TLS verification failed: trust the appliance's CA with --var ca_file=PATH, or ca_file in the inventory target's tls)"
	case strings.Contains(msg, "connection refused"):
		hint = " (nothing listens there: is the URL right and the appliance up?)"
	}
	return fmt.Errorf("%s %s://%s%s: %s%s", method, u.Scheme, u.Host, u.EscapedPath(), msg, hint)
}
