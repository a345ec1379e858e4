// Package pgtest runs a throwaway PostgreSQL 15 on loopback for tests: a
// fresh cluster in a temporary directory, fsync off (nothing in it must
// survive), stopped and removed when the tests end. Each test takes its own
// database from it (NewDatabase), so tests never see each other's rows.
//
// A package's tests start it from TestMain:
//
//	var pg *pgtest.Server
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, &pg)) }
//
// PostgreSQL refuses to run as root and the tests run as root (CI, the
// developer machines): as root the server runs as the postgres user, in a
// directory chowned to it. Without PostgreSQL installed the tests fail
// (they never skip: a skipped suite would hide that nothing was tested).
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultBinDir is where Debian's postgresql package puts PostgreSQL 15;
// $PGTEST_BINDIR overrides it.
const DefaultBinDir = "/usr/lib/postgresql/15/bin"

// ErrNotInstalled means the PostgreSQL binaries are missing.
var ErrNotInstalled = errors.New("postgresql is not installed")

// Server is a running throwaway PostgreSQL.
type Server struct {
	// Port is the TCP port on 127.0.0.1.
	Port int

	dir  string // temporary directory: data/, the socket, the log
	cmd  *exec.Cmd
	exit chan error

	mu    sync.Mutex
	admin *pgx.Conn
	n     int
}

// Main starts a server into *srv, runs the tests and stops it; it returns
// the exit code for os.Exit. A server that cannot start fails the package
// with the reason.
func Main(m *testing.M, srv **Server) int {
	s, err := Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		return 1
	}
	*srv = s
	code := m.Run()
	if err := s.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// Start initialises a cluster in a new temporary directory and starts it
// on a free loopback port.
func Start() (*Server, error) {
	bin := os.Getenv("PGTEST_BINDIR")
	if bin == "" {
		bin = DefaultBinDir
	}
	if _, err := os.Stat(filepath.Join(bin, "postgres")); err != nil {
		return nil, fmt.Errorf("%w: %s/postgres: %v; install it with `apt-get update && apt-get install -y postgresql` (or set PGTEST_BINDIR to PostgreSQL 15's bin directory)", ErrNotInstalled, bin, errors.Unwrap(err))
	}
	cred, err := credential()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, fmt.Errorf("temporary directory: %w", err)
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("chown %s to postgres: %w", dir, err)
		}
	}
	s := &Server{dir: dir}
	if err := s.initdb(bin, cred); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	// The free port is found by binding and closing, so another process
	// can take it in between: try again on another.
	for attempt := 0; ; attempt++ {
		err = s.start(bin, cred)
		if err == nil {
			return s, nil
		}
		if attempt == 2 {
			os.RemoveAll(dir)
			return nil, err
		}
	}
}

// credential is who the server runs as: the postgres user when we are root
// (PostgreSQL refuses root), ourselves otherwise.
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("%w: running as root needs the postgres user to run the server as (%v); install the postgresql package", ErrNotInstalled, err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

// command runs as cred. Dropping to postgres in the child itself (rather
// than through runuser) lets the server be told to quit when the test
// binary dies, so a killed test run leaves no server behind.
func (s *Server) command(cred *syscall.Credential, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = s.dir
	cmd.Env = []string{"LC_ALL=C", "PATH=/usr/bin:/bin", "HOME=" + s.dir}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
	return cmd
}

func (s *Server) initdb(bin string, cred *syscall.Credential) error {
	cmd := s.command(cred, filepath.Join(bin, "initdb"), "-D", filepath.Join(s.dir, "data"),
		"-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb in %s: %w\n%s", s.dir, err, out)
	}
	return nil
}

func (s *Server) start(bin string, cred *syscall.Credential) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	logPath := filepath.Join(s.dir, "postgres.log")
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("server log: %w", err)
	}
	defer log.Close()
	if cred != nil {
		os.Chown(logPath, int(cred.Uid), int(cred.Gid))
	}
	cmd := s.command(cred, filepath.Join(bin, "postgres"), "-D", filepath.Join(s.dir, "data"),
		"-p", strconv.Itoa(port), "-k", s.dir,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=200", "-c", "shared_buffers=32MB")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	s.cmd, s.Port, s.exit = cmd, port, make(chan error, 1)
	go func() { s.exit <- cmd.Wait() }()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		conn, err := pgx.Connect(ctx, s.url("postgres"))
		if err == nil {
			s.admin = conn
			return nil
		}
		select {
		case werr := <-s.exit:
			return fmt.Errorf("postgres exited on port %d (%v): %s", port, werr, s.logTail())
		case <-ctx.Done():
			s.kill()
			return fmt.Errorf("postgres did not accept connections on 127.0.0.1:%d within 30s: %v: %s", port, err, s.logTail())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) logTail() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "postgres.log"))
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}

func (s *Server) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.Port, db)
}

// NewDatabase creates an empty database for one test and returns its URL.
// Databases are not dropped: the whole cluster goes at Stop.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	url, err := s.CreateDatabase()
	if err != nil {
		t.Fatal(err)
	}
	return url
}

// CreateDatabase creates an empty database and returns its URL (for a
// program, such as the dev cluster, that has no test to fail).
func (s *Server) CreateDatabase() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	name := fmt.Sprintf("t%d", s.n)
	if _, err := s.admin.Exec(context.Background(), "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("pgtest: create database %s: %w", name, err)
	}
	return s.url(name), nil
}

// Stop stops the server (fast shutdown: connections are closed) and
// removes its directory.
func (s *Server) Stop() error {
	if s.admin != nil {
		s.admin.Close(context.Background())
	}
	var err error
	if s.cmd != nil {
		s.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-s.exit:
		case <-time.After(10 * time.Second):
			s.kill()
			err = fmt.Errorf("postgres on port %d did not stop within 10s; killed it", s.Port)
		}
	}
	if rerr := os.RemoveAll(s.dir); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) && err == nil {
		err = fmt.Errorf("remove %s: %w", s.dir, rerr)
	}
	return err
}

func (s *Server) kill() {
	s.cmd.Process.Kill()
	<-s.exit
}

// RowsContaining counts, per table of the database at url, the rows whose
// text form contains needle: a test's proof that a secret is not kept in
// clear anywhere.
func RowsContaining(ctx context.Context, url, needle string) (map[string]int, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`)
	if err != nil {
		return nil, err
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, table := range tables {
		var n int
		q := `SELECT COUNT(*) FROM ` + pgx.Identifier{table}.Sanitize() + ` t WHERE t::text LIKE '%' || $1 || '%'`
		if err := conn.QueryRow(ctx, q, needle).Scan(&n); err != nil {
			return nil, err
		}
		if n > 0 {
			out[table] = n
		}
	}
	return out, nil
}
