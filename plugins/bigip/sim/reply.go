package sim

import (
	"fmt"
	"net"
	"net/http"

	"github.com/tokenflow/tokenflow/sdk/simkit"
)

// reply is an answer computed under the state lock and written after it is released.
type reply struct {
	status int
	body   any
}

func (r reply) write(w http.ResponseWriter) {
	simkit.WriteJSON(w, r.status, r.body)
}

// APIError is BIG-IP's error body.
type APIError struct {
	Code                int      `json:"code"`
	Message             string   `json:"message"`
	OriginalRequestBody string   `json:"originalRequestBody,omitempty"`
	Referer             string   `json:"referer"`
	RestOperationID     int64    `json:"restOperationId"`
	ErrorStack          []string `json:"errorStack"`
	Kind                string   `json:"kind"`
}

// fail builds an error answer; call it with s.mu held (it numbers the operation).
func (s *Sim) fail(r *http.Request, status int, msg string) reply {
	s.opID++
	return reply{status: status, body: APIError{
		Code:            status,
		Message:         msg,
		Referer:         clientAddress(r),
		RestOperationID: s.opID,
		ErrorStack:      []string{},
		Kind:            errorKind,
	}}
}

// clientAddress is the request's remote IP, as BIG-IP reports it in "referer" and "address".
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

type simError string

func (e simError) Error() string { return string(e) }

func errorf(format string, args ...any) error { return simError(fmt.Sprintf(format, args...)) }
