// Command tokenflow-devcluster runs on loopback what tokenflow's
// distributed mode needs, so it can be tried on one machine: an embedded
// Temporal server (go.temporal.io/server's temporaltest, in memory) and a
// throwaway PostgreSQL 15 (Debian's postgresql package; as root it runs as
// the postgres user). It writes their addresses as a shell file and runs
// until interrupted; both go away with it, data included.
//
// It is a development tool (make demo-dist uses it), never a production
// cluster: docs/fleets.md says how to point tokenflow at real ones.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/tokenflow/tokenflow/internal/pgtest"
	"go.temporal.io/server/temporaltest"
)

func main() {
	envFile := flag.String("env", "", "write TEMPORAL, TEMPORAL_NAMESPACE and STATE_URL to `FILE` (shell syntax) once both are up")
	flag.Parse()
	if err := run(*envFile); err != nil {
		fmt.Fprintln(os.Stderr, "tokenflow-devcluster:", err)
		os.Exit(1)
	}
}

func run(envFile string) error {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	pg, err := pgtest.Start()
	if err != nil {
		return err
	}
	defer pg.Stop()
	url, err := pg.CreateDatabase()
	if err != nil {
		return err
	}
	ts, err := startTemporal()
	if err != nil {
		return err
	}
	defer ts.Stop()
	env := fmt.Sprintf("TEMPORAL=%s\nTEMPORAL_NAMESPACE=%s\nSTATE_URL='%s'\n", ts.GetFrontendHostPort(), ts.GetDefaultNamespace(), url)
	if envFile != "" {
		// Written whole, then renamed: a script polling for the file never
		// reads half of it.
		tmp := envFile + ".tmp"
		if err := os.WriteFile(tmp, []byte(env), 0o600); err != nil {
			return err
		}
		if err := os.Rename(tmp, envFile); err != nil {
			return err
		}
	}
	fmt.Printf("Temporal (in memory) and a throwaway PostgreSQL on loopback; Ctrl-C stops both and removes their data.\n%s", env)
	<-stop
	return nil
}

// startTemporal turns temporaltest's panic on a failed start into an error.
func startTemporal() (ts *temporaltest.TestServer, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("start the embedded Temporal server: %v", r)
		}
	}()
	return temporaltest.NewServer(), nil
}
