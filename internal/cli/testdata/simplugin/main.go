// Command simplugin is an out-of-tree plugin for tests: vendor "acme", not
// shipped with tokenflow, whose binary serves its own simulator (the Keybox
// simulator under another name) through sdk.WithSimulator.
package main

import (
	"context"
	"os"
	"path/filepath"

	keyboxsim "github.com/tokenflow/tokenflow/plugins/keybox/sim"
	"github.com/tokenflow/tokenflow/sdk"
	"github.com/tokenflow/tokenflow/sdk/simkit"
)

func main() {
	p := &sdk.Plugin{
		Name:       "acme",
		Version:    "0.0.1",
		Connection: []sdk.Field{{Name: "url", Type: sdk.String, Required: true}},
		Ops: []sdk.Op{{
			Name: "ping", Doc: "Answers pong", Effect: sdk.Read,
			Results: []sdk.Field{{Name: "pong", Type: sdk.Bool}},
			Handler: func(context.Context, *sdk.Call) (any, error) { return map[string]any{"pong": true}, nil },
		}},
	}
	sdk.Serve(p, sdk.WithSimulator(simkit.Registration{
		Vendor:   "acme",
		New:      func(c *simkit.Clock) simkit.Simulator { return keyboxsim.New(c) },
		Username: "api", Password: "(key file)",
		Setup: func(_ simkit.Simulator, dir string) (map[string]string, error) {
			path := filepath.Join(dir, "acme_key")
			return map[string]string{"key_file": path}, os.WriteFile(path, []byte(keyboxsim.APIKey), 0o600)
		},
		Knobs: map[string]string{"greeting": "ignored"},
		Tune:  func(simkit.Simulator, string, string) error { return nil },
	}))
}
