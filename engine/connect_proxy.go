package engine

import (
	"fmt"

	"github.com/tokenflow/tokenflow/engine/hostnet"
)

// connProxy resolves how a connection reaches its vendor: connect()'s
// proxy field, else the run's Options.Proxy, else the environment's
// HTTPS_PROXY/HTTP_PROXY/NO_PROXY (read through Getenv, never os directly,
// so a test or an embedding program decides). Proxy credentials join the
// redactor before any request can carry them.
func (r *run) connProxy(values map[string]any) (*hostnet.Proxy, error) {
	raw, _ := values["proxy"].(string)
	user, _ := values["proxy_user"].(string)
	pass, _ := values["proxy_password"].(string)
	if raw == "" && (user != "" || pass != "") {
		return nil, fmt.Errorf("proxy_user and proxy_password need proxy = \"http://host:port\" beside them; the environment's proxies carry no separate credentials")
	}
	if raw == "" && r.opts.Proxy != nil {
		raw, user, pass = r.opts.Proxy.URL, r.opts.Proxy.User, r.opts.Proxy.Password
	}
	p := &hostnet.Proxy{User: user, Password: pass}
	switch raw {
	case "direct":
		p.Direct = true
	case "":
		p.Env = hostnet.ProxyEnvFrom(r.opts.Getenv)
	default:
		u, err := hostnet.ParseProxy(raw)
		if err != nil {
			return nil, err
		}
		p.URL = u
	}
	r.red.Add(p.Secrets()...)
	if err := p.Check(); err != nil {
		return nil, err
	}
	return p, nil
}
