package redact

import (
	"fmt"
	"strings"
	"testing"
)

// A fleet's redactor (thousands of secrets) masking a vendor's JSON body
// that holds escapes: the decoded views must not make it slow.
func BenchmarkStringFleetJSONBody(b *testing.B) {
	r := New()
	for i := range 5000 {
		r.Add(fmt.Sprintf("fleet-token-%06d-secret", i))
	}
	body := strings.Repeat(`{"name":"client \u00e4 & co","url":"https://x/a%20b?c=d+e","desc":"a \"quoted\" <b>"},`, 50)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		r.String(body)
	}
}

func BenchmarkStringPlainLine(b *testing.B) {
	r := New()
	for i := range 5000 {
		r.Add(fmt.Sprintf("fleet-token-%06d-secret", i))
	}
	line := strings.Repeat("2026-12-07T14:00:00Z [INFO] step 12 of run 20261207 ok, nothing to mask here ", 4)
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		r.String(line)
	}
}
