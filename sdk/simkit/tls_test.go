package simkit

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestCA(t *testing.T) {
	ca, err := NewCA()
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(ca.CertPEM())
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("CertPEM is not a PEM certificate: %q", ca.CertPEM())
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if !cert.IsCA || cert.PublicKeyAlgorithm != x509.ECDSA {
		t.Fatalf("IsCA=%v alg=%v", cert.IsCA, cert.PublicKeyAlgorithm)
	}
	if life := cert.NotAfter.Sub(time.Now()); life < 364*24*time.Hour || life > 367*24*time.Hour {
		t.Fatalf("CA valid for %v more, want about a year", life)
	}
}

func TestServerTLSConfigSANs(t *testing.T) {
	ca, err := NewCA()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		hosts   []string
		wantDNS []string
		wantIPs []string
	}{
		{nil, []string{"localhost"}, []string{"127.0.0.1", "::1"}},
		{[]string{"vidb.sim.local", "10.0.0.5", "[::1]"}, []string{"vidb.sim.local"}, []string{"10.0.0.5", "::1"}},
	}
	for _, tt := range tests {
		cfg, err := ca.ServerTLSConfig(tt.hosts...)
		if err != nil {
			t.Fatal(err)
		}
		leaf := cfg.Certificates[0].Leaf
		if len(leaf.DNSNames) != len(tt.wantDNS) || (len(tt.wantDNS) > 0 && leaf.DNSNames[0] != tt.wantDNS[0]) {
			t.Errorf("hosts %v: DNS SANs %v, want %v", tt.hosts, leaf.DNSNames, tt.wantDNS)
		}
		var ips []string
		for _, ip := range leaf.IPAddresses {
			ips = append(ips, ip.String())
		}
		if len(ips) != len(tt.wantIPs) || ips[0] != tt.wantIPs[0] || ips[len(ips)-1] != tt.wantIPs[len(tt.wantIPs)-1] {
			t.Errorf("hosts %v: IP SANs %v, want %v", tt.hosts, ips, tt.wantIPs)
		}
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: "127.0.0.1"}); len(tt.hosts) == 0 && err != nil {
			t.Errorf("leaf does not verify against the CA: %v", err)
		}
	}
}

func TestTLSTrust(t *testing.T) {
	ca, err := NewCA()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := Serve(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		WriteJSON(w, 200, map[string]bool{"ok": true})
	}), ServerOptions{CA: ca})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	t.Run("client trusting the pool", func(t *testing.T) {
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: ca.ClientTLSConfig()}}
		resp, err := c.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.TLS == nil {
			t.Fatalf("status %d, TLS %v", resp.StatusCode, resp.TLS != nil)
		}
	})
	t.Run("default client", func(t *testing.T) {
		c := &http.Client{Transport: &http.Transport{}}
		resp, err := c.Get(srv.URL)
		if err == nil {
			resp.Body.Close()
			t.Fatal("a client that does not trust the CA connected")
		}
		var unknown x509.UnknownAuthorityError
		if !errors.As(err, &unknown) {
			t.Fatalf("error = %v, want x509.UnknownAuthorityError", err)
		}
	})
	t.Run("other CA", func(t *testing.T) {
		other, err := NewCA()
		if err != nil {
			t.Fatal(err)
		}
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: other.ClientTLSConfig()}}
		if resp, err := c.Get(srv.URL); err == nil {
			resp.Body.Close()
			t.Fatal("a client trusting another CA connected")
		}
	})
}

func TestWriteCertFile(t *testing.T) {
	ca, err := NewCA()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := ca.WriteCertFile(path); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(ca.CertPEM()) {
		t.Fatal("file content differs from CertPEM")
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Fatalf("mode = %v, want 0644", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
	if err := ca.WriteCertFile(filepath.Join(path, "nope", "ca.pem")); err == nil {
		t.Fatal("writing into a missing directory succeeded")
	}
}
