package pluginv1

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
)

// The call socket carries a plugin's calls and their host exchanges for
// plugins that list CAPABILITY_CALL_SOCKET: one end of a unix socket pair
// the engine made before starting the plugin, inherited as descriptor
// CallSocketFD and named in EnvCallSocketFD. No other process can reach
// either end (the pair has no name in the filesystem, and the plugin marks
// its end close-on-exec), so the socket needs no TLS of its own; it is
// authenticated by being inherited. See docs/design-notes.md.
//
// Every frame is a 13-byte header (payload length, uint32 big-endian; kind,
// one byte; id, uint64 big-endian) and a protobuf payload. Calls and
// exchanges are numbered separately: a call's id is chosen by the engine
// and echoed by its FrameAnswer; an exchange's id is chosen by the plugin
// and echoed by its FrameReply.
const (
	// EnvCallSocketFD holds the number of the call socket's descriptor.
	EnvCallSocketFD = "TOKENFLOW_PLUGIN_CALL_FD"
	// CallSocketFD is that descriptor: the second of exec.Cmd.ExtraFiles.
	CallSocketFD = 4
)

// FrameKind says what a frame's payload is.
type FrameKind uint8

const (
	// FrameCall (engine to plugin): a CallRequest. Its deadline travels in
	// timeout_ms, as on the Calls stream.
	FrameCall FrameKind = 1 + iota
	// FrameCancel (engine to plugin, no payload): the engine gave up on
	// call id; an answer to it is dropped.
	FrameCancel
	// FrameClose (engine to plugin): a CloseConnectionRequest, answered by
	// an empty FrameAnswer with the same id.
	FrameClose
	// FrameAnswer (plugin to engine): the CallResponse to call id.
	FrameAnswer
	// FrameExchange (plugin to engine): an HTTPRequest for the host
	// transport.
	FrameExchange
	// FrameReply (engine to plugin): the HTTPResponse to exchange id.
	FrameReply
)

const frameHeader = 13

// MaxFrame bounds one frame's payload: a request or response body of the
// SDK's 32 MB limit with room for its headers. A larger frame breaks the
// socket rather than being read.
const MaxFrame = 40 << 20

// FrameWriteBound bounds one frame's write: only a peer that stopped
// reading (a wedged or stopped process) fills the socket's buffer, and a
// write that times out leaves half a frame, so the socket is closed.
const FrameWriteBound = 30 * time.Second

// FrameConn reads and writes frames on a call socket. Writes are safe for
// concurrent use; one goroutine reads at a time.
type FrameConn struct {
	conn net.Conn
	rw   io.ReadWriter // conn's descriptor read and written directly (rawio_linux.go)
	r    *bufio.Reader
	// The frame being read: a read interrupted by a deadline resumes
	// where it stopped.
	hdr     [frameHeader]byte
	hn      int
	payload []byte
	pn      int
	sized   bool

	wmu  sync.Mutex
	wbuf []byte // reused under wmu
	werr error
}

// NewFrameConn wraps a call socket.
func NewFrameConn(conn net.Conn) *FrameConn {
	rw := newRawIO(conn)
	return &FrameConn{conn: conn, rw: rw, r: bufio.NewReaderSize(rw, 64<<10)}
}

// ErrFrameTooLarge is returned for a frame over MaxFrame.
var ErrFrameTooLarge = fmt.Errorf("frame over %d bytes", MaxFrame)

// Write sends one frame (m may be nil: no payload). The frame leaves in one
// write, so frames of concurrent writers never interleave. A failed write
// closes the socket: the peer could not tell where the next frame starts.
func (f *FrameConn) Write(kind FrameKind, id uint64, m proto.Message) error {
	f.wmu.Lock()
	defer f.wmu.Unlock()
	if f.werr != nil {
		return f.werr
	}
	buf := append(f.wbuf[:0], make([]byte, frameHeader)...)
	if m != nil {
		var err error
		buf, err = proto.MarshalOptions{}.MarshalAppend(buf, m)
		if err != nil {
			return fmt.Errorf("encode frame: %w", err)
		}
	}
	n := len(buf) - frameHeader
	if n > MaxFrame {
		return ErrFrameTooLarge
	}
	binary.BigEndian.PutUint32(buf[0:4], uint32(n))
	buf[4] = byte(kind)
	binary.BigEndian.PutUint64(buf[5:13], id)
	f.conn.SetWriteDeadline(time.Now().Add(FrameWriteBound))
	if _, err := f.rw.Write(buf); err != nil {
		f.werr = fmt.Errorf("call socket: %w", err)
		f.conn.Close()
		return f.werr
	}
	if cap(buf) <= 1<<20 {
		f.wbuf = buf // large buffers are not kept for the process's life
	}
	return nil
}

// Read returns the next frame. Its payload is the caller's. A read that
// fails with a timeout (see SetReadDeadline) can be retried: the next Read
// resumes the frame where this one stopped.
func (f *FrameConn) Read() (FrameKind, uint64, []byte, error) {
	for f.hn < frameHeader {
		n, err := f.r.Read(f.hdr[f.hn:])
		f.hn += n
		if err != nil && f.hn < frameHeader {
			if errors.Is(err, io.EOF) && f.hn > 0 {
				err = io.ErrUnexpectedEOF
			}
			return 0, 0, nil, err
		}
	}
	if !f.sized {
		n := binary.BigEndian.Uint32(f.hdr[0:4])
		if n > MaxFrame {
			return 0, 0, nil, ErrFrameTooLarge
		}
		f.payload, f.pn, f.sized = make([]byte, n), 0, true
	}
	for f.pn < len(f.payload) {
		n, err := f.r.Read(f.payload[f.pn:])
		f.pn += n
		if err != nil && f.pn < len(f.payload) {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return 0, 0, nil, err
		}
	}
	kind, id, payload := FrameKind(f.hdr[4]), binary.BigEndian.Uint64(f.hdr[5:13]), f.payload
	f.hn, f.payload, f.pn, f.sized = 0, nil, 0, false
	return kind, id, payload, nil
}

// SetReadDeadline interrupts a Read in progress, or the next one, at t
// (the zero time: never).
func (f *FrameConn) SetReadDeadline(t time.Time) error { return f.conn.SetReadDeadline(t) }

// Close closes the socket; a Read in progress returns.
func (f *FrameConn) Close() error { return f.conn.Close() }
