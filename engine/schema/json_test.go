package schema

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestSchemaJSONRoundTrip: a schema written as JSON reads back the same
// (a distributed workflow gets Describe's answer as JSON).
func TestSchemaJSONRoundTrip(t *testing.T) {
	s := &Schema{Name: "acme", Connection: []Field{{Name: "url", Type: String, Required: true}}, Ops: []*Op{{
		Vendor: "acme", Name: "issue", Effect: Write, Reconcilable: true,
		Params:  []Field{{Name: "tags", Type: List, Elem: String}, {Name: "n", Type: Int}, {Name: "raw", Type: 0}},
		Results: []Field{{Name: "token", Type: Secret}, {Name: "at", Type: Timestamp}},
	}}}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back Schema
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s, &back) {
		t.Fatalf("round trip changed the schema:\n%s\n%+v", b, back)
	}
	var ty Type
	if err := json.Unmarshal([]byte(`"blob"`), &ty); err == nil {
		t.Fatal("an unknown type name was accepted")
	}
}
