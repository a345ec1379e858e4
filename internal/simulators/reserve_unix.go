//go:build unix

package simulators

import (
	"fmt"
	"io"
	"net"
	"syscall"
)

// reservePort binds a TCP socket to addr without listening on it: a client's
// connection is refused, yet no other listener (nor the kernel's choice of a
// free port) takes the port, so the instance can come back on its URL.
func reservePort(addr string) (io.Closer, error) {
	tcp, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("reserve %s: %w", addr, err)
	}
	ip4 := tcp.IP.To4()
	if ip4 == nil {
		return nil, fmt.Errorf("reserve %s: only IPv4 loopback addresses are supported", addr)
	}
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		return nil, fmt.Errorf("reserve %s: socket: %w", addr, err)
	}
	syscall.CloseOnExec(fd)
	// SO_REUSEADDR: the closed server's connections linger in TIME_WAIT.
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1); err != nil {
		_ = syscall.Close(fd)
		return nil, fmt.Errorf("reserve %s: setsockopt: %w", addr, err)
	}
	sa := &syscall.SockaddrInet4{Port: tcp.Port}
	copy(sa.Addr[:], ip4)
	if err := syscall.Bind(fd, sa); err != nil {
		_ = syscall.Close(fd)
		return nil, fmt.Errorf("reserve %s: bind: %w", addr, err)
	}
	return fdCloser(fd), nil
}

type fdCloser int

func (c fdCloser) Close() error { return syscall.Close(int(c)) }
