//go:build linux

package pluginv1

import (
	"io"
	"net"
	"syscall"
	"unsafe"
)

// rawIO reads and writes a call socket with raw system calls. The socket
// is non-blocking (the runtime's poller waits for it), so a read or write
// returns at once and needs none of what the runtime does around a system
// call that may block: in particular, the first system call after the
// process was idle wakes the runtime's sysmon thread, and a process waiting
// on the other between every frame is idle before nearly every read.
// `perf` over 5,000 plugin calls put half the plugin's CPU in those
// wake-ups (futex calls from entersyscall). Deadlines and closing work as
// on the net.Conn: the waits are the poller's.
type rawIO struct {
	rc syscall.RawConn
}

// newRawIO returns conn's raw reader and writer, or conn itself when it
// has no descriptor to use.
func newRawIO(conn net.Conn) io.ReadWriter {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return conn
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return conn
	}
	return &rawIO{rc: rc}
}

func (r *rawIO) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	var errno syscall.Errno
	err := r.rc.Read(func(fd uintptr) bool {
		for {
			r1, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
			switch e {
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				return false // wait for the poller (edge-triggered: data arrives after this)
			}
			n, errno = int(r1), e
			return true
		}
	})
	switch {
	case err != nil:
		return 0, err
	case errno != 0:
		return 0, &net.OpError{Op: "read", Net: "unix", Err: errno}
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

func (r *rawIO) Write(p []byte) (int, error) {
	written := 0
	var errno syscall.Errno
	err := r.rc.Write(func(fd uintptr) bool {
		for written < len(p) {
			r1, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&p[written])), uintptr(len(p)-written))
			switch e {
			case 0:
				written += int(r1)
			case syscall.EINTR:
			case syscall.EAGAIN:
				return false // the peer's buffer is full: wait until it reads
			default:
				errno = e
				return true
			}
		}
		return true
	})
	if err != nil {
		return written, err
	}
	if errno != 0 {
		return written, &net.OpError{Op: "write", Net: "unix", Err: errno}
	}
	return written, nil
}
