package ops_test

import (
	"encoding/json"
	"testing"
)

func TestGenericGetAndRequestAreSigned(t *testing.T) {
	f := newFixture(t)
	before := len(f.sim.Products())
	out := f.call("request", map[string]any{"method": "POST", "path": "/api/v1/vigiles/products", "body": map[string]any{"name": "generic-op", "desc": "made by request"}})
	if out["status"] != json.Number("200") && out["status"] != json.Number("201") {
		t.Fatalf("create product: %v", out)
	}
	ps := f.sim.Products()
	if len(ps) != before+1 || ps[len(ps)-1].Name != "generic-op" {
		t.Fatalf("products after the POST: %+v", ps)
	}
	out = f.call("get", map[string]any{"path": "/api/v1/vigiles/products"})
	if out["status"] != json.Number("200") || out["body"] == nil {
		t.Fatalf("list products: %v", out)
	}
	for _, ex := range f.h.Exchanges() {
		if ex.Header.Get("X-Auth-Signature") == "" {
			t.Fatalf("%s %s is not signed", ex.Method, ex.URL)
		}
	}
}
