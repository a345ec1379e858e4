package simkit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// MaxBodyBytes is the largest request body DecodeJSON accepts.
const MaxBodyBytes = 1 << 20

// ErrEmptyBody is returned (wrapped) by DecodeJSON for a missing or blank body, so that a
// handler for which the body is optional can tell it apart from a malformed one.
var ErrEmptyBody = errors.New("request body is empty, a JSON body is required")

// WriteJSON answers status with v encoded as JSON ("Content-Type: application/json"). A nil v,
// or a status that allows no body (204, 304, 1xx), sends headers only.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	if v == nil || status == http.StatusNoContent || status == http.StatusNotModified || status < 200 {
		w.WriteHeader(status)
		return
	}
	data, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "simkit: encode response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	data = append(data, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

// DecodeJSON decodes the request body, which must be one JSON value of at most MaxBodyBytes,
// into v. A Content-Type, when present, must be JSON (application/json, text/json or
// */*+json). Unknown fields are ignored, as many vendor servers do. The error reads well in a
// 400 response; it wraps ErrEmptyBody when there is no body.
func DecodeJSON(r *http.Request, v any) error {
	if r.Body == nil || r.Body == http.NoBody {
		return ErrEmptyBody
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		return fmt.Errorf("read request body: %w", err)
	}
	if len(data) > MaxBodyBytes {
		return fmt.Errorf("request body is larger than %d bytes", MaxBodyBytes)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return ErrEmptyBody
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || !isJSONMediaType(mt) {
			return fmt.Errorf("content type %q is not JSON", ct)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return describeJSONError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("invalid JSON body: unexpected data after the JSON value")
	}
	return nil
}

func isJSONMediaType(mt string) bool {
	return mt == "application/json" || mt == "text/json" || strings.HasSuffix(mt, "+json")
}

func describeJSONError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Errorf("invalid JSON body at byte %d: %s", syn.Offset, syn.Error())
	case errors.As(err, &typ):
		if typ.Field != "" {
			return fmt.Errorf("invalid JSON body: field %q must be %s, not %s", typ.Field, jsonKind(typ.Type.String()), typ.Value)
		}
		return fmt.Errorf("invalid JSON body: expected %s, not %s", jsonKind(typ.Type.String()), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("invalid JSON body: unexpected end of input")
	default:
		return fmt.Errorf("invalid JSON body: %w", err)
	}
}

// jsonKind names a Go type the way a JSON author thinks of it.
func jsonKind(goType string) string {
	goType = strings.TrimLeft(goType, "*")
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case strings.HasPrefix(goType, "map["), strings.Contains(goType, "."):
		return "an object"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"), strings.HasPrefix(goType, "float"):
		return "a number"
	case goType == "string":
		return "a string"
	case goType == "bool":
		return "a boolean"
	}
	return goType
}
