// Package schema holds the engine's own view of a plugin's schema: the
// connection fields and ops a plugin declared in Describe. The plugin manager
// converts the wire form into these types; builtins, the plan and the CLI read
// them. Nothing here knows about gRPC.
package schema

import (
	"fmt"
	"sort"
	"strings"
)

// Type of a field. The values match the wire contract.
type Type int

const (
	String Type = iota + 1
	Int
	Float
	Bool
	Timestamp
	Duration
	List
	Object
	Secret
)

var typeNames = [...]string{"", "string", "int", "float", "bool", "time", "duration", "list", "dict", "secret"}

func (t Type) String() string {
	names := typeNames
	if t > 0 && int(t) < len(names) {
		return names[t]
	}
	return "any"
}

// MarshalText writes the type's name in JSON.
func (t Type) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText reads what MarshalText wrote, so a schema survives JSON
// (a distributed workflow receives the plugin's Describe as JSON).
func (t *Type) UnmarshalText(b []byte) error {
	if string(b) == "any" {
		*t = 0
		return nil
	}
	for i, n := range typeNames {
		if i > 0 && n == string(b) {
			*t = Type(i)
			return nil
		}
	}
	return fmt.Errorf("unknown field type %q", b)
}

// Effect of an op.
type Effect int

const (
	Read Effect = iota + 1
	Write
)

func (e Effect) String() string {
	if e == Write {
		return "write"
	}
	return "read"
}

// MarshalText writes "read" or "write" in JSON.
func (e Effect) MarshalText() ([]byte, error) { return []byte(e.String()), nil }

// UnmarshalText reads "read" or "write".
func (e *Effect) UnmarshalText(b []byte) error {
	switch string(b) {
	case "read":
		*e = Read
	case "write":
		*e = Write
	default:
		return fmt.Errorf("unknown op effect %q: want read or write", b)
	}
	return nil
}

// Field is a connection field, parameter or result field.
type Field struct {
	Name        string `json:"name"`
	Type        Type   `json:"type"`
	Elem        Type   `json:"elem,omitempty"`
	Required    bool   `json:"required,omitempty"`
	DefaultJSON string `json:"default,omitempty"` // JSON of the default; "" when none
	Secret      bool   `json:"secret,omitempty"`
	Doc         string `json:"doc,omitempty"`
	Endpoint    bool   `json:"endpoint,omitempty"` // a base URL the connection may also reach
}

// Op is one plugin operation.
type Op struct {
	Vendor  string  `json:"vendor"`
	Name    string  `json:"name"`
	Doc     string  `json:"doc"`
	Effect  Effect  `json:"effect"`
	Params  []Field `json:"params"`
	Results []Field `json:"results"`
	// Reconcilable: after a crash, the plugin can tell whether an earlier
	// call took effect.
	Reconcilable bool `json:"reconcilable,omitempty"`
	// Get is the path of a read declared as one GET (the contract's
	// Op.get): after its first call on a connection the engine sends it
	// without calling the plugin.
	Get string `json:"get,omitempty"`
}

// Schema is everything a plugin declared.
type Schema struct {
	Name       string  `json:"name"`
	Version    string  `json:"version"`
	Doc        string  `json:"doc"`
	Connection []Field `json:"connection"`
	Ops        []*Op   `json:"ops"`
}

// Op returns the named op, or nil.
func (s *Schema) Op(name string) *Op {
	for _, op := range s.Ops {
		if op.Name == name {
			return op
		}
	}
	return nil
}

// OpNames returns the op names, sorted.
func (s *Schema) OpNames() []string {
	names := make([]string, 0, len(s.Ops))
	for _, op := range s.Ops {
		names = append(names, op.Name)
	}
	sort.Strings(names)
	return names
}

// Field returns the named field of fields, or nil.
func FieldNamed(fields []Field, name string) *Field {
	for i := range fields {
		if fields[i].Name == name {
			return &fields[i]
		}
	}
	return nil
}

// Signature renders an op the way a flow calls it:
// acme.issue_token(realm_id: string, token_name: string, api_token_ttl: duration = "28d") -> (id, token*)
func (op *Op) Signature() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s.%s(%s)", op.Vendor, op.Name, FieldList(op.Params))
	if len(op.Results) > 0 {
		names := make([]string, 0, len(op.Results))
		for _, r := range op.Results {
			names = append(names, r.Name)
		}
		fmt.Fprintf(&b, " -> %s", strings.Join(names, ", "))
	}
	return b.String()
}

// FieldList renders fields as "name: type, name: type = default"; optional
// fields come after required ones, as a caller writes them.
func FieldList(fields []Field) string {
	var parts []string
	for _, req := range []bool{true, false} {
		for _, f := range fields {
			if f.Required != req {
				continue
			}
			p := f.Name + ": " + f.Type.String()
			if f.Type == List && f.Elem != 0 {
				p += "[" + f.Elem.String() + "]"
			}
			if !f.Required {
				if f.DefaultJSON != "" {
					p += " = " + f.DefaultJSON
				} else {
					p += " = None"
				}
			}
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ", ")
}
