package simulators

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	bigipsim "github.com/tokenflow/tokenflow/plugins/bigip/sim"
)

// faultFleet starts two BIG-IP instances over TLS and a client trusting
// their CA, with a short timeout.
func faultFleet(t *testing.T) (*Fleet, *http.Client) {
	t.Helper()
	f, err := StartFleet([]string{"bigip"}, 2, true, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	tr := &http.Transport{TLSClientConfig: f.CA.ClientTLSConfig(), DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	return f, &http.Client{Transport: tr, Timeout: 500 * time.Millisecond}
}

// login posts the default account's credentials and returns the status.
func login(c *http.Client, r *Running) (int, error) {
	body := `{"username":"` + bigipsim.DefaultUser + `","password":"` + bigipsim.DefaultPassword + `","loginProviderName":"tmos"}`
	resp, err := c.Post(r.Server.URL+"/mgmt/shared/authn/login", "application/json", strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

func mustLogin(t *testing.T, c *http.Client, r *Running, want int) {
	t.Helper()
	got, err := login(c, r)
	if err != nil {
		t.Fatalf("login to %s: %v", r.Name, err)
	}
	if got != want {
		t.Fatalf("login to %s: status %d, want %d", r.Name, got, want)
	}
}

func TestFaultError500(t *testing.T) {
	f, c := faultFleet(t)
	bad, good := f.Get("bigip-1"), f.Get("bigip-2")
	if err := f.Fault("bigip-1", FaultError500); err != nil {
		t.Fatal(err)
	}
	mustLogin(t, c, bad, http.StatusInternalServerError)
	mustLogin(t, c, good, http.StatusOK)
	if err := f.Fault("bigip-1", FaultNone); err != nil {
		t.Fatal(err)
	}
	mustLogin(t, c, bad, http.StatusOK)
}

func TestFaultWrongPassword(t *testing.T) {
	f, c := faultFleet(t)
	bad := f.Get("bigip-1")
	mustLogin(t, c, bad, http.StatusOK)
	if err := f.Fault("bigip-1", FaultWrongPassword); err != nil {
		t.Fatal(err)
	}
	if f.FaultOf("bigip-1") != FaultWrongPassword {
		t.Fatalf("FaultOf = %v", f.FaultOf("bigip-1"))
	}
	mustLogin(t, c, bad, http.StatusUnauthorized)
	mustLogin(t, c, f.Get("bigip-2"), http.StatusOK)
	if err := f.Fault("bigip-1", FaultNone); err != nil {
		t.Fatal(err)
	}
	mustLogin(t, c, bad, http.StatusOK)
	// The instance kept its state: both successful logins hold a token.
	if n := len(bad.Sim.(*bigipsim.Sim).Tokens(bigipsim.DefaultUser)); n != 2 {
		t.Fatalf("%d tokens after the fault was healed, want 2", n)
	}
}

func TestFaultUnreachable(t *testing.T) {
	f, c := faultFleet(t)
	bad := f.Get("bigip-1")
	mustLogin(t, c, bad, http.StatusOK) // leaves a connection in TIME_WAIT
	if err := f.Fault("bigip-1", FaultUnreachable); err != nil {
		t.Fatal(err)
	}
	_, err := net.DialTimeout("tcp", bad.addr, 500*time.Millisecond)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial an unreachable instance: %v, want connection refused", err)
	}
	if runtime.GOOS == "linux" && bad.hold == nil {
		t.Fatal("the port of an unreachable instance is not reserved")
	}
	if _, err := login(c, bad); err == nil {
		t.Fatal("login to an unreachable instance succeeded")
	}
	mustLogin(t, c, f.Get("bigip-2"), http.StatusOK)
	if err := f.Fault("bigip-1", FaultNone); err != nil {
		t.Fatal(err)
	}
	mustLogin(t, c, bad, http.StatusOK) // same URL again
}

func TestFaultHang(t *testing.T) {
	f, c := faultFleet(t)
	bad := f.Get("bigip-1")
	if err := f.Fault("bigip-1", FaultHang); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := login(c, bad)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("login to a hung instance: %v, want a timeout", err)
	}
	if d := time.Since(start); d < 400*time.Millisecond {
		t.Fatalf("gave up after %v: the instance did not hang", d)
	}
	if err := f.Fault("bigip-1", FaultNone); err != nil {
		t.Fatal(err)
	}
	mustLogin(t, c, bad, http.StatusOK)

	// Closing the fleet ends the hang: a held connection sees its end.
	if err := f.Fault("bigip-1", FaultHang); err != nil {
		t.Fatal(err)
	}
	conn, err := net.DialTimeout("tcp", bad.addr, 500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	time.Sleep(50 * time.Millisecond) // let the listener accept it
	closed := make(chan struct{})
	go func() { f.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return with a hung instance")
	}
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, conn); err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("the held connection stayed open after Close")
		}
	}
	if buf.Len() != 0 {
		t.Fatalf("a hung instance answered %q", buf.String())
	}
}

func TestFaultErrors(t *testing.T) {
	f, c := faultFleet(t)
	if err := f.Fault("bigip-9", FaultHang); err == nil || !strings.Contains(err.Error(), `no fleet instance "bigip-9"`) {
		t.Fatalf("unknown instance: %v", err)
	}
	if err := f.Fault("bigip-1", FaultKind(42)); err == nil {
		t.Fatal("an unknown fault kind was accepted")
	}
	for _, k := range []FaultKind{FaultNone, FaultError500, FaultWrongPassword, FaultUnreachable, FaultHang} {
		got, err := ParseFaultKind(k.String())
		if err != nil || got != k {
			t.Fatalf("ParseFaultKind(%q) = %v, %v", k.String(), got, err)
		}
	}
	// Switching straight from one fault to another heals the first.
	for _, k := range []FaultKind{FaultHang, FaultUnreachable, FaultError500, FaultHang, FaultNone} {
		if err := f.Fault("bigip-2", k); err != nil {
			t.Fatalf("fault %v: %v", k, err)
		}
	}
	mustLogin(t, c, f.Get("bigip-2"), http.StatusOK)
}
