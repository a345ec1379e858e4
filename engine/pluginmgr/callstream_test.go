package pluginmgr

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	pb "github.com/tokenflow/tokenflow/sdk/proto/tokenflow/plugin/v1"
)

var kitConn = []byte(`{"url":"http://127.0.0.1:1"}`)

// useTransport makes a running plugin's calls go on the call socket (as
// launched), the Calls stream (a plugin without the socket) or the unary
// Call (a plugin with neither). The plugin's process is the same.
func useTransport(t testing.TB, inst *instance, mode string) {
	t.Helper()
	gp := inst.plugin
	switch mode {
	case "socket":
		if gp.socket == nil {
			t.Fatal("no call socket")
		}
		return
	case "stream", "unary":
		// The gRPC client exists once the handshake, which a plugin with
		// the call socket finishes in the background, is done.
		for i := 0; ; i++ {
			gp.callsMu.Lock()
			ready := gp.client != nil
			gp.callsMu.Unlock()
			if ready {
				break
			}
			if i == 500 {
				t.Fatal("no handshake after 5s")
			}
			time.Sleep(10 * time.Millisecond)
		}
		if gp.socket != nil {
			gp.socket.close()
			gp.socket = nil
		}
		if mode == "unary" {
			inst.closeCalls()
			gp.calls = nil
			return
		}
		s, err := openCallStream(gp.client)
		if err != nil {
			t.Fatal(err)
		}
		gp.calls = s
	default:
		t.Fatalf("unknown transport %q", mode)
	}
}

// transports are the ways the engine carries calls, newest first.
var transports = []string{"socket", "stream", "unary"}

func TestGoPluginCallsGoOverTheCallSocket(t *testing.T) {
	m := newManager(t, Config{})
	p, err := m.Get(context.Background(), "mgrkit")
	if err != nil {
		t.Fatal(err)
	}
	if gp := m.current("mgrkit").plugin; gp.socket == nil || gp.calls != nil {
		t.Fatal("the Go SDK advertises the call socket, but the engine did not use it")
	}
	echo(t, p)
}

func TestOlderTransportsStillServed(t *testing.T) {
	for _, mode := range transports[1:] {
		t.Run(mode, func(t *testing.T) {
			m := newManager(t, Config{})
			p, err := m.Get(context.Background(), "mgrkit")
			if err != nil {
				t.Fatal(err)
			}
			useTransport(t, m.current("mgrkit"), mode)
			echo(t, p)
		})
	}
}

// Calls in flight at once share the socket or stream: a call that hangs
// until it is cancelled holds up none of the others, and the transport
// outlives it.
func TestCallsRunAtOnceAndOneIsCancelled(t *testing.T) {
	for _, mode := range transports[:2] {
		t.Run(mode, func(t *testing.T) { testCallsAtOnce(t, mode) })
	}
}

func testCallsAtOnce(t *testing.T, mode string) {
	m := newManager(t, Config{})
	p, err := m.Get(context.Background(), "mgrkit")
	if err != nil {
		t.Fatal(err)
	}
	useTransport(t, m.current("mgrkit"), mode)
	ctx, cancel := context.WithCancel(context.Background())
	hung := make(chan error, 1)
	go func() {
		_, err := p.Call(ctx, &CallRequest{Op: "hang", Connection: kitConn, Args: []byte(`{}`)})
		hung <- err
	}()
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := p.Call(context.Background(), &CallRequest{Op: "echo", Connection: kitConn, Args: []byte(`{"text":"hi","count":` + strconv.Itoa(i) + `}`)})
			if err == nil && (res.Err != nil || !strings.Contains(string(res.Result), `"count":`+strconv.Itoa(i))) {
				err = errors.New("wrong answer: " + string(res.Result))
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-hung:
		t.Fatalf("hang returned early: %v", err)
	default:
	}
	cancel()
	select {
	case err := <-hung:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled call: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("cancelled call still waiting")
	}
	echo(t, p)
	gp := m.current("mgrkit").plugin
	var w *waitlist
	if mode == "stream" {
		w = gp.calls.waitlist
	} else {
		w = gp.socket.waitlist
	}
	if w.Err() != nil || w.Len() != 0 {
		t.Fatalf("%s after the cancel: %v, %d waiting", mode, w.Err(), w.Len())
	}
}

