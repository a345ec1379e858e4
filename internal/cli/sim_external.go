package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/tokenflow/tokenflow/engine/pluginmgr"
	"github.com/tokenflow/tokenflow/internal/simulators"
	"github.com/tokenflow/tokenflow/sdk"
)

// splitVendors separates the vendors whose simulators ship with tokenflow
// from those whose plugin binaries must serve their own.
func splitVendors(vendors []string) (inTree, outOfTree []string) {
	shipped := simulators.Vendors()
	for _, v := range vendors {
		if slices.Contains(shipped, v) {
			inTree = append(inTree, v)
		} else {
			outOfTree = append(outOfTree, v)
		}
	}
	return inTree, outOfTree
}

// externalSim is a plugin binary serving its own simulator.
type externalSim struct {
	info sdk.SimulatorInfo
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited; err is then set
	err  error
}

// stop kills the process and waits for it.
func (e *externalSim) stop() {
	_ = e.cmd.Process.Kill()
	<-e.done
}

// simExternalRun serves the shipped simulators named and, for each other
// vendor, its plugin binary's own (--simulate), found on the plugin search
// path and checked against the lock file like a run would.
func simExternalRun(cmd *cobra.Command, opts *SimOptions, dir string, inTree, outOfTree []string, settings []setting) error {
	ctx, cancel := context.WithCancel(cmd.Context())
	defer cancel()
	var set *simulators.Set
	if len(inTree) > 0 {
		var err error
		if set, err = simulators.Start(inTree, !opts.Plain, dir, nil); err != nil {
			return err
		}
		defer set.Close()
		var own []setting
		for _, s := range settings {
			if slices.Contains(inTree, s.vendor) {
				own = append(own, s)
			}
		}
		if err := tuneSims(own, set.Sims); err != nil {
			return err
		}
	}
	var ext []*externalSim
	defer func() {
		for _, e := range ext {
			e.stop()
		}
	}()
	for _, v := range outOfTree {
		var knobs []string
		for _, s := range settings {
			if s.vendor == v {
				knobs = append(knobs, "--set", s.key+"="+s.value)
			}
		}
		e, err := startExternalSim(ctx, opts, v, filepath.Join(dir, v), knobs)
		if err != nil {
			return err
		}
		ext = append(ext, e)
	}

	w := opts.IO.Out
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VENDOR\tURL\tUSER\tPASSWORD\tFLOW FLAGS")
	if set != nil {
		for _, r := range set.Sims {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Vendor, r.Server.URL, r.Username, r.Password, r.Flags)
		}
	}
	for _, e := range ext {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.info.Vendor, e.info.URL, e.info.Username, e.info.Password, fileFlags(e.info.Files))
	}
	tw.Flush()
	if set != nil && set.CAFile != "" {
		fmt.Fprintf(w, "\nCA certificate: %s\n", set.CAFile)
	}
	for _, e := range ext {
		if e.info.CAFile != "" {
			// Each plugin binary mints its own CA: it shares no key with tokenflow.
			fmt.Fprintf(w, "CA certificate (%s): %s\n", e.info.Vendor, e.info.CAFile)
		}
	}
	if opts.ready != nil {
		return opts.ready(set)
	}
	fmt.Fprintln(w, "\nServing until Ctrl-C.")
	select {
	case <-cmd.Context().Done():
	case err := <-exited(ext):
		return err
	}
	return nil
}

// startExternalSim starts vendor's plugin binary as its simulator and reads
// the line describing it.
func startExternalSim(ctx context.Context, opts *SimOptions, vendor, dir string, knobs []string) (*externalSim, error) {
	f := opts.factory
	m := f.Plugins()
	path, err := m.Find(vendor)
	m.Close()
	if errors.Is(err, pluginmgr.ErrNotFound) {
		return nil, fmt.Errorf("no simulator for %q: it is not shipped with tokenflow (shipped: %v) and %w; install its plugin or pass --plugin-dir", vendor, simulators.Vendors(), err)
	}
	if err != nil {
		return nil, err
	}
	cwd, _ := os.Getwd()
	lock, err := f.PluginLock(filepath.Join(cwd, "sim"))
	if err != nil {
		return nil, err
	}
	if lock != nil {
		if err := lock.Verify(vendor, path); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("simulator directory for %s: %w", vendor, err)
	}
	args := append([]string{"--simulate", "--json", "--dir", dir}, knobs...)
	if opts.Plain {
		args = append(args, "--plain-http")
	}
	c := exec.CommandContext(ctx, path, args...)
	c.Stderr = opts.IO.ErrOut
	out, err := c.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := c.Start(); err != nil {
		return nil, fmt.Errorf("start the %s simulator (%s --simulate): %w", vendor, path, err)
	}
	e := &externalSim{cmd: c, done: make(chan struct{})}
	line := make(chan string, 1)
	go func() {
		r := bufio.NewReader(out)
		s, _ := r.ReadString('\n')
		line <- s
		_, _ = io.Copy(io.Discard, r)
		e.err = c.Wait() // after the pipe is drained, as Wait requires
		close(e.done)
	}()
	fail := func(why string) (*externalSim, error) {
		e.stop()
		return nil, fmt.Errorf("the %s plugin (%s) did not serve a simulator: %s; a plugin serves one when its main passes sdk.WithSimulator to sdk.Serve", vendor, path, why)
	}
	var s string
	select {
	case s = <-line:
	case <-time.After(30 * time.Second):
		return fail("no answer within 30s")
	}
	var info sdk.SimulatorInfo
	if s == "" {
		return fail("it exited without printing its address (its error is above)")
	}
	if err := json.Unmarshal([]byte(s), &info); err != nil || info.URL == "" {
		return fail("its first line is not the simulator's description")
	}
	e.info = info
	return e, nil
}

// exited reports the first external simulator that stops on its own.
func exited(ext []*externalSim) <-chan error {
	ch := make(chan error, len(ext))
	for _, e := range ext {
		go func() {
			<-e.done
			ch <- fmt.Errorf("the %s simulator stopped: %v", e.info.Vendor, e.err)
		}()
	}
	return ch
}

func fileFlags(files map[string]string) string {
	if len(files) == 0 {
		return ""
	}
	return sortedVarFlags(files)[1:]
}
