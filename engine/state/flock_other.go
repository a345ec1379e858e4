//go:build !unix

package state

import "os"

// tryFlock: elsewhere than Unix runs on one target are not serialised
// across processes (docs/fleets.md says so).
func tryFlock(*os.File) (bool, error) { return true, nil }

func unflock(*os.File) {}
