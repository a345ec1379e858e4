package sdk

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	pb "github.com/tokenflow/tokenflow/sdk/proto/tokenflow/plugin/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"
)

// callsStream serves p's Plugin service in memory and opens Calls on it.
func callsStream(t *testing.T, p *Plugin) pb.Plugin_CallsClient {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	s := grpc.NewServer()
	pb.RegisterPluginServer(s, &server{plugin: p, logger: hclog.NewNullLogger(), host: &hostConn{}, sessions: map[string]*Session{}})
	go s.Serve(lis)
	t.Cleanup(s.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	stream, err := pb.NewPluginClient(conn).Calls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return stream
}

func TestCallsStreamAnswersByIDWithDeadlineAndCancel(t *testing.T) {
	p := &Plugin{Name: "acme", Connection: []Field{{Name: "url", Type: String, Required: true}}, Ops: []Op{
		{Name: "wait", Effect: Read, Handler: func(ctx context.Context, c *Call) (any, error) {
			<-ctx.Done()
			return nil, Errorf(CodeUnavailable, "stopped: %v", ctx.Err())
		}},
		{Name: "deadline", Effect: Read, Results: []Field{{Name: "left_ms", Type: Int}}, Handler: func(ctx context.Context, c *Call) (any, error) {
			d, ok := ctx.Deadline()
			if !ok {
				return map[string]any{"left_ms": -1}, nil
			}
			return map[string]any{"left_ms": time.Until(d).Milliseconds()}, nil
		}},
	}}
	if d, err := (&server{plugin: p}).Describe(context.Background(), &pb.DescribeRequest{}); err != nil || !advertised(d) {
		t.Fatalf("Describe does not advertise the call stream: %v", err)
	}
	stream := callsStream(t, p)
	conn := []byte(`{"url":"http://127.0.0.1:1"}`)
	send := func(req *pb.CallRequest) {
		t.Helper()
		req.ConnectionJson, req.ArgsJson = conn, []byte(`{}`)
		if err := stream.Send(req); err != nil {
			t.Fatal(err)
		}
	}
	recv := func() *pb.CallResponse {
		t.Helper()
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	// Call 1 waits; calls 2 and 3 are answered meanwhile, each by its id.
	send(&pb.CallRequest{Id: 1, Op: "wait"})
	send(&pb.CallRequest{Id: 2, Op: "deadline", TimeoutMs: 60_000})
	if r := recv(); r.Id != 2 || !strings.Contains(string(r.ResultJson), `"left_ms":59`) {
		t.Fatalf("call 2: id %d, %s %v", r.Id, r.ResultJson, r.Error)
	}
	send(&pb.CallRequest{Id: 3, Op: "deadline"})
	if r := recv(); r.Id != 3 || string(r.ResultJson) != `{"left_ms":-1}` {
		t.Fatalf("call 3 (no deadline): id %d, %s", r.Id, r.ResultJson)
	}
	send(&pb.CallRequest{Id: 1, Cancel: true})
	if r := recv(); r.Id != 1 || r.Error == nil || !strings.Contains(r.Error.Message, "context canceled") {
		t.Fatalf("call 1 after its cancel: id %d, %v", r.Id, r.Error)
	}
	send(&pb.CallRequest{Id: 4, Op: "wait", TimeoutMs: 50})
	if r := recv(); r.Id != 4 || r.Error == nil || !strings.Contains(r.Error.Message, "deadline exceeded") {
		t.Fatalf("call 4 past its deadline: id %d, %v", r.Id, r.Error)
	}
	send(&pb.CallRequest{Id: 5, Op: "nope"})
	if r := recv(); r.Id != 5 || r.Error == nil || r.Error.Code != pb.ErrorCode_ERROR_CODE_INVALID_ARGUMENT {
		t.Fatalf("unknown op: id %d, %v", r.Id, r.Error)
	}
}

func advertised(d *pb.DescribeResponse) bool {
	for _, c := range d.Capabilities {
		if c == pb.Capability_CAPABILITY_CALL_STREAM {
			return true
		}
	}
	return false
}
