package simkit

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DefaultHosts are the names a server certificate covers when ServerTLSConfig is given none.
var DefaultHosts = []string{"127.0.0.1", "localhost", "::1"}

// CA is a throwaway certificate authority for loopback TLS: an ECDSA P-256 key and a
// self-signed CA certificate valid for one year. Certificates use wall time, never a simulator
// clock, so advancing a simulator's clock does not break TLS.
type CA struct {
	key     *ecdsa.PrivateKey
	cert    *x509.Certificate
	certPEM []byte
}

// NewCA generates a new certificate authority.
func NewCA() (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("simkit: generate CA key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "tokenflow simulator CA", Organization: []string{"tokenflow"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(1, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("simkit: create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("simkit: parse CA certificate: %w", err)
	}
	return &CA{
		key:     key,
		cert:    cert,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
	}, nil
}

// Certificate returns the parsed CA certificate.
func (ca *CA) Certificate() *x509.Certificate { return ca.cert }

// CertPEM returns the CA certificate, PEM-encoded.
func (ca *CA) CertPEM() []byte {
	return append([]byte(nil), ca.certPEM...)
}

// Pool returns a new certificate pool holding only the CA certificate.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// ClientTLSConfig returns a client configuration that trusts the CA (and nothing else).
func (ca *CA) ClientTLSConfig() *tls.Config {
	return &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12}
}

// WriteCertFile writes the PEM CA certificate to path with mode 0644, atomically: it writes a
// temporary file in the same directory and renames it over path.
func (ca *CA) WriteCertFile(path string) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("simkit: write CA certificate: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if _, err = f.Write(ca.certPEM); err != nil {
		return fmt.Errorf("simkit: write CA certificate: %w", err)
	}
	if err = f.Chmod(0o644); err != nil {
		return fmt.Errorf("simkit: write CA certificate: %w", err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("simkit: write CA certificate: %w", err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("simkit: write CA certificate: %w", err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("simkit: write CA certificate: %w", err)
	}
	return nil
}

// ServerTLSConfig returns a server configuration with a fresh leaf certificate signed by the
// CA. Each host becomes a subject alternative name: an IP address SAN when it parses as one,
// a DNS SAN otherwise. With no hosts it uses [DefaultHosts]. The leaf expires with the CA.
func (ca *CA) ServerTLSConfig(hosts ...string) (*tls.Config, error) {
	if len(hosts) == 0 {
		hosts = DefaultHosts
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("simkit: generate server key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: hosts[0], Organization: []string{"tokenflow simulator"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     ca.cert.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		h = strings.Trim(strings.TrimSpace(h), "[]")
		if h == "" {
			continue
		}
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, fmt.Errorf("simkit: create server certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("simkit: parse server certificate: %w", err)
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		Certificates: []tls.Certificate{{
			Certificate: [][]byte{der, ca.cert.Raw},
			PrivateKey:  key,
			Leaf:        leaf,
		}},
	}, nil
}

func newSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("simkit: certificate serial: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}
