package engine_test

import (
	"testing"

	"github.com/tokenflow/tokenflow/engine"
)

// OnStep sees each op call as it finishes, in order, with its status.
func TestOnStepReportsEachStep(t *testing.T) {
	it := newItems(t)
	var seen []engine.StepRecord
	src := "k = connect(\"testkit\", url = \"" + it.URL + "\")\nk.echo(text = \"a\")\nk.fetch(url = \"" + it.URL + "/x\")\n"
	res, err := runFlow(t, src, engine.Options{OnStep: func(s engine.StepRecord) { seen = append(seen, s) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || len(res.Steps) != 2 {
		t.Fatalf("OnStep saw %d steps, the run has %d; want 2", len(seen), len(res.Steps))
	}
	for i, s := range seen {
		if s.Status != "ok" || s.Call != res.Steps[i].Call || s.Duration <= 0 {
			t.Errorf("step %d: %+v, want ok like %+v", i, s, res.Steps[i])
		}
	}
}
