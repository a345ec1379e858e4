package sdk

import (
	"context"
	"fmt"
	"regexp"
)

// Type is the type of a connection field, an op parameter or a result field.
type Type int

// The types a field can have. Timestamps travel as RFC 3339 strings and
// durations as Go duration strings; the engine converts them to Starlark time
// values.
const (
	String Type = iota + 1
	Int
	Float
	Bool
	Timestamp
	Duration
	List
	Object
	Secret // a string the engine never prints: passwords, tokens
)

func (t Type) String() string {
	switch t {
	case String:
		return "string"
	case Int:
		return "int"
	case Float:
		return "float"
	case Bool:
		return "bool"
	case Timestamp:
		return "timestamp"
	case Duration:
		return "duration"
	case List:
		return "list"
	case Object:
		return "object"
	case Secret:
		return "secret"
	}
	return fmt.Sprintf("type(%d)", int(t))
}

// Effect says whether an op changes vendor state. A dry-run sends the
// requests of Read ops for real and holds the non-GET requests of Write ops.
// Declare it honestly: a query sent as POST is still a Read.
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

// Field describes a connection field, an op parameter or a result field.
type Field struct {
	Name     string // snake_case, as flows spell it
	Type     Type
	Elem     Type // element type of a List; zero means any
	Required bool
	Default  any  // applied by the engine when the flow omits the field; must be JSON-encodable
	Secret   bool // implied by Type == Secret
	Doc      string
	// Endpoint marks a connection field holding another base URL the
	// plugin may reach (the engine allowlists its host beside url's).
	Endpoint bool
	// Wire, on a result of an op declared with Get, is where the value is
	// in the vendor's JSON answer: a member name ("releaseName"), or names
	// joined by dots for nested objects ("data.name"). Empty: the field's
	// own name.
	Wire string
}

// IsSecret reports whether the field's value is a credential.
func (f Field) IsSecret() bool { return f.Secret || f.Type == Secret }

// Handler runs one op. It returns the result (a map or a struct with json
// tags naming the result fields) or an error, preferably an *Error.
type Handler func(ctx context.Context, c *Call) (any, error)

// Op is one operation of a plugin: its schema and its handler in one place.
type Op struct {
	Name    string // snake_case: "create_api_client"
	Doc     string // one line
	Effect  Effect
	Params  []Field
	Results []Field
	Handler Handler
	// Reconcile, when set, tells whether an earlier call of this op took
	// effect at the vendor although the engine never learned its outcome
	// (the run died while the call was in flight). It gets the same
	// arguments. Return (result, true, nil) when it did, with the result
	// the op would have returned; (nil, false, nil) when it did not, and the
	// engine sends the op again. Use Resend for ops that are safe to repeat.
	// Without Reconcile, resuming such a step stops and asks the operator.
	Reconcile func(ctx context.Context, c *Call) (result any, applied bool, err error)
	// Get declares a read op that is one GET of this path and nothing else,
	// instead of a Handler: "/api/realms/{realm_id}", each {name} an
	// argument (every parameter appears once; path-escaped, query-escaped
	// after a '?'), sent to the connection's url with the Plugin's Auth.
	// The answer, a JSON object, gives the results (see Field.Wire); a
	// non-2xx answer is the op's error (FromResponse), a 401 on an
	// expired login logs in again once (Auth.Expired).
	//
	// What it buys: after the first such call on a connection the engine
	// sends the GET itself, with the request the plugin made, instead of
	// calling the plugin; an op then costs about what the request does.
	// Ops that compute anything (convert a time, page through a list, pick
	// from several requests) keep a Handler.
	Get string

	// declErr is what ReadOp or WriteOp could not derive; Validate reports it.
	declErr error
}

// Resend is a Reconcile for idempotent writes (a PUT that replaces, a
// regenerate whose previous secret is lost anyway): sending the op again is
// always right.
func Resend(context.Context, *Call) (any, bool, error) { return nil, false, nil }

// Plugin is a vendor plugin.
type Plugin struct {
	Name    string // vendor name, also the binary suffix: tokenflow-plugin-<Name>
	Version string
	Doc     string
	// Connection lists the fields connect() takes. It must contain "url", the
	// base URL whose host the engine allows the plugin to reach. The engine
	// adds ca_file and insecure for TLS on its own.
	Connection []Field
	Ops        []Op
	// CloseSession, when set, is called when the engine is done with a
	// connection, so a login session the plugin opened can be ended. It must
	// only send requests marked with MarkSession.
	CloseSession func(ctx context.Context, c *Call) error
	// Auth authenticates the requests of ops declared with Get (nil: they
	// carry no credential). Handlers may use it too, so every request of
	// the plugin is authenticated one way.
	Auth *Auth
}

var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Validate checks the plugin's declarations. Serve calls it; plugin tests
// should too.
func (p *Plugin) Validate() error {
	if !snakeCase.MatchString(p.Name) {
		return fmt.Errorf("plugin name %q: want lower snake_case", p.Name)
	}
	if err := validateFields("connection", p.Connection); err != nil {
		return err
	}
	hasURL := false
	for _, f := range p.Connection {
		if f.Name == "url" {
			hasURL = true
		}
		if f.Name == "ca_file" || f.Name == "insecure" {
			return fmt.Errorf("connection field %q is reserved for the engine", f.Name)
		}
	}
	if !hasURL {
		return fmt.Errorf("connection schema must declare a %q field", "url")
	}
	seen := map[string]bool{}
	for _, op := range p.Ops {
		if op.declErr != nil {
			return op.declErr
		}
		if !snakeCase.MatchString(op.Name) {
			return fmt.Errorf("op name %q: want lower snake_case", op.Name)
		}
		if seen[op.Name] {
			return fmt.Errorf("op %q declared twice", op.Name)
		}
		seen[op.Name] = true
		if op.Effect != Read && op.Effect != Write {
			return fmt.Errorf("op %q: effect must be sdk.Read or sdk.Write", op.Name)
		}
		if err := op.validateGet(); err != nil {
			return err
		}
		if op.Handler == nil && op.Get == "" {
			return fmt.Errorf("op %q has no handler", op.Name)
		}
		if err := validateFields("op "+op.Name+" params", op.Params); err != nil {
			return err
		}
		if err := validateFields("op "+op.Name+" results", op.Results); err != nil {
			return err
		}
	}
	return nil
}

func validateFields(where string, fields []Field) error {
	seen := map[string]bool{}
	for _, f := range fields {
		if !snakeCase.MatchString(f.Name) {
			return fmt.Errorf("%s: field name %q: want lower snake_case", where, f.Name)
		}
		if seen[f.Name] {
			return fmt.Errorf("%s: field %q declared twice", where, f.Name)
		}
		seen[f.Name] = true
		if f.Type < String || f.Type > Secret {
			return fmt.Errorf("%s: field %q has no type", where, f.Name)
		}
		if f.Required && f.Default != nil {
			return fmt.Errorf("%s: field %q is required and has a default", where, f.Name)
		}
	}
	return nil
}

// op returns the named op.
func (p *Plugin) op(name string) *Op {
	for i := range p.Ops {
		if p.Ops[i].Name == name {
			return &p.Ops[i]
		}
	}
	return nil
}
