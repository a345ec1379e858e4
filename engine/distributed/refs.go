package distributed

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/tokenflow/tokenflow/engine/state"
	"github.com/tokenflow/tokenflow/engine/store"
)

// A reference stands for a secret in workflow code and history; only a
// worker, inside an activity, turns it into the value:
//
//	tfref:env:NAME        the worker's environment variable
//	tfref:file:PATH       a file on the worker
//	tfref:store:<b64>     the current token {target,name} in the shared store
//	tfref:ver:<b64>       one stored version {target,name,id}
//	tfref:step:<b64>      a secret result field {run,seq,field} of a step,
//	                      sealed in the shared journal
const refPrefix = "tfref:"

type refKey struct {
	Target string `json:"t,omitempty"`
	Name   string `json:"n,omitempty"`
	ID     string `json:"id,omitempty"`
	Run    string `json:"r,omitempty"`
	Seq    int    `json:"s,omitempty"`
	Field  string `json:"f,omitempty"`
}

func makeRef(kind string, k refKey) string {
	b, _ := json.Marshal(k)
	return refPrefix + kind + ":" + base64.RawURLEncoding.EncodeToString(b)
}

// secretRef is what secret(ref) returns in a workflow.
func secretRef(target string) func(string) (string, error) {
	return func(ref string) (string, error) {
		kind, arg, ok := strings.Cut(ref, ":")
		if !ok || arg == "" {
			return "", fmt.Errorf("%q: want env:NAME, file:PATH or store:NAME", ref)
		}
		switch kind {
		case "env", "file":
			return refPrefix + kind + ":" + arg, nil
		case "store":
			return makeRef("store", refKey{Target: target, Name: arg}), nil
		}
		return "", fmt.Errorf("unknown reference kind %q in %q: want env:, file: or store:", kind, ref)
	}
}

// resolver turns references into values on a worker.
type resolver struct {
	state  state.Backend
	getenv func(string) (string, bool)
	// seen collects every value resolved, for the redactor.
	seen []string
}

func (r *resolver) resolve(ctx context.Context, s string) (string, error) {
	rest, ok := strings.CutPrefix(s, refPrefix)
	if !ok {
		return s, nil
	}
	kind, arg, _ := strings.Cut(rest, ":")
	v, err := r.value(ctx, kind, arg)
	if err != nil {
		return "", err
	}
	r.seen = append(r.seen, v)
	return v, nil
}

func (r *resolver) value(ctx context.Context, kind, arg string) (string, error) {
	switch kind {
	case "env":
		v, ok := r.getenv(arg)
		if !ok || v == "" {
			return "", fmt.Errorf("secret: environment variable %s is not set (or empty) on this worker; set it where `tokenflow worker` runs", arg)
		}
		return v, nil
	case "file":
		b, err := os.ReadFile(arg)
		if err != nil {
			return "", fmt.Errorf("secret: %w (the file is read on the worker)", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(arg)
	var k refKey
	if err == nil {
		err = json.Unmarshal(raw, &k)
	}
	if err != nil {
		return "", fmt.Errorf("secret reference of kind %q does not decode", kind)
	}
	switch kind {
	case "store":
		t, err := r.state.Get(ctx, k.Target, k.Name)
		if errors.Is(err, store.ErrNotFound) {
			return "", fmt.Errorf("secret: no token %q for target %q in the shared store", k.Name, k.Target)
		}
		return t.Value, err
	case "ver":
		vs, err := r.state.Versions(ctx, k.Target, k.Name)
		if err != nil {
			return "", err
		}
		for _, v := range vs {
			if v.ID == k.ID {
				return v.Value, nil
			}
		}
		return "", fmt.Errorf("secret: version %s of token %q is no longer in the store", k.ID, k.Name)
	case "step":
		steps, err := r.state.Steps(ctx, k.Run, true)
		if err != nil {
			return "", err
		}
		for _, s := range steps {
			if s.Seq != k.Seq {
				continue
			}
			var obj map[string]any
			if err := json.Unmarshal(s.ResultSecret, &obj); err != nil {
				return "", fmt.Errorf("secret: step %d of run %s has no readable result", k.Seq, k.Run)
			}
			if v, ok := obj[k.Field].(string); ok {
				return v, nil
			}
			return "", fmt.Errorf("secret: step %d of run %s has no field %s", k.Seq, k.Run, k.Field)
		}
		return "", fmt.Errorf("secret: step %d of run %s is not in the journal", k.Seq, k.Run)
	}
	return "", fmt.Errorf("unknown secret reference kind %q", kind)
}

// resolveJSON replaces every reference among the strings of a JSON
// document by its value.
func (r *resolver) resolveJSON(ctx context.Context, doc []byte) ([]byte, error) {
	if !strings.Contains(string(doc), refPrefix) {
		return doc, nil
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber() // ids and counts keep every digit
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	v, err := r.walk(ctx, v)
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

func (r *resolver) walk(ctx context.Context, v any) (any, error) {
	switch x := v.(type) {
	case string:
		return r.resolve(ctx, x)
	case []any:
		for i := range x {
			y, err := r.walk(ctx, x[i])
			if err != nil {
				return nil, err
			}
			x[i] = y
		}
	case map[string]any:
		for k := range x {
			y, err := r.walk(ctx, x[k])
			if err != nil {
				return nil, err
			}
			x[k] = y
		}
	}
	return v, nil
}
