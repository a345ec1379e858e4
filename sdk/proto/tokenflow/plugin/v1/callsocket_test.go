package pluginv1

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
)

func TestFramesRoundTripAndResumeAfterADeadline(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	w, r := NewFrameConn(a), NewFrameConn(b)
	want := &HTTPRequest{Method: "GET", Url: "https://vcf.example/api", Body: make([]byte, 100<<10)}
	// net.Pipe has no buffer: the frame is written while the reader is
	// interrupted half-way and resumed.
	done := make(chan error, 1)
	go func() { done <- w.Write(FrameExchange, 7, want) }()
	r.conn.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	var got []byte
	var kind FrameKind
	var id uint64
	for {
		var err error
		kind, id, got, err = r.Read()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			r.SetReadDeadline(time.Time{})
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		break
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	m := &HTTPRequest{}
	if err := proto.Unmarshal(got, m); err != nil || kind != FrameExchange || id != 7 || !proto.Equal(m, want) {
		t.Fatalf("got kind %d id %d %v (%v)", kind, id, m.Url, err)
	}
	go w.Write(FrameCancel, 9, nil)
	if kind, id, got, err := r.Read(); err != nil || kind != FrameCancel || id != 9 || len(got) != 0 {
		t.Fatalf("empty frame: %d %d %d %v", kind, id, len(got), err)
	}
}

func TestFrameOverTheLimitIsRefused(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	go func() {
		var h [frameHeader]byte
		binary.BigEndian.PutUint32(h[:4], MaxFrame+1)
		a.Write(h[:])
	}()
	if _, _, _, err := NewFrameConn(b).Read(); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("err = %v", err)
	}
	w := NewFrameConn(a)
	if err := w.Write(FrameAnswer, 1, &CallResponse{ResultJson: make([]byte, MaxFrame+1)}); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("write: %v", err)
	}
}

func TestFrameCutShortIsAnError(t *testing.T) {
	a, b := net.Pipe()
	go func() {
		var h [frameHeader]byte
		binary.BigEndian.PutUint32(h[:4], 10)
		a.Write(append(h[:], 1, 2, 3))
		a.Close()
	}()
	if _, _, _, err := NewFrameConn(b).Read(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v", err)
	}
}

func TestPendingDeliversByIDAndFailsTheRest(t *testing.T) {
	var p Pending[string]
	id1, ch1, _ := p.Add()
	id2, ch2, _ := p.Add()
	p.Deliver(id2, "two")
	p.Deliver(99, "nobody's") // dropped
	if got := <-ch2; got != "two" || p.Len() != 1 {
		t.Fatalf("got %q, %d waiting", got, p.Len())
	}
	broken := errors.New("broken")
	if !p.Fail(broken) || p.Fail(errors.New("later")) {
		t.Fatal("the first failure must win, once")
	}
	if _, ok := <-ch1; ok {
		t.Fatal("a waiting request was not failed")
	}
	if _, _, err := p.Add(); err != broken {
		t.Fatalf("Add after the failure: %v", err)
	}
	if p.Forget(id1) {
		t.Fatal("Forget reports a failed transport as working")
	}
}
