package pluginmgr

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var kitConn = []byte(`{"url":"http://127.0.0.1:1"}`)

func TestGoPluginCallsGoOverTheCallStream(t *testing.T) {
	m := newManager(t, Config{})
	p, err := m.Get(context.Background(), "mgrkit")
	if err != nil {
		t.Fatal(err)
	}
	if m.current("mgrkit").plugin.calls == nil {
		t.Fatal("the Go SDK advertises the call stream, but the engine did not open it")
	}
	echo(t, p)
}

func TestUnaryCallStillServedForPluginsWithoutTheStream(t *testing.T) {
	m := newManager(t, Config{})
	p, err := m.Get(context.Background(), "mgrkit")
	if err != nil {
		t.Fatal(err)
	}
	// As for a plugin that does not advertise the capability.
	inst := m.current("mgrkit")
	inst.closeCalls()
	inst.plugin.calls = nil
	echo(t, p)
}

// Calls in flight at once share the stream: a call that hangs until it is
// cancelled holds up none of the others, and the stream outlives it.
func TestCallStreamRunsCallsAtOnceAndCancelsOne(t *testing.T) {
	m := newManager(t, Config{})
	p, err := m.Get(context.Background(), "mgrkit")
	if err != nil {
		t.Fatal(err)
	}
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
	if s := m.current("mgrkit").plugin.calls; s == nil || s.err != nil || len(s.waiting) != 0 {
		t.Fatalf("stream after the cancel: %+v", s)
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

func TestCallStreamReportsACrashAndRestarts(t *testing.T) {
	m := newManager(t, Config{})
	p, err := m.Get(context.Background(), "mgrkit")
	if err != nil {
		t.Fatal(err)
	}
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

// BenchmarkCall: one op with no HTTP exchange, over the call stream and
// over the unary Call.
func BenchmarkCall(b *testing.B) {
	for _, mode := range []string{"stream", "unary"} {
		b.Run(mode, func(b *testing.B) {
			m := New(Config{Dirs: []string{kitDir}})
			defer m.Close()
			p, err := m.Get(context.Background(), "mgrkit")
			if err != nil {
				b.Fatal(err)
			}
			if mode == "unary" {
				inst := m.current("mgrkit")
				inst.closeCalls()
				inst.plugin.calls = nil
			}
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
