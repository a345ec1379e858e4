//go:build !linux

package pluginv1

import (
	"io"
	"net"
)

// newRawIO is the net.Conn itself where raw system calls are not used
// (see rawio_linux.go).
func newRawIO(conn net.Conn) io.ReadWriter { return conn }
