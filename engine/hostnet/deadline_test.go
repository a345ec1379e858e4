package hostnet

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	pb "github.com/tokenflow/tokenflow/sdk/proto/tokenflow/plugin/v1"
)

// timed runs a GET on a fixture whose connection has a 200ms per-attempt
// timeout and checks it fails with a deadline error naming the host and
// want, quickly.
func timed(t *testing.T, h func(n int32, w http.ResponseWriter, r *http.Request), total time.Duration, want string) {
	t.Helper()
	f := newFixture(t, h, Options{})
	f.conn.Timeout = 200 * time.Millisecond
	f.conn.TotalTimeout = total
	start := time.Now()
	resp := f.do(false, false, &pb.HTTPRequest{Method: "GET"})
	took := time.Since(start)
	if resp.Error == nil {
		t.Fatalf("status %d, want a deadline error", resp.Status)
	}
	host := strings.TrimPrefix(f.srv.URL, "http://")
	for _, w := range []string{host, want, "did not answer in time"} {
		if !strings.Contains(resp.Error.Message, w) {
			t.Errorf("error %q does not say %q", resp.Error.Message, w)
		}
	}
	if took > 3*time.Second {
		t.Errorf("took %s", took)
	}
}

// stall never answers. It reads the body first: the server notices the
// client hanging up (and cancels r's context) only once the body is read.
func stall(r *http.Request) {
	io.Copy(io.Discard, r.Body)
	<-r.Context().Done()
}

func TestServerThatNeverAnswersHitsTheTotalDeadline(t *testing.T) {
	// Four attempts of 200ms would take 800ms; the total deadline of
	// 500ms ends the exchange first.
	timed(t, func(n int32, w http.ResponseWriter, r *http.Request) {
		stall(r)
	}, 500*time.Millisecond, "within 500ms, the connection's total deadline")
}

func TestServerThatNeverAnswersHitsTheAttemptTimeout(t *testing.T) {
	f := newFixture(t, func(n int32, w http.ResponseWriter, r *http.Request) {
		stall(r)
	}, Options{})
	f.conn.Timeout = 100 * time.Millisecond
	f.conn.TotalTimeout = 10 * time.Second
	// A write POST is not retried: one attempt, ended by its timeout.
	resp := f.do(true, false, &pb.HTTPRequest{Method: "POST", Body: []byte(`{}`)})
	if resp.Error == nil || !strings.Contains(resp.Error.Message, "within 100ms, the connection's timeout for one attempt") || f.hits.Load() != 1 {
		t.Fatalf("got %+v after %d hits", resp, f.hits.Load())
	}
}

func TestTricklingBodyHitsTheAttemptTimeout(t *testing.T) {
	timed(t, func(n int32, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(http.StatusOK)
		for i := 0; i < 100; i++ {
			w.Write([]byte("x"))
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(time.Second):
			}
		}
	}, 10*time.Second, "within 200ms, the connection's timeout for one attempt")
}

func TestDeadlineDefaults(t *testing.T) {
	c := &Conn{BaseURL: &url.URL{Scheme: "http", Host: "x"}}
	if a, tot := c.Deadlines(); a != 30*time.Second || tot != 90*time.Second {
		t.Fatalf("defaults %s, %s", a, tot)
	}
	c.Timeout = time.Second
	if a, tot := c.Deadlines(); a != time.Second || tot != 3*time.Second {
		t.Fatalf("derived total %s, %s", a, tot)
	}
}
