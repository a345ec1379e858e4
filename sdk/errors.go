package sdk

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Code classifies a plugin error. The engine decides on retries and exit
// codes from it, never from message text.
type Code int

const (
	CodeInternal Code = iota
	CodeInvalidArgument
	CodeUnauthenticated
	CodePermissionDenied
	CodeNotFound
	CodeConflict
	CodeRateLimited
	CodeUnavailable
)

func (c Code) String() string {
	switch c {
	case CodeInvalidArgument:
		return "invalid_argument"
	case CodeUnauthenticated:
		return "unauthenticated"
	case CodePermissionDenied:
		return "permission_denied"
	case CodeNotFound:
		return "not_found"
	case CodeConflict:
		return "conflict"
	case CodeRateLimited:
		return "rate_limited"
	case CodeUnavailable:
		return "unavailable"
	}
	return "internal"
}

// Error is a typed plugin error.
type Error struct {
	Code       Code
	Message    string
	Retryable  bool          // whether trying again later can help
	RetryAfter time.Duration // with CodeRateLimited or CodeUnavailable, when the vendor said
	Param      string        // the parameter the error concerns, if any
}

func (e *Error) Error() string {
	if e.Param != "" {
		return fmt.Sprintf("%s: %s: %s", e.Code, e.Param, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Retryable: code == CodeUnavailable || code == CodeRateLimited}
}

// InvalidArgument returns an error about one parameter.
func InvalidArgument(param, format string, args ...any) *Error {
	return &Error{Code: CodeInvalidArgument, Param: param, Message: fmt.Sprintf(format, args...)}
}

// NotFound, Conflict and friends are shorthands for Errorf.
func NotFound(format string, args ...any) *Error { return Errorf(CodeNotFound, format, args...) }
func Conflict(format string, args ...any) *Error { return Errorf(CodeConflict, format, args...) }
func Unauthenticated(format string, args ...any) *Error {
	return Errorf(CodeUnauthenticated, format, args...)
}

// IsCode reports whether err is an *Error with the given code.
func IsCode(err error, code Code) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// errHeld is what the host answers when a dry-run keeps a request from
// leaving the machine. Handlers just return the error they get; Serve turns it
// into a held result.
var errHeld = errors.New("request held by dry-run")

// IsHeld reports whether err comes from a request a dry-run held. A handler
// that sends several requests may check it to stop early.
func IsHeld(err error) bool { return errors.Is(err, errHeld) }

// FromResponse turns a non-2xx HTTP response into an *Error: the code from
// the status, the message from the vendor's body (a JSON "message" field,
// else the body's first line), Retry-After honoured. what names the request
// for the user ("create API client").
func FromResponse(what string, resp *http.Response, body []byte) *Error {
	code := CodeInternal
	switch {
	case resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusUnprocessableEntity || resp.StatusCode == http.StatusNotAcceptable:
		code = CodeInvalidArgument
	case resp.StatusCode == http.StatusUnauthorized:
		code = CodeUnauthenticated
	case resp.StatusCode == http.StatusForbidden:
		code = CodePermissionDenied
	case resp.StatusCode == http.StatusNotFound:
		code = CodeNotFound
	case resp.StatusCode == http.StatusConflict:
		code = CodeConflict
	case resp.StatusCode == http.StatusTooManyRequests:
		code = CodeRateLimited
	case resp.StatusCode == http.StatusBadGateway || resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusGatewayTimeout:
		code = CodeUnavailable
	}
	msg := vendorMessage(body)
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	e := &Error{Code: code, Message: fmt.Sprintf("%s: HTTP %d: %s", what, resp.StatusCode, msg)}
	e.Retryable = code == CodeRateLimited || code == CodeUnavailable
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		if secs, err := strconv.Atoi(strings.TrimSpace(ra)); err == nil && secs >= 0 {
			e.RetryAfter = time.Duration(secs) * time.Second
		}
	}
	return e
}

func vendorMessage(body []byte) string {
	var v struct {
		Message      string `json:"message"`
		ErrorMessage string `json:"errorMessage"`
		Error        any    `json:"error"`
	}
	if json.Unmarshal(body, &v) == nil {
		switch {
		case v.Message != "":
			return v.Message
		case v.ErrorMessage != "":
			return v.ErrorMessage
		case v.Error != nil:
			if s, ok := v.Error.(string); ok {
				return s
			}
		}
		return "" // JSON without a message: the status text says more
	}
	s := strings.TrimSpace(string(body))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
