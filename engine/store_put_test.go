package engine_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/tokenflow/tokenflow/engine"
	"github.com/tokenflow/tokenflow/engine/store"
)

// TestDryRunStorePutOfTheStoredValueIsNotPending: a rerun that would store
// exactly what is stored changes nothing, so its dry-run plans no change;
// any difference (value, expiry, labels) is still pending.
func TestDryRunStorePutOfTheStoredValueIsNotPending(t *testing.T) {
	st := store.NewMemory(nil)
	put := func(value, label string) string {
		return `store.put("kit/main", "` + value + `", expires_at = time.from_timestamp(1900000000), labels = {"k": "` + label + `"}, vendor = "kit")
`
	}
	if _, err := runFlow(t, put("stored-canary-1", "a"), engine.Options{Store: st}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, src string
		pending   int
	}{
		{"same", put("stored-canary-1", "a"), 0},
		{"other value", put("stored-canary-2", "a"), 1},
		{"other label", put("stored-canary-1", "b"), 1},
		{"other expiry", `store.put("kit/main", "stored-canary-1", labels = {"k": "a"}, vendor = "kit")`, 1},
		{"as pending", `store.put("kit/main", "stored-canary-1", expires_at = time.from_timestamp(1900000000), labels = {"k": "a"}, vendor = "kit", state = "pending")`, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := runFlow(t, c.src, engine.Options{Store: st, DryRun: true})
			if err != nil {
				t.Fatal(err)
			}
			var plan bytes.Buffer
			res.Plan.WriteText(&plan, res.Redactor)
			if res.Pending() != c.pending {
				t.Fatalf("pending = %d, want %d\n%s", res.Pending(), c.pending, plan.String())
			}
			if c.pending == 0 && (!strings.Contains(plan.String(), `token "kit/main" is stored already`) || !strings.Contains(plan.String(), "Plan: no changes.")) {
				t.Fatalf("plan does not show the unchanged put:\n%s", plan.String())
			}
			if strings.Contains(plan.String(), "stored-canary") {
				t.Fatalf("plan shows a stored value:\n%s", plan.String())
			}
		})
	}
	// The dry-runs stored nothing: still one version.
	if vs, _ := st.Versions(t.Context(), "", "kit/main"); len(vs) != 1 {
		t.Fatalf("%d versions after dry-runs, want 1", len(vs))
	}
}
