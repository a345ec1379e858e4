package cli

import (
	"fmt"
	"time"

	"github.com/tokenflow/tokenflow/engine"
)

// stepPrinter prints each op call of an apply as it finishes, so a person
// at a terminal sees a long run move (and where it stopped). Without a
// terminal, or with --json, the output stays what scripts parse.
func stepPrinter(f *Factory) func(engine.StepRecord) {
	return func(s engine.StepRecord) {
		fmt.Fprintf(f.IO.Out, "  %-6s %s  (%s)\n", s.Status, s.Call, s.Duration.Round(time.Millisecond))
	}
}
