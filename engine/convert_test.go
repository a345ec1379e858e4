package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/engine/redact"
	"github.com/tokenflow/tokenflow/engine/schema"
	starlarktime "go.starlark.net/lib/time"
	"go.starlark.net/starlarkstruct"
)

func TestFromWireHoldsResultsToTheirSchema(t *testing.T) {
	r := &run{red: redact.New()}
	fields := []schema.Field{{Name: "expires_at", Type: schema.Timestamp}, {Name: "n", Type: schema.Int}}

	// An epoch number where a timestamp is declared used to become a date
	// in 1970; it must be an error naming the op and the field.
	_, err := r.fromWire("acme.issue_token", []byte(`{"expires_at": 1780300800}`), fields)
	if err == nil || !strings.Contains(err.Error(), "acme.issue_token") || !strings.Contains(err.Error(), "expires_at") || !strings.Contains(err.Error(), "RFC 3339") {
		t.Fatalf("int for a timestamp: err = %v, want a schema error naming acme.issue_token and expires_at", err)
	}
	for _, bad := range []string{`{"n": "7"}`, `{"n": 1.5}`, `{"expires_at": "yesterday"}`} {
		if _, err := r.fromWire("acme.op", []byte(bad), fields); err == nil {
			t.Errorf("%s: accepted, want a schema error", bad)
		}
	}

	v, err := r.fromWire("acme.issue_token", []byte(`{"expires_at": "2026-06-01T08:00:00Z", "n": 7}`), fields)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := v.(*starlarkstruct.Struct).Attr("expires_at")
	if ts, ok := got.(starlarktime.Time); !ok || !time.Time(ts).Equal(time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)) {
		t.Fatalf("expires_at = %v", got)
	}
}
