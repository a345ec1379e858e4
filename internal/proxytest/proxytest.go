// Package proxytest is an HTTP proxy on loopback for tests: it tunnels
// CONNECT requests (how clients reach https:// hosts through a proxy) and
// forwards absolute-URI requests (http:// hosts), records what it saw, and
// can demand Basic credentials. It never dials past loopback: a target host
// must be a loopback address or one of Hosts, which maps a made-up name to
// a loopback address (so a test can prove a request went through the proxy:
// nothing else could resolve the name).
package proxytest

import (
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// Proxy is a running proxy.
type Proxy struct {
	// URL is the proxy's address, http://127.0.0.1:port.
	URL string
	// Hosts maps a target host (no port) to the loopback host to dial.
	Hosts map[string]string
	// User and Password, when Password is set, are demanded in
	// Proxy-Authorization; anything else gets 407.
	User, Password string

	srv      *httptest.Server
	mu       sync.Mutex
	connects []string
	forwards []string
	refused  int
}

// Start runs a proxy until Close.
func Start() *Proxy {
	p := &Proxy{Hosts: map[string]string{}}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	p.URL = p.srv.URL
	return p
}

// Close stops the proxy and its tunnels.
func (p *Proxy) Close() { p.srv.CloseClientConnections(); p.srv.Close() }

// Connects are the host:port targets of the CONNECT requests tunnelled, in
// order.
func (p *Proxy) Connects() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.connects...)
}

// Forwards are the absolute URLs of the plain requests forwarded.
func (p *Proxy) Forwards() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.forwards...)
}

// Refused counts requests answered 407 for missing or wrong credentials.
func (p *Proxy) Refused() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.refused
}

func (p *Proxy) authorized(r *http.Request) bool {
	if p.Password == "" {
		return true
	}
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(p.User+":"+p.Password))
	if r.Header.Get("Proxy-Authorization") == want {
		return true
	}
	p.mu.Lock()
	p.refused++
	p.mu.Unlock()
	return false
}

// target maps host:port to a loopback address, or "" when the proxy must
// not dial it.
func (p *Proxy) target(hostport string) string {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return ""
	}
	if to, ok := p.Hosts[host]; ok {
		host = to
	}
	if host == "localhost" {
		return net.JoinHostPort(host, port)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return ""
	}
	return net.JoinHostPort(host, port)
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	if !p.authorized(r) {
		w.Header().Set("Proxy-Authenticate", `Basic realm="proxytest"`)
		http.Error(w, "proxy credentials required", http.StatusProxyAuthRequired)
		return
	}
	if r.Method == http.MethodConnect {
		p.tunnel(w, r)
		return
	}
	p.forward(w, r)
}

func (p *Proxy) tunnel(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.connects = append(p.connects, r.Host)
	p.mu.Unlock()
	addr := p.target(r.Host)
	if addr == "" {
		http.Error(w, "proxytest dials loopback only", http.StatusBadGateway)
		return
	}
	up, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		up.Close()
		http.Error(w, "no hijacking", http.StatusInternalServerError)
		return
	}
	down, buf, err := hj.Hijack()
	if err != nil {
		up.Close()
		return
	}
	if _, err := down.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n")); err != nil {
		up.Close()
		down.Close()
		return
	}
	go func() {
		// Bytes the client sent after CONNECT may already sit in buf.
		io.Copy(up, buf)
		up.(*net.TCPConn).CloseWrite()
	}()
	go func() {
		io.Copy(down, up)
		up.Close()
		down.Close()
	}()
}

func (p *Proxy) forward(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.forwards = append(p.forwards, r.URL.String())
	p.mu.Unlock()
	if r.URL.Host == "" {
		http.Error(w, "not a proxy request (no absolute URI)", http.StatusBadRequest)
		return
	}
	hostport := r.URL.Host
	if r.URL.Port() == "" {
		hostport = net.JoinHostPort(r.URL.Hostname(), "80")
	}
	addr := p.target(hostport)
	if addr == "" {
		http.Error(w, "proxytest dials loopback only", http.StatusBadGateway)
		return
	}
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.URL.Host = addr
	out.Header.Del("Proxy-Authorization")
	out.Header.Del("Proxy-Connection")
	resp, err := (&http.Transport{Proxy: nil}).RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}
