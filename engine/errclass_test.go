package engine_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tokenflow/tokenflow/engine"
	"github.com/tokenflow/tokenflow/engine/pluginmgr"
	"github.com/tokenflow/tokenflow/engine/state"
)

func TestPluginErrorReachesTheCallerTyped(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "900")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	t.Cleanup(srv.Close)
	_, err := runFlow(t, `k = connect("testkit", url = "`+srv.URL+`")
k.create(name = "a")`, engine.Options{})
	var oe *pluginmgr.OpError
	if !errors.As(err, &oe) {
		t.Fatalf("no *pluginmgr.OpError in %v", err)
	}
	if oe.Code != "rate_limited" || !oe.Retryable || oe.RetryAfter != 900*time.Second {
		t.Fatalf("got %+v", oe)
	}
	wantErr(t, err, "flow.star:2:9", "testkit.create")
}

func TestCancelledRunIsJournaledAsInterrupted(t *testing.T) {
	it := newItems(t)
	ctx := context.Background()
	dir := t.TempDir()
	os.Chmod(dir, 0o700)
	db, err := state.Open(ctx, state.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	p := filepath.Join(t.TempDir(), "flow.star")
	os.WriteFile(p, []byte(`k = connect("testkit", url = "`+it.URL+`")
k.echo(text = "a")
k.hang()`), 0o644)
	plugins := kit(t) // built before the clock starts: a cold build takes longer than the run's 500ms
	cctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	res, err := engine.Run(cctx, p, engine.Options{PluginDirs: []string{plugins}, State: db, AllowHTTP: true})
	if !errors.Is(err, engine.ErrInterrupted) {
		t.Fatalf("err = %v, want ErrInterrupted", err)
	}
	run, gerr := db.GetRun(ctx, res.RunID)
	if gerr != nil || run.Status != "interrupted" {
		t.Fatalf("journal says %q (%v), want interrupted", run.Status, gerr)
	}
	assertNoPluginProcesses(t)
}
