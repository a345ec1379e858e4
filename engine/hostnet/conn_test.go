package hostnet

import (
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// A connection with a CA file trusts exactly that file's CAs: a server
// signed by it is reached, and the pool holds nothing else (no system
// roots).
func TestCAFileIsTheOnlyTrust(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := NewConn("c1", "acme", srv.URL, caFile, false)
	if err != nil {
		t.Fatal(err)
	}
	client, err := c.httpClient()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Get(srv.URL)
	if err != nil {
		t.Fatalf("a server signed by the CA file was refused: %v", err)
	}
	resp.Body.Close()
	want := x509.NewCertPool()
	want.AppendCertsFromPEM(caPEM)
	got := client.Transport.(*http.Transport).TLSClientConfig.RootCAs
	if got == nil || !got.Equal(want) {
		t.Fatal("the trusted pool is not exactly the CA file's certificates")
	}
}

// Without a CA file the system roots apply (RootCAs nil), and a server
// signed by an unknown CA is refused.
func TestNoCAFileUsesSystemRoots(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	c, err := NewConn("c1", "acme", srv.URL, "", false)
	if err != nil {
		t.Fatal(err)
	}
	client, err := c.httpClient()
	if err != nil {
		t.Fatal(err)
	}
	if client.Transport.(*http.Transport).TLSClientConfig.RootCAs != nil {
		t.Fatal("RootCAs set without a CA file")
	}
	if resp, err := client.Get(srv.URL); err == nil {
		resp.Body.Close()
		t.Fatal("a server signed by an unknown CA was accepted")
	}
}
