package simkit

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
)

// StatusError is a vendor error answer: a JSON handler (HandleJSON) that
// returns one sends Status with {"message": Message}, the body Error writes.
type StatusError struct {
	Status  int
	Message string
}

func (e *StatusError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.Status, e.Message) }

// Errorf returns a *StatusError: Errorf(400, "name is required").
func Errorf(status int, format string, args ...any) error {
	return &StatusError{Status: status, Message: fmt.Sprintf(format, args...)}
}

// Response is a JSON answer with a status other than 200: return
// Respond(http.StatusCreated, v) from a JSON handler.
type Response struct {
	Status int
	Body   any
}

// Respond answers status with body encoded as JSON (a nil body sends none).
func Respond(status int, body any) Response { return Response{Status: status, Body: body} }

// JSONHandler adapts fn, which returns what to answer, to an http.HandlerFunc:
// a value is answered 200 as JSON, a Response with its status, (nil, nil)
// with 204 No Content, a *StatusError (or one it wraps) with its status and
// message, and any other error with 500 and its message.
func JSONHandler(fn func(r *http.Request) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, err := fn(r)
		var se *StatusError
		switch {
		case errors.As(err, &se):
			Error(w, se.Status, se.Message)
		case err != nil:
			Error(w, http.StatusInternalServerError, err.Error())
		case v == nil:
			w.WriteHeader(http.StatusNoContent)
		default:
			if resp, ok := v.(Response); ok {
				WriteJSON(w, resp.Status, resp.Body)
				return
			}
			WriteJSON(w, http.StatusOK, v)
		}
	}
}

// HandleJSON routes pattern to JSONHandler(fn).
func (b *Base) HandleJSON(pattern string, fn func(r *http.Request) (any, error)) {
	b.Handle(pattern, JSONHandler(fn))
}

// Body decodes the request's JSON body (DecodeJSON's rules) into a T; a
// malformed or missing body is a 400 *StatusError saying what was wrong. A
// field of a struct T tagged `simkit:"required"` (one of its comma-separated
// options) must be present and not
// zero, or the answer is 400 "NAME is required" (NAME its json name), as
// vendors validate.
func Body[T any](r *http.Request) (T, error) {
	var v T
	if err := DecodeJSON(r, &v); err != nil {
		return v, &StatusError{Status: http.StatusBadRequest, Message: err.Error()}
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Struct {
		return v, nil
	}
	for _, f := range reflect.VisibleFields(rv.Type()) {
		required := slices.Contains(strings.Split(f.Tag.Get("simkit"), ","), "required")
		if required && rv.FieldByIndex(f.Index).IsZero() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			return v, Errorf(http.StatusBadRequest, "%s is required", cmp.Or(name, f.Name))
		}
	}
	return v, nil
}
