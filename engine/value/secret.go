package value

import (
	"fmt"

	"github.com/tokenflow/tokenflow/engine/redact"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Secret is a credential. It prints as *** in every form (str, repr, %s,
// print, JSON), cannot be concatenated into a plain string, and is revealed
// only to a plugin's secret parameter, a sink or the token store, which call
// Reveal.
type Secret struct {
	value string
	from  string // where it came from, for messages: "env:ACME_PASSWORD", "acme.issue_token.token"
}

// NewSecret wraps a value. The caller registers it with the run's redactor.
func NewSecret(value, from string) *Secret { return &Secret{value: value, from: from} }

var (
	_ starlark.Value     = (*Secret)(nil)
	_ starlark.HasBinary = (*Secret)(nil)
	_ starlark.HasAttrs  = (*Secret)(nil)
)

// Reveal returns the plain value. Only sinks, the store and plugin calls may
// use it.
func (s *Secret) Reveal() string { return s.value }

// From says where the secret came from.
func (s *Secret) From() string { return s.from }

func (s *Secret) String() string        { return redact.Mask }
func (s *Secret) Type() string          { return "secret" }
func (s *Secret) Freeze()               {}
func (s *Secret) Truth() starlark.Bool  { return s.value != "" }
func (s *Secret) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: secret") }

// Binary refuses every operator: "token" + secret would build a plain
// string holding the credential.
func (s *Secret) Binary(op syntax.Token, y starlark.Value, side starlark.Side) (starlark.Value, error) {
	return nil, fmt.Errorf("cannot use %s on a secret (%s): secrets are never combined into plain strings; pass the secret itself to a secret parameter, a sink or store.put", op, s.from)
}

// Attr offers only "source" (where the secret came from), never the value.
func (s *Secret) Attr(name string) (starlark.Value, error) {
	if name == "source" {
		return starlark.String(s.from), nil
	}
	return nil, nil
}

func (s *Secret) AttrNames() []string { return []string{"source"} }
