package simkit

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestServeAndClose(t *testing.T) {
	ca, err := NewCA()
	if err != nil {
		t.Fatal(err)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, r.URL.Path) })
	tests := []struct {
		name   string
		opts   ServerOptions
		scheme string
	}{
		{"plain http", ServerOptions{}, "http://127.0.0.1:"},
		{"https", ServerOptions{CA: ca}, "https://127.0.0.1:"},
		{"all interfaces advertises loopback", ServerOptions{Addr: ":0"}, "http://127.0.0.1:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, err := Serve(h, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(srv.URL, tt.scheme) {
				t.Fatalf("URL = %q, want prefix %q", srv.URL, tt.scheme)
			}
			c := srv.Client()
			resp, err := c.Get(srv.URL + "/hello")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != "/hello" {
				t.Fatalf("body = %q", b)
			}
			if err := srv.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if resp, err := srv.Client().Get(srv.URL + "/hello"); err == nil {
				resp.Body.Close()
				t.Fatal("server still answers after Close")
			}
		})
	}
}

func TestServeBadAddr(t *testing.T) {
	if _, err := Serve(http.NotFoundHandler(), ServerOptions{Addr: "256.0.0.1:0"}); err == nil {
		t.Fatal("Serve on an invalid address succeeded")
	}
}

// Servers given one TLSConfig present the same leaf, and Serve does not modify the shared config.
func TestServeSharedTLSConfig(t *testing.T) {
	ca, err := NewCA()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ca.ServerTLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	var leaves [][]byte
	for i := 0; i < 2; i++ {
		srv, err := Serve(h, ServerOptions{CA: ca, TLSConfig: cfg})
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		resp, err := srv.Client().Get(srv.URL + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		leaves = append(leaves, resp.TLS.PeerCertificates[0].Raw)
	}
	if string(leaves[0]) != string(leaves[1]) || string(leaves[0]) != string(cfg.Certificates[0].Certificate[0]) {
		t.Fatal("servers sharing a TLSConfig presented different certificates")
	}
	if len(cfg.NextProtos) != 0 {
		t.Fatalf("Serve modified the shared config: NextProtos = %v", cfg.NextProtos)
	}
}
