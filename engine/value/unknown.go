package value

import (
	"fmt"
	"sort"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Unknown is a value a dry-run cannot know: the result, or a field of the
// result, of a write op that was not sent. It prints as
// "(known after apply: <step>.<field>)". Passing it to a later op renders it
// in that op's requests, which are held too. Branching on it, comparing it or
// computing with it stops the plan at that line with ErrUnknownUsed.
type Unknown struct {
	label       string
	placeholder string
	fields      map[string]*Unknown // result fields, for a whole result
	thread      *starlark.Thread    // to report where a branch happened
}

// NewUnknown returns an unknown value. placeholder is the text that stands
// for it in rendered requests (see plan.Placeholder).
func NewUnknown(thread *starlark.Thread, label, placeholder string) *Unknown {
	return &Unknown{label: label, placeholder: placeholder, thread: thread}
}

// WithField adds a result field.
func (u *Unknown) WithField(name string, f *Unknown) {
	if u.fields == nil {
		u.fields = map[string]*Unknown{}
	}
	u.fields[name] = f
}

// Label is "<step>.<field>".
func (u *Unknown) Label() string { return u.label }

// Placeholder is the stand-in text used in requests.
func (u *Unknown) Placeholder() string { return u.placeholder }

var (
	_ starlark.Value      = (*Unknown)(nil)
	_ starlark.HasAttrs   = (*Unknown)(nil)
	_ starlark.HasBinary  = (*Unknown)(nil)
	_ starlark.Comparable = (*Unknown)(nil)
)

func (u *Unknown) String() string { return "(known after apply: " + u.label + ")" }
func (u *Unknown) Type() string   { return "unknown" }
func (u *Unknown) Freeze()        {}
func (u *Unknown) Hash() (uint32, error) {
	return 0, u.misuse("use as a dict key")
}

// UnknownUsedError stops a plan where a flow needs a value only apply knows.
type UnknownUsedError struct {
	Label    string
	Use      string
	Position string // file:line:col of the use, when known
}

func (e *UnknownUsedError) Error() string {
	pos := ""
	if e.Position != "" {
		pos = e.Position + ": "
	}
	return fmt.Sprintf("%scannot %s a value known only after apply (%s): the dry-run plan stops here; run without --dry-run to continue", pos, e.Use, e.Label)
}

func (u *Unknown) misuse(use string) *UnknownUsedError {
	e := &UnknownUsedError{Label: u.label, Use: use}
	if u.thread != nil {
		if stack := u.thread.CallStack(); len(stack) > 0 {
			e.Position = stack.At(0).Pos.String()
		}
	}
	return e
}

// Truth cannot return an error in Starlark, so branching on an unknown
// panics with *UnknownUsedError; the engine recovers it at the top of the run
// and reports it as the plan's stopping point.
func (u *Unknown) Truth() starlark.Bool { panic(u.misuse("branch on")) }

func (u *Unknown) Binary(op syntax.Token, y starlark.Value, side starlark.Side) (starlark.Value, error) {
	return nil, u.misuse("compute with (" + op.String() + ")")
}

func (u *Unknown) CompareSameType(op syntax.Token, y starlark.Value, depth int) (bool, error) {
	return false, u.misuse("compare")
}

// Attr returns the unknown field of an unknown result.
func (u *Unknown) Attr(name string) (starlark.Value, error) {
	if f, ok := u.fields[name]; ok {
		return f, nil
	}
	if u.fields != nil {
		return nil, starlark.NoSuchAttrError(fmt.Sprintf("%s has no field %q (fields: %v)", u.label, name, u.AttrNames()))
	}
	return nil, nil
}

func (u *Unknown) AttrNames() []string {
	names := make([]string, 0, len(u.fields))
	for n := range u.fields {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
