package hostnet

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/net/http/httpproxy"
)

// Proxy is how a connection reaches its vendor through an HTTP proxy. The
// allowlist, dry-run holds and the cassette all act on the request to the
// vendor before it gets here, so a proxy changes only the path packets take:
// the allowlist checks the target host, never the proxy's.
//
// The proxy's own scheme may be http:// (the usual case): requests to an
// https:// vendor are tunnelled with CONNECT, so TLS still runs end to end
// with the vendor and the proxy sees only the host and port. A request to
// an http:// vendor (simulators) is forwarded in clear by the proxy.
type Proxy struct {
	// URL, when set, is the proxy every request of the connection goes
	// through, loopback included; NO_PROXY is not consulted (the flow or
	// the run named this proxy for this connection on purpose).
	URL *url.URL
	// User and Password authenticate to URL (Proxy-Authorization: Basic).
	// They never appear in URL itself.
	User, Password string
	// Direct turns proxies off for the connection, the environment's too.
	Direct bool
	// Env are HTTPS_PROXY, HTTP_PROXY and NO_PROXY as the engine read them,
	// used when URL is nil and Direct is false. As in Go's net/http,
	// localhost and loopback addresses never go through them, and NO_PROXY
	// lists hosts, domain suffixes (".example.com" or "example.com"), IPs,
	// CIDRs, host:port, or "*".
	Env ProxyEnv
}

// ProxyEnv are the proxy environment variables.
type ProxyEnv struct {
	HTTPSProxy, HTTPProxy, NoProxy string
}

// ProxyEnvFrom reads the proxy variables through getenv (the engine's
// injected environment, so tests can set them), lower-case names first as
// curl and Go do.
func ProxyEnvFrom(getenv func(string) (string, bool)) ProxyEnv {
	get := func(names ...string) string {
		for _, n := range names {
			if v, ok := getenv(n); ok && v != "" {
				return v
			}
		}
		return ""
	}
	return ProxyEnv{
		HTTPSProxy: get("https_proxy", "HTTPS_PROXY"),
		HTTPProxy:  get("http_proxy", "HTTP_PROXY"),
		NoProxy:    get("no_proxy", "NO_PROXY"),
	}
}

// ParseProxy checks a proxy URL given as a connection field: http or
// https, a host, no path, and no credentials (they go in proxy_user and
// proxy_password, where they are secrets). "direct" is not a URL; callers
// handle it.
func ParseProxy(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("proxy: not a URL: %w", err)
	}
	if u.User != nil {
		return nil, fmt.Errorf("proxy must not carry credentials; pass proxy_user and proxy_password = secret(...)")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("proxy %q: scheme must be http or https (http:// is usual: https vendors are tunnelled with CONNECT)", raw)
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("proxy %q has no host", raw)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("proxy %q: want scheme://host:port only, no path or query", raw)
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host}, nil
}

// Check validates the environment's proxy URLs, so a malformed HTTPS_PROXY
// fails at connect() rather than on the first request.
func (p *Proxy) Check() error {
	if p.URL != nil || p.Direct {
		return nil
	}
	for name, v := range map[string]string{"HTTPS_PROXY": p.Env.HTTPSProxy, "HTTP_PROXY": p.Env.HTTPProxy} {
		if v == "" {
			continue
		}
		if _, err := envProxyURL(v); err != nil {
			return fmt.Errorf("%s: %w (fix or unset it, or pass proxy = \"direct\" to connect())", name, err)
		}
	}
	return nil
}

// envProxyURL parses an environment proxy the way Go does ("host:port"
// means http://host:port).
func envProxyURL(v string) (*url.URL, error) {
	if !strings.Contains(v, "://") {
		v = "http://" + v
	}
	u, err := url.Parse(v)
	if err != nil {
		return nil, fmt.Errorf("not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "socks5" {
		return nil, fmt.Errorf("scheme %q: want http, https or socks5", u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("no host")
	}
	return u, nil
}

// Secrets are the proxy credentials in the forms they take on the wire (the
// password, and the Basic credential), for the run's redactor. Credentials
// in an environment proxy URL count too.
func (p *Proxy) Secrets() []string {
	var out []string
	add := func(user, pass string) {
		if pass == "" {
			return
		}
		out = append(out, pass, base64.StdEncoding.EncodeToString([]byte(user+":"+pass)))
	}
	add(p.User, p.Password)
	for _, v := range []string{p.Env.HTTPSProxy, p.Env.HTTPProxy} {
		if u, err := envProxyURL(v); err == nil && u.User != nil {
			pass, _ := u.User.Password()
			add(u.User.Username(), pass)
		}
	}
	return out
}

// For returns the proxy a request to u goes through, nil for direct. The
// result carries the credentials, so it is never shown; see Describe.
func (p *Proxy) For(u *url.URL) (*url.URL, error) {
	switch {
	case p == nil || p.Direct:
		return nil, nil
	case p.URL != nil:
		pu := *p.URL
		if p.User != "" || p.Password != "" {
			pu.User = url.UserPassword(p.User, p.Password)
		}
		return &pu, nil
	}
	cfg := httpproxy.Config{HTTPSProxy: p.Env.HTTPSProxy, HTTPProxy: p.Env.HTTPProxy, NoProxy: p.Env.NoProxy}
	return cfg.ProxyFunc()(u)
}

// Describe names the proxy a request to u goes through, without
// credentials, for messages ("" when direct).
func (p *Proxy) Describe(u *url.URL) string {
	pu, err := p.For(u)
	if err != nil || pu == nil {
		return ""
	}
	from := "the connection's proxy"
	if p.URL == nil {
		from = "HTTPS_PROXY"
		if u.Scheme == "http" {
			from = "HTTP_PROXY"
		}
	}
	return fmt.Sprintf("%s://%s (%s)", pu.Scheme, pu.Host, from)
}

// transportProxy is the http.Transport Proxy function; nil when the
// connection never uses one.
func (p *Proxy) transportProxy() func(*http.Request) (*url.URL, error) {
	if p == nil || p.Direct || (p.URL == nil && p.Env.HTTPSProxy == "" && p.Env.HTTPProxy == "") {
		return nil
	}
	var envFunc func(*url.URL) (*url.URL, error)
	if p.URL == nil {
		cfg := httpproxy.Config{HTTPSProxy: p.Env.HTTPSProxy, HTTPProxy: p.Env.HTTPProxy, NoProxy: p.Env.NoProxy}
		envFunc = cfg.ProxyFunc()
	}
	return func(req *http.Request) (*url.URL, error) {
		if envFunc != nil {
			return envFunc(req.URL)
		}
		return p.For(req.URL)
	}
}

// proxyErrors names the proxy in a failed exchange's error, so "connection
// refused" or "Proxy Authentication Required" points at the proxy rather
// than the vendor.
type proxyErrors struct {
	next  http.RoundTripper
	proxy *Proxy
}

func (t proxyErrors) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		if via := t.proxy.Describe(req.URL); via != "" {
			return nil, &proxyError{via: via, err: err}
		}
	}
	return resp, err
}

// CloseIdleConnections lets Conn.close reach the transport underneath.
func (t proxyErrors) CloseIdleConnections() {
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

type proxyError struct {
	via string
	err error
}

func (e *proxyError) Error() string {
	return fmt.Sprintf("through proxy %s: %v (check the proxy's address and credentials, or bypass it with NO_PROXY or proxy = \"direct\")", e.via, e.err)
}
func (e *proxyError) Unwrap() error { return e.err }
