package pluginmgr

import (
	"context"
	"crypto/tls"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	pb "github.com/tokenflow/tokenflow/sdk/proto/tokenflow/plugin/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// countingHost answers every exchange with 204 and counts the streams
// opened on it.
type countingHost struct {
	pb.UnimplementedHostServer
	streams atomic.Int32
}

func (h *countingHost) RoundTrip(s grpc.BidiStreamingServer[pb.HTTPRequest, pb.HTTPResponse]) error {
	h.streams.Add(1)
	for {
		req, err := s.Recv()
		if err != nil {
			return nil
		}
		if err := s.Send(&pb.HTTPResponse{Id: req.Id, Status: 204}); err != nil {
			return err
		}
	}
}

// strangers are the ways another local process could try a socket: no
// TLS, TLS without a certificate, and TLS with an identity of its own.
// None of them checks the server, as an attacker would not.
func strangers(t *testing.T) map[string]grpc.DialOption {
	own, err := pb.NewChannelIdentity()
	if err != nil {
		t.Fatal(err)
	}
	return map[string]grpc.DialOption{
		"plaintext": grpc.WithTransportCredentials(insecure.NewCredentials()),
		"no certificate": grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{
			InsecureSkipVerify: true, MinVersion: tls.VersionTLS12})),
		"own certificate": grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{
			InsecureSkipVerify: true, Certificates: []tls.Certificate{own}, MinVersion: tls.VersionTLS12})),
	}
}

func dialUnix(t *testing.T, addr net.Addr, creds grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient("passthrough:///"+addr.String(), creds,
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, addr.Network(), addr.String())
		}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// No local process without the run's credentials can drive a plugin (its
// gRPC server) or the engine (the host transport the plugin dials), while
// the engine's own credentials do reach the plugin.
func TestChannelRefusesProcessesWithoutTheRunsCredentials(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // the engine's broker socket lands here
	host := &countingHost{}
	m := newManager(t, Config{Host: host})
	p, err := m.Get(context.Background(), "mgrkit")
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Call(context.Background(), &CallRequest{Op: "fetch", Connection: []byte(`{"url":"http://127.0.0.1:1"}`), Args: []byte(`{"url":"http://127.0.0.1:1/x"}`)})
	if err != nil || res.Err != nil || !strings.Contains(string(res.Result), `"status":204`) {
		t.Fatalf("fetch through the host transport: %v %+v", err, res)
	}
	if n := host.streams.Load(); n != 1 {
		t.Fatalf("%d host streams after one fetch, want 1", n)
	}
	inst := m.current("mgrkit")
	pluginAddr := inst.client.ReattachConfig().Addr
	hostSocks, _ := filepath.Glob(filepath.Join(tmp, "plugin*"))
	if len(hostSocks) != 1 {
		t.Fatalf("want the host transport's one socket in %s, found %v", tmp, hostSocks)
	}
	hostAddr := &net.UnixAddr{Net: "unix", Name: hostSocks[0]}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// The control: the engine's credentials reach the plugin's server.
	if _, err := pb.NewPluginClient(dialUnix(t, pluginAddr, grpc.WithTransportCredentials(credentials.NewTLS(inst.channel)))).Describe(ctx, &pb.DescribeRequest{}); err != nil {
		t.Fatalf("the engine's own credentials were refused: %v", err)
	}
	for name, creds := range strangers(t) {
		if _, err := pb.NewPluginClient(dialUnix(t, pluginAddr, creds)).Describe(ctx, &pb.DescribeRequest{}); err == nil {
			t.Errorf("%s: a stranger called the plugin's Describe", name)
		}
		if s, err := pb.NewHostClient(dialUnix(t, hostAddr, creds)).RoundTrip(ctx); err == nil {
			if err := s.Send(&pb.HTTPRequest{Id: 1, Method: "GET", Url: "http://127.0.0.1:1/"}); err == nil {
				if _, err := s.Recv(); err == nil {
					t.Errorf("%s: a stranger got an answer from the host transport", name)
				}
			}
		}
	}
	if n := host.streams.Load(); n != 1 {
		t.Fatalf("%d host streams, want only the plugin's", n)
	}
}
