package pluginmgr

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	pb "github.com/tokenflow/tokenflow/sdk/proto/tokenflow/plugin/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// countingHost answers every exchange with 204 and counts the streams
// opened on it and the exchanges it got from call sockets.
type countingHost struct {
	pb.UnimplementedHostServer
	streams, socketExchanges atomic.Int32
}

func (h *countingHost) Do(_ context.Context, req *pb.HTTPRequest) *pb.HTTPResponse {
	h.socketExchanges.Add(1)
	return &pb.HTTPResponse{Status: 204}
}

func (h *countingHost) Serial() bool { return true }

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
	// The broker and its host transport serve plugins without the call
	// socket.
	useTransport(t, m.current("mgrkit"), "stream")
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

// With the call socket, a plugin's calls and exchanges travel on a socket
// pair only the engine and the plugin hold: the broker serves nothing (no
// socket another process could dial), and every socket the plugin holds is
// close-on-exec, so nothing it starts inherits the call socket.
func TestCallSocketIsAPrivateDoor(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where the engine's broker socket would land
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
	if n, s := host.socketExchanges.Load(), host.streams.Load(); n != 1 || s != 0 {
		t.Fatalf("%d exchanges on the call socket and %d host streams, want 1 and 0", n, s)
	}
	if socks, _ := filepath.Glob(filepath.Join(tmp, "plugin*")); len(socks) != 0 {
		t.Fatalf("the engine listens for the plugin at %v; with the call socket it should not", socks)
	}
	pid := m.pid(t, "mgrkit")
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	for _, fd := range fds {
		n, _ := strconv.Atoi(fd.Name())
		if n <= 2 {
			continue
		}
		info, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%d", pid, n))
		if err != nil {
			continue // closed since the listing
		}
		var flags int64
		for _, line := range strings.Split(string(info), "\n") {
			if v, ok := strings.CutPrefix(line, "flags:"); ok {
				flags, _ = strconv.ParseInt(strings.TrimSpace(v), 8, 64)
			}
		}
		// Only sockets: a descriptor the engine's own parent leaked to it
		// (a shell's, say) reaches every child and is not ours to judge.
		link, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%d", pid, n))
		if flags&syscall.O_CLOEXEC == 0 && strings.HasPrefix(link, "socket:") {
			t.Errorf("the plugin's descriptor %d (%s) is not close-on-exec: a process it starts would inherit it", n, link)
		}
	}
}
