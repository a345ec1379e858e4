package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/tokenflow/tokenflow/engine/hostnet"
	"github.com/tokenflow/tokenflow/engine/pluginmgr"
	"github.com/tokenflow/tokenflow/engine/schema"
	"github.com/tokenflow/tokenflow/engine/spell"
	"github.com/tokenflow/tokenflow/engine/value"
	"go.starlark.net/starlark"
)

// engineFields are connection fields the engine owns for every vendor.
var engineFields = []schema.Field{
	{Name: "ca_file", Type: schema.String, Doc: "PEM file of a CA to trust for this connection, besides the system roots"},
	{Name: "insecure", Type: schema.Bool, DefaultJSON: "false", Doc: "skip TLS certificate verification (labs only)"},
	{Name: "timeout", Type: schema.String, Doc: "how long one HTTP attempt may take, body included (e.g. 30s; default --http-timeout, else 30s); all attempts together get three times that"},
	{Name: "allow_insecure_http", Type: schema.Bool, DefaultJSON: "false", Doc: "allow an http:// URL, which sends credentials in clear (simulators only; the run log warns)"},
	{Name: "proxy", Type: schema.String, Doc: "HTTP proxy to reach the vendor through, e.g. http://proxy.example:3128 (https vendors are tunnelled with CONNECT), or \"direct\" for none; default HTTPS_PROXY/HTTP_PROXY unless NO_PROXY lists the host"},
	{Name: "proxy_user", Type: schema.String, Doc: "user to authenticate to proxy as"},
	{Name: "proxy_password", Type: schema.Secret, Doc: "password of proxy_user, e.g. secret(\"env:PROXY_PASSWORD\")"},
}

// connection is the value connect() returns: ops are its attributes.
type connection struct {
	r        *run
	id       string
	vendor   string
	plugin   pluginmgr.Plugin
	schema   *schema.Schema
	connJSON []byte
	net      *hostnet.Conn
	opened   bool // an op was called: the plugin may hold a session
}

var _ starlark.HasAttrs = (*connection)(nil)

func (c *connection) String() string {
	return fmt.Sprintf("<connection %s %s>", c.vendor, c.net.BaseURL.Redacted())
}
func (c *connection) Type() string          { return "connection" }
func (c *connection) Freeze()               {}
func (c *connection) Truth() starlark.Bool  { return true }
func (c *connection) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: connection") }
func (c *connection) AttrNames() []string   { return c.schema.OpNames() }

func (c *connection) Attr(name string) (starlark.Value, error) {
	op := c.schema.Op(name)
	if op == nil {
		return nil, starlark.NoSuchAttrError(fmt.Sprintf("%s has no op %q%s; its ops are: %s",
			c.vendor, name, spell.Hint(name, c.schema.OpNames()), strings.Join(c.schema.OpNames(), ", ")))
	}
	return starlark.NewBuiltin(c.vendor+"."+op.Name, func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		return c.r.callOp(thread, c, op, args, kwargs)
	}), nil
}

// connect(vendor, **fields) starts (or reuses) the vendor's plugin, checks
// the fields against its connection schema and returns a connection whose
// attributes are the plugin's ops.
func (r *run) connect(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("connect: got %d positional arguments, want 1: connect(\"vendor\", url = ..., ...)", len(args))
	}
	vendor, ok := starlark.AsString(args[0])
	if !ok {
		return nil, fmt.Errorf("connect: vendor: got %s, want string", args[0].Type())
	}
	var p pluginmgr.Plugin
	var s *schema.Schema
	var err error
	if r.opts.Ops != nil {
		s, err = r.opts.Ops.Schema(r.ctx, vendor)
		if err != nil {
			return nil, fmt.Errorf("connect: %w", err)
		}
	} else if p, err = r.plugins.Get(r.ctx, vendor); err != nil {
		if errors.Is(err, pluginmgr.ErrNotFound) {
			installed := []string{}
			for _, in := range r.plugins.Installed() {
				installed = append(installed, in.Vendor)
			}
			return nil, fmt.Errorf("connect: unknown vendor %q: %v (installed: %s)%s", vendor, err, listOrNone(installed), spell.Hint(vendor, installed))
		}
		return nil, fmt.Errorf("connect: %w", err)
	}
	if p != nil {
		if err := r.journalPlugin(vendor); err != nil {
			return nil, fmt.Errorf("connect: %w", err)
		}
		s = p.Schema()
	}
	fields := append(append([]schema.Field(nil), s.Connection...), engineFields...)
	sig := func() string { return fmt.Sprintf("connect(%q, %s)", vendor, schema.FieldList(fields)) }
	w := &wireCtx{r: r}
	values, err := r.checkArgs("connect", sig, fields, kwargs, w)
	if err != nil {
		return nil, err
	}
	if w.unknown {
		return nil, fmt.Errorf("connect: a connection field holds a value known only after apply; a dry-run cannot connect with it")
	}
	rawURL, _ := values["url"].(string)
	caFile, _ := values["ca_file"].(string)
	insecure, _ := values["insecure"].(bool)
	allowHTTP, _ := values["allow_insecure_http"].(bool)
	pin := ""
	if t := r.opts.TargetTLS; t != nil && sameHost(t.URL, rawURL) {
		// The inventory says how this target's certificate is checked;
		// what the flow passed explicitly still wins.
		if caFile == "" {
			caFile = t.CAFile
		}
		insecure = insecure || t.Insecure
		pin = t.Pin
	}
	r.mu.Lock()
	id := fmt.Sprintf("%sc%d", r.prefix, len(r.conns)+1)
	r.mu.Unlock()
	var extra []string
	for _, f := range s.Connection {
		if e, ok := values[f.Name].(string); ok && f.Endpoint && e != "" {
			extra = append(extra, e)
		}
	}
	if err := r.checkHTTP(vendor, allowHTTP, append([]string{rawURL}, extra...)); err != nil {
		return nil, err
	}
	netConn, err := hostnet.NewConn(id, vendor, rawURL, caFile, insecure, extra...)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	netConn.Pin = pin
	timeout := r.opts.HTTPTimeout
	if t, _ := values["timeout"].(string); t != "" {
		d, err := value.ParseDuration(t)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("connect: for parameter timeout: %q is not a positive duration (e.g. 30s, 2m)", t)
		}
		timeout = d
	}
	netConn.Timeout = timeout
	if netConn.Proxy, err = r.connProxy(values); err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	if insecure {
		r.logger.Warn("TLS certificate verification is off for this connection", "vendor", vendor, "url", netConn.BaseURL.Redacted())
	}
	delete(values, "ca_file")
	delete(values, "insecure")
	delete(values, "timeout")
	delete(values, "allow_insecure_http")
	delete(values, "proxy")
	delete(values, "proxy_user")
	delete(values, "proxy_password")
	connJSON, err := json.Marshal(values)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	if r.opts.Ops != nil {
		p = r.opts.Ops.Plugin(vendor, netConn)
		if pr, ok := p.(PlanRecorder); ok && r.plan != nil {
			pr.UsePlan(r.plan)
		}
	}
	c := &connection{r: r, id: id, vendor: vendor, plugin: p, schema: s, connJSON: connJSON, net: netConn}
	r.mu.Lock()
	r.conns = append(r.conns, c)
	r.mu.Unlock()
	return c, nil
}

