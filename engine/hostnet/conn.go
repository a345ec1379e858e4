package hostnet

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

// Conn is the network policy of one connect(): which host the plugin may
// reach and how TLS is verified.
type Conn struct {
	ID      string
	Vendor  string
	BaseURL *url.URL
	// Extra are further base URLs the connection may reach (endpoint
	// fields of the connection schema).
	Extra []*url.URL
	// CAFile is the PEM file of the CAs the vendor's certificate is
	// verified with; when set, only those are trusted (not the system
	// roots). Empty: the system roots.
	CAFile string
	// Insecure turns certificate verification off. Off by default; the
	// run log warns when it is on.
	Insecure bool
	// Pin, "sha256:<hex>", is the SHA-256 of the server certificate's
	// SubjectPublicKeyInfo; any other key is refused (on top of the usual
	// verification, unless Insecure).
	Pin string
	// Timeout bounds one attempt of an exchange, from dialling to the last
	// byte of the response body, so a vendor that sends its headers and
	// then trickles the body cannot hold a run. Zero: DefaultTimeout. Set
	// before the connection's first request.
	Timeout time.Duration
	// TotalTimeout bounds one exchange across all its attempts and the
	// backoff between them. Zero: three times Timeout (90s by default).
	TotalTimeout time.Duration
	// Proxy is how requests reach the vendor (see Proxy). Nil: direct.
	// Set before the connection's first request.
	Proxy *Proxy
	// RoundTripper, when set, sends the connection's requests in place of
	// the transport built from CAFile, Insecure, Pin and Proxy. Everything
	// else (allowlist, dry-run hold, retries, deadlines, size limit) still
	// applies: sdktest sets it to a simulator's client transport so that a
	// plugin under test meets the engine's own host rules.
	RoundTripper http.RoundTripper

	once   sync.Once
	client *http.Client
	err    error
}

// DefaultTimeout is a connection's per-attempt deadline when none is set:
// long enough for a slow appliance's token endpoint, short enough that an
// operator does not wait minutes on a dead one.
const DefaultTimeout = 30 * time.Second

// Deadlines returns the per-attempt and total deadlines in force.
func (c *Conn) Deadlines() (attempt, total time.Duration) {
	attempt = c.Timeout
	if attempt <= 0 {
		attempt = DefaultTimeout
	}
	total = c.TotalTimeout
	if total <= 0 {
		total = 3 * attempt
	}
	return attempt, total
}

// NewConn validates a connection's URL and its extra endpoints.
func NewConn(id, vendor, rawURL, caFile string, insecure bool, extra ...string) (*Conn, error) {
	u, err := parseBase("url", rawURL)
	if err != nil {
		return nil, err
	}
	c := &Conn{ID: id, Vendor: vendor, BaseURL: u, CAFile: caFile, Insecure: insecure}
	for _, e := range extra {
		eu, err := parseBase("endpoint", e)
		if err != nil {
			return nil, err
		}
		c.Extra = append(c.Extra, eu)
	}
	return c, nil
}

func parseBase(what, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", what, raw, err)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, fmt.Errorf("%s %q: scheme must be https or http", what, raw)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%s %q has no host", what, raw)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%s must not carry credentials; pass them as connection fields", what)
	}
	return u, nil
}

// hostPort is the canonical host:port of a URL.
func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		if u.Scheme == "https" {
			port = "443"
		} else {
			port = "80"
		}
	}
	return net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// Allows reports whether the connection may reach u: same scheme and
// host:port as its URL or one of its extra endpoints.
func (c *Conn) Allows(u *url.URL) bool {
	for _, b := range append([]*url.URL{c.BaseURL}, c.Extra...) {
		if u.Scheme == b.Scheme && hostPort(u) == hostPort(b) {
			return true
		}
	}
	return false
}

// Allowed lists what the connection may reach, for messages.
func (c *Conn) Allowed() string {
	parts := []string{c.BaseURL.Scheme + "://" + c.BaseURL.Host}
	for _, e := range c.Extra {
		parts = append(parts, e.Scheme+"://"+e.Host)
	}
	return strings.Join(parts, ", ")
}

// httpClient builds the connection's client on first use, so a replayed
// run never needs the CA file.
func (c *Conn) httpClient() (*http.Client, error) {
	c.once.Do(func() {
		if c.RoundTripper != nil {
			attempt, _ := c.Deadlines()
			c.client = &http.Client{
				Transport:     c.RoundTripper,
				Timeout:       attempt,
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			}
			return
		}
		tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if c.CAFile != "" {
			pem, err := os.ReadFile(c.CAFile)
			if err != nil {
				c.err = fmt.Errorf("connection %s: ca_file: %w", c.Vendor, err)
				return
			}
			// Only the CA file: a connection that names its CA has no use
			// for the system roots, and loading them costs a run more CPU
			// than anything else it does before its first request.
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				c.err = fmt.Errorf("connection %s: ca_file %s holds no PEM certificate", c.Vendor, c.CAFile)
				return
			}
			tlsCfg.RootCAs = pool
		}
		tlsCfg.InsecureSkipVerify = c.Insecure
		if c.Pin != "" {
			want := strings.ToLower(strings.TrimPrefix(c.Pin, "sha256:"))
			tlsCfg.VerifyConnection = func(cs tls.ConnectionState) error {
				if len(cs.PeerCertificates) == 0 {
					return fmt.Errorf("connection %s: the server sent no certificate to check against the pin", c.Vendor)
				}
				sum := sha256.Sum256(cs.PeerCertificates[0].RawSubjectPublicKeyInfo)
				if got := hex.EncodeToString(sum[:]); got != want {
					return fmt.Errorf("connection %s: the server's key (sha256:%s) does not match the pinned sha256:%s; the appliance's certificate changed, or this is not the appliance", c.Vendor, got, want)
				}
				return nil
			}
		}
		attempt, _ := c.Deadlines()
		step := min(attempt, 10*time.Second)
		tr := &http.Transport{
			TLSClientConfig:       tlsCfg,
			DialContext:           (&net.Dialer{Timeout: step, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   step,
			ResponseHeaderTimeout: attempt,
			MaxIdleConnsPerHost:   8,
			IdleConnTimeout:       90 * time.Second,
			ForceAttemptHTTP2:     true,
			// The allowlist has checked the target host before a request
			// gets here; a proxy only carries it (CONNECT for https).
			Proxy: c.Proxy.transportProxy(),
		}
		var rt http.RoundTripper = tr
		if tr.Proxy != nil {
			rt = proxyErrors{next: tr, proxy: c.Proxy}
		}
		c.client = &http.Client{
			Transport: rt,
			// Client.Timeout keeps running while the body is read, which
			// ResponseHeaderTimeout alone does not cover.
			Timeout: attempt,
			// Redirects are the plugin's business: following one here
			// could leave the allowlisted host.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	})
	return c.client, c.err
}

// close releases idle connections.
func (c *Conn) close() {
	if c.client != nil {
		c.client.CloseIdleConnections()
	}
}