// A stream that broke while the process lives (an answer over gRPC's
// message size breaks it, say) is replaced for the next call rather than
// failing every call until the process is restarted.
func TestBrokenCallStreamIsReopened(t *testing.T) {
	m := newManager(t, Config{})
	p, err := m.Get(context.Background(), "mgrkit")
	if err != nil {
		t.Fatal(err)
	}
	useTransport(t, m.current("mgrkit"), "stream")
	pid := m.pid(t, "mgrkit")
	gp := m.current("mgrkit").plugin
	old := gp.calls
	old.close()
	echo(t, p)
	if gp.calls == old || gp.calls.broken() {
		t.Fatal("the broken stream was not replaced")
	}
	if m.pid(t, "mgrkit") != pid {
		t.Fatal("the process was restarted")
	}
}

func TestCrashIsReportedAndRestarts(t *testing.T) {
	for _, mode := range transports {
		t.Run(mode, func(t *testing.T) { testCrash(t, mode) })
	}
}

func testCrash(t *testing.T, mode string) {
	m := newManager(t, Config{})
	p, err := m.Get(context.Background(), "mgrkit")
	if err != nil {
		t.Fatal(err)
	}
	useTransport(t, m.current("mgrkit"), mode)
	first := m.pid(t, "mgrkit")
	_, err = p.Call(context.Background(), &CallRequest{Op: "crash", Connection: kitConn, Args: []byte(`{}`)})
	if !errors.Is(err, ErrCrashed) {
		t.Fatalf("err = %v", err)
	}
	gone(t, first)
	echo(t, p)
	if second := m.pid(t, "mgrkit"); second == first {
		t.Fatalf("same pid %d after the crash", first)
	}
}

// BenchmarkCall: one op with no HTTP exchange, over the call socket, the
// call stream and the unary Call.
func BenchmarkCall(b *testing.B) {
	for _, mode := range transports {
		b.Run(mode, func(b *testing.B) {
			m := New(Config{Dirs: []string{kitDir}})
			defer m.Close()
			p, err := m.Get(context.Background(), "mgrkit")
			if err != nil {
				b.Fatal(err)
			}
			useTransport(b, m.current("mgrkit"), mode)
			req := &CallRequest{Op: "echo", Connection: kitConn, Args: []byte(`{"text":"hi"}`)}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if res, err := p.Call(context.Background(), req); err != nil || res.Err != nil {
					b.Fatal(err, res)
				}
			}
		})
	}
}

// slowHost answers exchanges to /slow after a pause, others at once, as a
// fleet's host transport does with several steps in flight.
type slowHost struct{ countingHost }

func (h *slowHost) Do(ctx context.Context, req *pb.HTTPRequest) *pb.HTTPResponse {
	if strings.HasSuffix(req.Url, "/slow") {
		time.Sleep(2 * time.Second)
	}
	return &pb.HTTPResponse{Status: 204}
}

func (h *slowHost) Serial() bool { return false }

// A slow vendor exchange of one call holds up no other call on the same
// plugin: neither its answer nor its own exchanges.
func TestSlowExchangeHoldsUpNoOtherCall(t *testing.T) {
	m := newManager(t, Config{Host: &slowHost{}})
	p, err := m.Get(context.Background(), "mgrkit")
	if err != nil {
		t.Fatal(err)
	}
	echo(t, p)
	slow := make(chan error, 1)
	go func() {
		_, err := p.Call(context.Background(), &CallRequest{Op: "fetch", Connection: kitConn, Args: []byte(`{"url":"http://127.0.0.1:1/slow"}`)})
		slow <- err
	}()
	time.Sleep(100 * time.Millisecond) // the slow exchange is under way
	start := time.Now()
	res, err := p.Call(context.Background(), &CallRequest{Op: "fetch", Connection: kitConn, Args: []byte(`{"url":"http://127.0.0.1:1/fast"}`)})
	if err != nil || res.Err != nil {
		t.Fatalf("fast fetch: %v %+v", err, res)
	}
	echo(t, p)
	if d := time.Since(start); d > time.Second {
		t.Fatalf("a fast call took %s behind a slow exchange", d)
	}
	if err := <-slow; err != nil {
		t.Fatal(err)
	}
}