// checkHTTP refuses a connection to an http:// URL unless the flow
// (allow_insecure_http = True) or the CLI (--allow-http) allows it, and then
// warns. Every connection carries credentials (a password, a key, a session
// token a plugin obtains) and connect() cannot know which ops will send
// one, so the rule covers every http:// URL, loopback included. A replay
// sends nothing anywhere and is not checked.
func (r *run) checkHTTP(vendor string, allowed bool, urls []string) error {
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil || !strings.EqualFold(u.Scheme, "http") {
			continue
		}
		if r.rt.Replaying() {
			return nil
		}
		if !allowed && !r.opts.AllowHTTP {
			return fmt.Errorf("connect: %s url %s uses plain http: credentials would cross the network in clear; use https:// (or, for a simulator, run with --allow-http or pass allow_insecure_http = True to connect())",
				vendor, r.red.String(u.Redacted()))
		}
		r.logger.Warn("connection uses http://: credentials cross the network in clear", "vendor", vendor, "url", r.red.String(u.Redacted()))
	}
	return nil
}

// sameHost reports whether two URLs name the same scheme and host:port.
func sameHost(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	if err1 != nil || err2 != nil || ua.Host == "" {
		return false
	}
	return ua.Scheme == ub.Scheme && strings.EqualFold(ua.Host, ub.Host)
}

func listOrNone(l []string) string {
	if len(l) == 0 {
		return "none"
	}
	return strings.Join(l, ", ")
}

// checkArgs checks keyword arguments against fields and returns their wire
// form with defaults applied. Errors name the call and print its signature,
// which is rendered only then: every op call passes here.
func (r *run) checkArgs(call string, sig func() string, fields []schema.Field, kwargs []starlark.Tuple, w *wireCtx) (map[string]any, error) {
	out := map[string]any{}
	for _, kv := range kwargs {
		name := string(kv[0].(starlark.String))
		f := schema.FieldNamed(fields, name)
		if f == nil {
			names := make([]string, 0, len(fields))
			for _, f := range fields {
				names = append(names, f.Name)
			}
			return nil, fmt.Errorf("%s: unexpected argument %q%s\n  signature: %s", call, name, spell.Hint(name, names), sig())
		}
		v, err := w.toWire(kv[1], *f)
		if err != nil {
			return nil, fmt.Errorf("%s: for parameter %s: %v\n  signature: %s", call, name, err, sig())
		}
		if v != nil {
			out[name] = v
		}
	}
	var missing []string
	for _, f := range fields {
		if _, ok := out[f.Name]; ok {
			continue
		}
		if f.Required {
			missing = append(missing, f.Name)
			continue
		}
		if f.DefaultJSON != "" {
			var d any
			if err := json.Unmarshal([]byte(f.DefaultJSON), &d); err == nil && d != nil {
				out[f.Name] = d
			}
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("%s: missing required argument %s\n  signature: %s", call, strings.Join(missing, ", "), sig())
	}
	return out, nil
}

// closeSession asks the plugin to end a session it opened for this
// connection (a dry-run's login must not outlive the run).
func (c *connection) closeSession(ctx context.Context) error {
	if !c.opened {
		return nil
	}
	stepID := c.id + ".close"
	c.r.transport.Begin(&hostnet.Step{ID: stepID, Call: c.vendor + ".close_session", DryRun: c.r.opts.DryRun, Conn: c.net, Plan: c.r.plan, PlanStep: stepID})
	defer c.r.transport.End(stepID)
	err := c.plugin.CloseConnection(ctx, &pluginmgr.CallRequest{
		ConnectionID: c.id, Connection: c.connJSON, DryRun: c.r.opts.DryRun, StepID: stepID,
	})
	if err != nil {
		return fmt.Errorf("close %s session: %w", c.vendor, err)
	}
	return nil
}
