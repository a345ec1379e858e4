package pluginmgr

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"

	pb "github.com/tokenflow/tokenflow/sdk/proto/tokenflow/plugin/v1"
	"google.golang.org/grpc"
)

// vendorHost plays a vendor behind the host transport: POST /login gives a
// new token (t1, t2, ...), GET /items/{id} needs one that has not expired,
// and /items/missing is not found. It logs every request as "METHOD path
// token".
type vendorHost struct {
	pb.UnimplementedHostServer
	mu     sync.Mutex
	valid  map[string]bool
	logins int
	log    []string
}

func (h *vendorHost) Do(_ context.Context, req *pb.HTTPRequest) *pb.HTTPResponse {
	u, err := url.Parse(req.Url)
	if err != nil {
		return &pb.HTTPResponse{Status: 400}
	}
	var auth string
	for _, hd := range req.Headers {
		if strings.EqualFold(hd.Name, "Authorization") {
			auth = strings.Join(hd.Values, ",")
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.log = append(h.log, strings.TrimSpace(req.Method+" "+u.EscapedPath()+" "+strings.TrimPrefix(auth, "Bearer ")))
	answer := func(status int32, body string) *pb.HTTPResponse {
		return &pb.HTTPResponse{Status: status, Body: []byte(body), Headers: []*pb.Header{{Name: "Content-Type", Values: []string{"application/json"}}}}
	}
	switch {
	case req.Method == "POST" && u.Path == "/login":
		h.logins++
		token := fmt.Sprintf("t%d", h.logins)
		if h.valid == nil {
			h.valid = map[string]bool{}
		}
		h.valid[token] = true
		return answer(200, `{"token":"`+token+`"}`)
	case !strings.HasPrefix(auth, "Bearer ") || !h.valid[strings.TrimPrefix(auth, "Bearer ")]:
		return answer(401, `{"message":"token expired"}`)
	case u.Path == "/items/missing":
		return answer(404, `{"message":"no such item"}`)
	case req.Method == "GET" && strings.HasPrefix(u.Path, "/items/"):
		return answer(200, `{"data":{"name":"n-`+strings.TrimPrefix(u.Path, "/items/")+`","colour":"red"},"size":3,"extra":true}`)
	}
	return answer(500, `{"message":"unexpected request"}`)
}

func (h *vendorHost) Serial() bool { return true }

func (h *vendorHost) RoundTrip(s grpc.BidiStreamingServer[pb.HTTPRequest, pb.HTTPResponse]) error {
	for {
		req, err := s.Recv()
		if err != nil {
			return nil
		}
		resp := h.Do(s.Context(), req)
		resp.Id = req.Id
		if err := s.Send(resp); err != nil {
			return err
		}
	}
}

// since returns the requests logged after the first n.
func (h *vendorHost) since(n int) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.log[n:]...)
}

// expire ends every token given so far.
func (h *vendorHost) expire() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.valid = nil
}

func TestDeclaredReadsAreSentByTheEngine(t *testing.T) {
	for _, mode := range []string{"socket", "unary"} {
		t.Run(mode, func(t *testing.T) { testDeclaredReads(t, mode) })
	}
}

// withVendor starts the testkit plugin, its calls on transport mode and a
// vendorHost behind its host transport.
func withVendor(t *testing.T, mode string) (*vendorHost, Plugin) {
	t.Helper()
	host := &vendorHost{}
	m := newManager(t, Config{Host: host})
	p, err := m.Get(context.Background(), "mgrkit")
	if err != nil {
		t.Fatal(err)
	}
	useTransport(t, m.current("mgrkit"), mode)
	return host, p
}

