package simkit

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// ServerOptions configure [Serve].
type ServerOptions struct {
	CA       *CA         // nil = plain HTTP; otherwise HTTPS with a leaf certificate signed by CA
	Addr     string      // listen address; default "127.0.0.1:0" (a free loopback port)
	Hosts    []string    // names the certificate covers; default DefaultHosts
	ErrorLog *log.Logger // the http.Server's error log; nil discards it (TLS handshake noise)
	// TLSConfig, when set with CA, is served instead of a fresh leaf certificate (Serve clones
	// it), so many servers can share one certificate: minting one per server is the main
	// cost of starting a large fleet of them.
	TLSConfig *tls.Config
}

// Server is a simulator handler served on a listener.
type Server struct {
	URL  string // base URL, e.g. "https://127.0.0.1:PORT", no trailing slash
	Addr string // the listener's address, host:port
	CA   *CA    // the CA the server certificate chains to; nil for plain HTTP

	srv  *http.Server
	ln   net.Listener
	done chan struct{}

	mu         sync.Mutex
	transports []*http.Transport
}

// Serve starts serving h in the background and returns once the listener is open.
func Serve(h http.Handler, opts ServerOptions) (*Server, error) {
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var tlsCfg *tls.Config
	switch {
	case opts.CA != nil && opts.TLSConfig != nil:
		tlsCfg = opts.TLSConfig.Clone()
	case opts.CA != nil:
		var err error
		if tlsCfg, err = opts.CA.ServerTLSConfig(opts.Hosts...); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("simkit: listen on %s: %w", addr, err)
	}
	errLog := opts.ErrorLog
	if errLog == nil {
		errLog = log.New(io.Discard, "", 0)
	}
	s := &Server{
		Addr: ln.Addr().String(),
		CA:   opts.CA,
		ln:   ln,
		done: make(chan struct{}),
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 30 * time.Second,
			ErrorLog:          errLog,
		},
	}
	scheme := "http"
	serveLn := ln
	if tlsCfg != nil {
		scheme = "https"
		// HTTP/1.1 only, like the appliances simulated; it also lets Drop hijack the connection.
		tlsCfg.NextProtos = []string{"http/1.1"}
		s.srv.TLSConfig = tlsCfg
		serveLn = tls.NewListener(ln, tlsCfg)
	}
	s.URL = scheme + "://" + urlHost(ln.Addr())
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(serveLn)
	}()
	return s, nil
}

// urlHost turns a listener address into a host:port usable in a URL; an unspecified address
// (0.0.0.0, ::) becomes 127.0.0.1.
func urlHost(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	ip := tcp.IP
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return net.JoinHostPort(ip.String(), strconv.Itoa(tcp.Port))
}

// Client returns a new HTTP client for the server: it trusts the server's CA (and only that)
// when the server uses TLS. Close closes its idle connections.
func (s *Server) Client() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // loopback only
	if s.CA != nil {
		tr.TLSClientConfig = s.CA.ClientTLSConfig()
	}
	s.mu.Lock()
	s.transports = append(s.transports, tr)
	s.mu.Unlock()
	return &http.Client{Transport: tr}
}

// Close stops the server at once, closing open connections, and waits for it to stop.
func (s *Server) Close() error {
	err := s.srv.Close()
	<-s.done
	s.mu.Lock()
	for _, tr := range s.transports {
		tr.CloseIdleConnections()
	}
	s.transports = nil
	s.mu.Unlock()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("simkit: close server: %w", err)
	}
	return nil
}
