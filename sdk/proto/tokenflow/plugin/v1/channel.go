package pluginv1

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// The channel between the engine and a plugin is mutual TLS with
// throwaway ECDSA P-256 identities, made by the engine: one for the engine per
// process and one for each plugin process it launches. go-plugin's AutoMTLS
// does the same with P-521 keys, which cost a plugin start ~25 ms of CPU;
// P-256 has precomputed tables in the binary (Ed25519 computes its tables
// on first use, ~1 ms per process), so a key and a handshake cost
// microseconds.
//
// The engine hands a plugin its identity and the engine's certificate on
// an inherited pipe (ChannelFD), never in the environment or argv, and
// names the descriptor in EnvChannelFD. Each side trusts only the other's
// certificate, so a local process that connects to either side's socket
// cannot complete a handshake. See docs/design-notes.md.
const (
	// EnvChannelFD holds the number of the descriptor a plugin reads its
	// channel credentials from.
	EnvChannelFD = "TOKENFLOW_PLUGIN_CHANNEL_FD"
	// ChannelFD is that descriptor: the first of exec.Cmd.ExtraFiles.
	ChannelFD = 3
)

const (
	pemOwnCert = "TOKENFLOW PLUGIN CERTIFICATE"
	pemOwnKey  = "TOKENFLOW PLUGIN PRIVATE KEY"
	pemPeer    = "TOKENFLOW ENGINE CERTIFICATE"
)

// NewChannelIdentity makes a self-signed ECDSA P-256 certificate for
// "localhost", good for a day (a run that lasts longer reconnects with the
// same identity only if its plugin is restarted, which makes a new one).
func NewChannelIdentity() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("channel key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("channel serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "localhost", Organization: []string{"tokenflow"}},
		DNSNames:              []string{"localhost"},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		// Self-signed and its own root: the peer's pool holds exactly it.
		IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("channel certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// ChannelTLS is the TLS configuration of one side: it presents own and
// accepts only peer, as server (client certificate required) and as client.
func ChannelTLS(own tls.Certificate, peer *x509.Certificate) *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(peer)
	return &tls.Config{
		Certificates: []tls.Certificate{own},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		RootCAs:      pool,
		ServerName:   "localhost",
		// TLS 1.2 as go-plugin's AutoMTLS allows: plugins in other
		// languages built on gRPC core may not offer 1.3.
		MinVersion: tls.VersionTLS12,
		// A local socket gains nothing from a post-quantum key share, and
		// X25519 is the cheapest exchange; P-256 for peers without it.
		CurvePreferences: []tls.CurveID{tls.X25519, tls.CurveP256},
	}
}

// EncodeChannel is what the engine writes to a plugin's ChannelFD: the
// plugin's identity and the engine's certificate.
func EncodeChannel(plugin tls.Certificate, engine *x509.Certificate) ([]byte, error) {
	key, err := x509.MarshalPKCS8PrivateKey(plugin.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("channel key: %w", err)
	}
	var b bytes.Buffer
	pem.Encode(&b, &pem.Block{Type: pemOwnCert, Bytes: plugin.Certificate[0]})
	pem.Encode(&b, &pem.Block{Type: pemOwnKey, Bytes: key})
	pem.Encode(&b, &pem.Block{Type: pemPeer, Bytes: engine.Raw})
	return b.Bytes(), nil
}

// DecodeChannel reads what EncodeChannel wrote and returns the plugin's
// side of the channel.
func DecodeChannel(data []byte) (*tls.Config, error) {
	var own tls.Certificate
	var peer *x509.Certificate
	for {
		var blk *pem.Block
		blk, data = pem.Decode(data)
		if blk == nil {
			break
		}
		switch blk.Type {
		case pemOwnCert:
			own.Certificate = [][]byte{blk.Bytes}
		case pemOwnKey:
			k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("channel key: %w", err)
			}
			own.PrivateKey = k
		case pemPeer:
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("engine certificate: %w", err)
			}
			peer = c
		}
	}
	if own.Certificate == nil || own.PrivateKey == nil || peer == nil {
		return nil, errors.New("channel credentials incomplete: want the plugin's certificate and key and the engine's certificate")
	}
	return ChannelTLS(own, peer), nil
}
