//go:build !unix

package simulators

import "io"

// reservePort cannot bind without listening here: the port is only closed,
// and another listener may take it meanwhile.
func reservePort(string) (io.Closer, error) { return nil, nil }
