package inventory

import (
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/tokenflow/tokenflow/engine/spell"
	"gopkg.in/yaml.v3"
)

var (
	pinRE    = regexp.MustCompile(`^(?i:sha256):([0-9A-Fa-f]{64})$`)
	envVarRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// schemeRE spots a value written as a reference ("envX:FOO"), as opposed
	// to a literal secret, to phrase the error; neither prints the value.
	schemeRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9_-]*):`)
)

// target parses one target; nil when it is too broken to use (problems are
// recorded in p.errs either way).
func (p *parser) target(e pair, sc scope) *Target {
	where := fmt.Sprintf("target %q", e.key)
	ps, ok := p.mapping(e.vNode, where, false)
	if !ok {
		return nil
	}
	keys := p.checkKeys(ps, where, targetKeys, map[string]string{
		"group": "a target belongs to the groups it is nested in (groups: NAME: targets:)",
	})
	t := &Target{
		Name:        e.key,
		Credentials: map[string]Ref{},
		Labels:      maps.Clone(sc.labels),
		Vars:        maps.Clone(sc.vars),
		Groups:      slices.Clone(sc.groups),
		Pos:         p.pos(e.kNode),
	}
	if t.Labels == nil {
		t.Labels = map[string]string{}
	}
	if t.Vars == nil {
		t.Vars = map[string]string{}
	}
	before := len(p.errs)

	t.Vendor = p.vendor(e, keys["vendor"], where)
	t.URL = p.url(e, keys["url"], where)
	if v, ok := keys["tls"]; ok {
		p.tls(t, v.vNode, where+": tls")
	}
	if v, ok := keys["proxy"]; ok {
		p.proxy(t, v.vNode, where+": proxy")
	}
	if v, ok := keys["credentials"]; ok {
		p.credentials(t, v.vNode, where+": credentials")
	}
	if v, ok := keys["labels"]; ok {
		maps.Copy(t.Labels, p.strMap(v.vNode, where+": labels", false))
	}
	var own map[string]string
	if v, ok := keys["vars"]; ok {
		own = p.strMap(v.vNode, where+": vars", true)
	}

	// Derived vars override group vars but not the target's own vars.
	t.Vars["url"] = t.URL
	t.Vars["target"] = t.Name
	if t.CAFile != "" {
		t.Vars["ca_file"] = t.CAFile
	}
	for name, r := range t.Credentials {
		if r.Kind == "file" {
			t.Vars[name] = r.Arg
		}
	}
	maps.Copy(t.Vars, own)

	if len(p.errs) > before {
		return nil
	}
	return t
}

func (p *parser) vendor(e pair, v pair, where string) string {
	if v.kNode == nil {
		p.errorf(e.kNode, "%s: missing vendor (the plugin that talks to it, e.g. vendor: acme)", where)
		return ""
	}
	name, ok := p.scalar(v.vNode, where+": vendor")
	if !ok {
		return ""
	}
	if name == "" {
		p.errorf(v.kNode, "%s: vendor is empty; name the plugin that talks to it, e.g. vendor: acme", where)
		return ""
	}
	known := p.opts.KnownVendors
	if known != nil && !slices.Contains(known, name) {
		list := "none installed"
		if len(known) > 0 {
			list = strings.Join(known, ", ")
		}
		p.errorf(v.vNode, "%s: unknown vendor %q (known: %s)%s; install its plugin or fix the name",
			where, name, list, spell.Hint(name, known))
		return ""
	}
	return name
}

func (p *parser) url(e pair, v pair, where string) string {
	const want = "want http(s)://HOST[:PORT][/PATH]"
	if v.kNode == nil {
		p.errorf(e.kNode, "%s: missing url (%s)", where, want)
		return ""
	}
	s, ok := p.scalar(v.vNode, where+": url")
	if !ok {
		return ""
	}
	u, err := url.Parse(s)
	switch {
	case s == "":
		p.errorf(v.kNode, "%s: url is empty (%s)", where, want)
	case err != nil:
		// url.Parse's error quotes the text, and a URL with a password in it
		// must not reach the output: say what is wrong without it.
		p.errorf(v.vNode, "%s: url is not a valid URL (%s)", where, want)
	case u.User != nil:
		p.errorf(v.vNode, "%s: url must not carry a user or password (not shown); "+
			"put the user in vars and the password in credentials", where)
	case u.Scheme != "http" && u.Scheme != "https":
		p.errorf(v.vNode, "%s: url %q is not http or https (%s)", where, s, want)
	case u.Hostname() == "":
		p.errorf(v.vNode, "%s: url %q has no host (%s)", where, s, want)
	default:
		return s
	}
	return ""
}

func (p *parser) tls(t *Target, n *yaml.Node, where string) {
	ps, ok := p.mapping(n, where, false)
	if !ok {
		return
	}
	keys := p.checkKeys(ps, where, tlsKeys, nil)
	if v, ok := keys["ca_file"]; ok {
		if s, ok := p.scalar(v.vNode, where+": ca_file"); ok {
			if s == "" {
				p.errorf(v.kNode, "%s: ca_file is empty; give the PEM file to trust, relative to the inventory's directory", where)
			} else {
				t.CAFile = p.absPath(v.vNode, s)
			}
		}
	}
	if v, ok := keys["pin"]; ok {
		if s, ok := p.scalar(v.vNode, where+": pin"); ok {
			if m := pinRE.FindStringSubmatch(s); m != nil {
				t.Pin = "sha256:" + strings.ToLower(m[1])
			} else {
				p.errorf(v.vNode, "%s: pin must be sha256: followed by 64 hex digits, the SHA-256 of the server certificate's SubjectPublicKeyInfo "+
					"(openssl x509 -in cert.pem -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256)", where)
			}
		}
	}
	if v, ok := keys["insecure"]; ok {
		n := deref(v.vNode)
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&t.Insecure) != nil {
			p.errorf(v.vNode, "%s: insecure must be true or false", where)
		}
	}
}

// proxy parses `proxy: URL` or `proxy: {url: URL, user: NAME, password:
// env:VAR}`; "direct" turns the environment's proxies off for the target.
func (p *parser) proxy(t *Target, n *yaml.Node, where string) {
	const want = "want http://HOST:PORT (or direct), alone or as url: beside user: and password:"
	px := &Proxy{}
	urlNode := n
	if d := deref(n); d.Kind == yaml.MappingNode {
		ps, ok := p.mapping(n, where, false)
		if !ok {
			return
		}
		keys := p.checkKeys(ps, where, proxyKeys, nil)
		v, ok := keys["url"]
		if !ok {
			p.errorf(n, "%s: missing url (%s)", where, want)
			return
		}
		urlNode = v.vNode
		if u, ok := keys["user"]; ok {
			px.User, _ = p.scalar(u.vNode, where+": user")
		}
		pw, hasPassword := keys["password"]
		if hasPassword {
			r, ok := p.ref(pw, where)
			if !ok {
				return // said: a bad reference
			}
			px.Password = &r
		}
		if (px.User == "") != (px.Password == nil) {
			p.errorf(n, "%s: user and password go together (the password as env:VAR or file:PATH)", where)
		}
	}
	s, ok := p.scalar(urlNode, where+": url")
	if !ok {
		return
	}
	if s != "direct" {
		u, err := url.Parse(s)
		switch {
		case s == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "":
			// Not quoted: a malformed proxy URL may carry a password.
			p.errorf(urlNode, "%s: not a proxy URL (%s)", where, want)
			return
		case u.User != nil:
			p.errorf(urlNode, "%s: the URL must not carry a user or password (not shown); give user: and password: as env:VAR or file:PATH", where)
			return
		}
	}
	if s == "direct" && px.User != "" {
		p.errorf(urlNode, "%s: direct takes no user or password", where)
		return
	}
	px.URL = s
	t.Proxy = px
}

func (p *parser) credentials(t *Target, n *yaml.Node, where string) {
	ps, _ := p.mapping(n, where+" (NAME: env:VAR or NAME: file:PATH)", false)
	for _, e := range ps {
		if r, ok := p.ref(e, where); ok {
			t.Credentials[e.key] = r
		}
	}
}

// ref parses a credential reference. No message quotes the value: when it is
// not a reference it is most likely the secret itself.
func (p *parser) ref(e pair, where string) (Ref, bool) {
	const forms = "env:VAR (an environment variable) or file:PATH (a file readable only by you)"
	what := fmt.Sprintf("%s: %s", where, e.key)
	v := deref(e.vNode)
	if v.Kind != yaml.ScalarNode || isNull(v) || v.Value == "" {
		p.errorf(e.vNode, "%s: want a reference, %s; got %s", what, forms, kindName(v))
		return Ref{}, false
	}
	s, pos := v.Value, p.pos(e.vNode)
	switch {
	case strings.HasPrefix(s, "env:"):
		name := s[len("env:"):]
		if name == "" {
			p.errorf(e.vNode, "%s: env: names no variable; write env:VAR", what)
			return Ref{}, false
		}
		if !envVarRE.MatchString(name) {
			p.errorf(e.vNode, "%s: malformed reference: the variable after env: must be letters, digits and _ (not starting with a digit)", what)
			return Ref{}, false
		}
		return Ref{Kind: "env", Arg: name, Pos: pos}, true
	case strings.HasPrefix(s, "file:"):
		path := s[len("file:"):]
		if path == "" {
			p.errorf(e.vNode, "%s: file: names no file; write file:PATH (relative to the inventory's directory, or ~/...)", what)
			return Ref{}, false
		}
		return Ref{Kind: "file", Arg: p.absPath(e.vNode, path), Pos: pos}, true
	}
	if m := schemeRE.FindStringSubmatch(s); m != nil {
		if hint := spell.Nearest(m[1], []string{"env", "file"}); hint != "" || m[1] == "store" {
			msg := "malformed reference: the kind must be env or file"
			if hint != "" {
				msg += fmt.Sprintf(" (did you mean %s:?)", hint)
			}
			p.errorf(e.vNode, "%s: %s; want %s", what, msg, forms)
			return Ref{}, false
		}
	}
	p.errorf(e.vNode, "%s: a literal value (not shown) is not allowed in an inventory; "+
		"keep the secret out of the file and reference it as %s", what, forms)
	return Ref{}, false
}

// absPath resolves a path written in the inventory: "~/" is the home
// directory, a relative path is relative to the inventory's directory.
func (p *parser) absPath(n *yaml.Node, s string) string {
	if rest, ok := strings.CutPrefix(s, "~/"); ok {
		home := p.opts.Home
		if home == "" {
			h, err := os.UserHomeDir()
			if err != nil {
				p.errorf(n, "cannot expand ~/: %v; write the path out", err)
				return s
			}
			home = h
		}
		return filepath.Join(home, rest)
	}
	if filepath.IsAbs(s) {
		return filepath.Clean(s)
	}
	return filepath.Join(p.inv.Dir, s)
}