func testDeclaredReads(t *testing.T, mode string) {
	host, p := withVendor(t, mode)
	ctx := context.Background()
	conn := []byte(`{"url":"http://vendor.test/","password":"pw"}`)
	call := func(op, args string) *CallResult {
		t.Helper()
		res, err := p.Call(ctx, &CallRequest{Op: op, ConnectionID: "c1", Connection: conn, Args: []byte(args), StepID: "s1"})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	// applied is how many requests the plugin has authenticated so far:
	// it grows only when the plugin, not the engine, makes the request.
	applied := func() int {
		t.Helper()
		var out struct{ Count int }
		if err := json.Unmarshal(call("applied", `{}`).Result, &out); err != nil {
			t.Fatal(err)
		}
		return out.Count
	}
	item := func(id string) string {
		t.Helper()
		res := call("item", `{"id":"`+id+`"}`)
		if res.Err != nil {
			t.Fatalf("item %s: %v", id, res.Err)
		}
		return string(res.Result)
	}
	expect := func(from int, want ...string) int {
		t.Helper()
		got := host.since(from)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("the vendor got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
		return from + len(got)
	}

	// The first call goes to the plugin: it logs in and sends the GET.
	if got := item("a/b"); got != `{"name":"n-a/b","size":3}` {
		t.Fatalf("plugin's result %s", got)
	}
	n := expect(0, "POST /login", "GET /items/a%2Fb t1")
	before := applied()
	// The next ones the engine sends with the plugin's request, and reads
	// the answer by the same rule.
	if got := item("c"); got != `{"name":"n-c","size":3}` {
		t.Fatalf("engine's result %s", got)
	}
	item("d")
	n = expect(n, "GET /items/c t1", "GET /items/d t1")
	if a := applied(); a != before {
		t.Fatalf("the plugin made %d requests for reads the engine should have sent", a-before)
	}

	// An expired login: the engine's GET gets a 401, which the plugin
	// takes as its own answer (not sending that GET again), logs in and
	// sends the GET with the new token.
	host.expire()
	if got := item("e"); got != `{"name":"n-e","size":3}` {
		t.Fatalf("after a new login %s", got)
	}
	n = expect(n, "GET /items/e t1", "POST /login", "GET /items/e t2")
	before = applied()
	item("f")
	n = expect(n, "GET /items/f t2")
	if a := applied(); a != before {
		t.Fatal("after the new login the plugin still makes the reads")
	}

	// A failure is the plugin's to word, from the engine's answer.
	res := call("item", `{"id":"missing"}`)
	if res.Err == nil || res.Err.Code != "not_found" || res.Err.Message != "item: HTTP 404: no such item" {
		t.Fatalf("missing item: %+v", res.Err)
	}
	n = expect(n, "GET /items/missing t2")
	// ... and the next read goes to the plugin, which hands back a session.
	before = applied()
	item("g")
	item("h")
	n = expect(n, "GET /items/g t2", "GET /items/h t2")
	if a := applied(); a != before+1 {
		t.Fatalf("after a failed read the plugin made %d of the next two requests, want 1", a-before)
	}

	// A closed connection's session is gone on both sides.
	if err := p.CloseConnection(ctx, &CallRequest{ConnectionID: "c1", Connection: conn, StepID: "s1"}); err != nil {
		t.Fatal(err)
	}
	item("i")
	expect(n, "POST /login", "GET /items/i t3")
}

// TestDeclaredReadsOnManyConnectionsAtOnce: a fleet's targets share one
// plugin process; each connection's reads use its own session, whoever
// sends them, with calls of all connections in flight at once.
func TestDeclaredReadsOnManyConnectionsAtOnce(t *testing.T) {
	host, p := withVendor(t, "socket")
	ctx := context.Background()
	conn := []byte(`{"url":"http://vendor.test","password":"pw"}`)
	var wg sync.WaitGroup
	errs := make(chan error, 8*20)
	for c := 0; c < 8; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				id := fmt.Sprintf("c%d-%d", c, i)
				res, err := p.Call(ctx, &CallRequest{Op: "item", ConnectionID: fmt.Sprintf("conn-%d", c), Connection: conn, Args: []byte(`{"id":"` + id + `"}`), StepID: "s1"})
				switch {
				case err != nil:
					errs <- err
				case res.Err != nil:
					errs <- res.Err
				case string(res.Result) != `{"name":"n-`+id+`","size":3}`:
					errs <- fmt.Errorf("item %s: %s", id, res.Result)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// One login per connection: each connection's reads after its first
	// used its own session.
	if host.logins != 8 {
		t.Errorf("%d logins for 8 connections", host.logins)
	}
}
