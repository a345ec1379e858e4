package pgtest

import (
	"context"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestServer(t *testing.T) {
	s, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	dir := s.dir
	stopped := false
	defer func() {
		if !stopped {
			s.Stop()
		}
	}()
	ctx := context.Background()
	a, b := s.NewDatabase(t), s.NewDatabase(t)
	if a == b || !strings.Contains(a, "127.0.0.1") {
		t.Fatalf("databases: %s %s", a, b)
	}
	conn, err := pgx.Connect(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	var fsync, listen string
	if err := conn.QueryRow(ctx, `SELECT current_setting('fsync'), current_setting('listen_addresses')`).Scan(&fsync, &listen); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	if fsync != "off" || listen != "127.0.0.1" {
		t.Fatalf("fsync=%s listen_addresses=%s", fsync, listen)
	}
	pid := s.cmd.Process.Pid
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	stopped = true
	if err := syscall.Kill(pid, 0); err == nil {
		t.Fatalf("postgres %d still running after Stop", pid)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s left behind: %v", dir, err)
	}
}

func TestMissingBinariesSayHowToInstall(t *testing.T) {
	t.Setenv("PGTEST_BINDIR", t.TempDir())
	_, err := Start()
	if !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), "apt-get install -y postgresql") {
		t.Fatalf("got %v", err)
	}
}
