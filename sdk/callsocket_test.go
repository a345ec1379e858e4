package sdk

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	pb "github.com/tokenflow/tokenflow/sdk/proto/tokenflow/plugin/v1"
	"google.golang.org/protobuf/proto"
)

// The plugin's side of the call socket, driven frame by frame as the engine
// does: a call whose op sends a request gets it answered on the same
// socket, and a result too large for a frame is answered with an error
// rather than never.
func TestCallSocketServesCallsAndTheirExchanges(t *testing.T) {
	p := &Plugin{Name: "acme", Connection: []Field{{Name: "url", Type: String, Required: true}}, Ops: []Op{
		{Name: "fetch", Effect: Read, Results: []Field{{Name: "status", Type: Int}}, Handler: func(ctx context.Context, c *Call) (any, error) {
			resp, err := c.HTTP.Get(c.Conn.String("url") + "/x")
			if err != nil {
				return nil, err
			}
			resp.Body.Close()
			return map[string]any{"status": resp.StatusCode}, nil
		}},
		{Name: "huge", Effect: Read, Results: []Field{{Name: "blob", Type: String}}, Handler: func(ctx context.Context, c *Call) (any, error) {
			return map[string]any{"blob": strings.Repeat("x", pb.MaxFrame+1)}, nil
		}},
	}}
	plugin, engine := net.Pipe()
	go newServer(p, hclog.NewNullLogger()).serveSocket(pb.NewFrameConn(plugin))
	fc := pb.NewFrameConn(engine)
	defer fc.Close()
	conn := []byte(`{"url":"http://127.0.0.1:1"}`)
	read := func(want pb.FrameKind, m proto.Message) uint64 {
		t.Helper()
		kind, id, payload, err := fc.Read()
		if err != nil || kind != want {
			t.Fatalf("frame %d, %v; want kind %d", kind, err, want)
		}
		if err := proto.Unmarshal(payload, m); err != nil {
			t.Fatal(err)
		}
		return id
	}

	go fc.Write(pb.FrameCall, 1, &pb.CallRequest{Op: "fetch", ConnectionJson: conn, StepId: "s1"})
	ex := &pb.HTTPRequest{}
	exID := read(pb.FrameExchange, ex)
	if ex.Method != "GET" || ex.Url != "http://127.0.0.1:1/x" || ex.StepId != "s1" {
		t.Fatalf("exchange %+v", ex)
	}
	go fc.Write(pb.FrameReply, exID, &pb.HTTPResponse{Status: 204})
	ans := &pb.CallResponse{}
	if id := read(pb.FrameAnswer, ans); id != 1 || ans.Error != nil || string(ans.ResultJson) != `{"status":204}` {
		t.Fatalf("answer %d: %+v", id, ans)
	}

	go fc.Write(pb.FrameCall, 2, &pb.CallRequest{Op: "huge", ConnectionJson: conn})
	if id := read(pb.FrameAnswer, ans); id != 2 || ans.Error == nil || !strings.Contains(ans.Error.Message, "over the 40 MB") {
		t.Fatalf("answer %d: %+v", id, ans)
	}
}
