package cli

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/tokenflow/tokenflow/internal/simulators"
	keyboxsim "github.com/tokenflow/tokenflow/plugins/keybox/sim"
)

// buildSimPlugin builds testdata/simplugin as tokenflow-plugin-acme, a
// plugin that is not shipped with tokenflow.
func buildSimPlugin(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "tokenflow-plugin-acme"), "./testdata/simplugin")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the test plugin: %v\n%s", err, out)
	}
	return dir
}

// `tokenflow sim acme bigip` serves bigip from the shipped simulators and
// acme from its plugin binary (--simulate), printing both with their
// accounts; the plugin's simulator answers on its URL.
func TestSimServesAnOutOfTreePluginsSimulator(t *testing.T) {
	pluginDir := buildSimPlugin(t)
	var ready func(*simulators.Set) error
	streams, out, _ := TestStreams()
	f := newFactory(streams)
	f.PluginDirs = []string{pluginDir}
	dir := t.TempDir()
	var printed string
	var cmd *cobra.Command
	cmd = NewCmdSim(f, func(o *SimOptions) error {
		o.ready = ready
		return simRun(cmd, o)
	})
	ready = func(set *simulators.Set) error {
		printed = out.String()
		if set == nil || set.Get("bigip") == nil {
			t.Errorf("the shipped bigip simulator is not running")
		}
		// The acme row's URL answers as the simulator does: 401 without the key.
		var url string
		for _, line := range strings.Split(printed, "\n") {
			if strings.HasPrefix(line, "acme ") {
				url = strings.Fields(line)[1]
			}
		}
		if !strings.HasPrefix(url, "http://127.0.0.1:") {
			t.Fatalf("no acme row with a loopback URL:\n%s", printed)
		}
		resp, err := http.Get(url + "/api/v1/tokens?name=x")
		if err != nil {
			t.Fatalf("acme simulator: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("acme simulator answered %d without a key, want 401", resp.StatusCode)
		}
		key, err := os.ReadFile(filepath.Join(dir, "acme", "acme_key"))
		if err != nil || string(key) != keyboxsim.APIKey {
			t.Errorf("the plugin's Setup did not write its key file in DIR/acme: %v", err)
		}
		return nil
	}
	cmd.SetArgs([]string{"--plain-http", "--dir", dir, "--set", "acme.greeting=hi", "acme", "bigip"})
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"bigip ", "acme ", "(key file)", "--var key_file=" + filepath.Join(dir, "acme", "acme_key")} {
		if !strings.Contains(printed, want) {
			t.Errorf("output lacks %q:\n%s", want, printed)
		}
	}
}

// A vendor neither shipped nor installed is refused, naming both lists.
func TestSimUnknownVendorSaysWhereItLooked(t *testing.T) {
	streams, _, _ := TestStreams()
	f := newFactory(streams)
	f.PluginDirs = []string{t.TempDir()}
	var cmd *cobra.Command
	cmd = NewCmdSim(f, func(o *SimOptions) error {
		o.ready = func(*simulators.Set) error { return nil }
		return simRun(cmd, o)
	})
	cmd.SetArgs([]string{"--plain-http", "--dir", t.TempDir(), "nosuchvendor"})
	err := cmd.ExecuteContext(context.Background())
	if err == nil || !strings.Contains(err.Error(), `no simulator for "nosuchvendor": it is not shipped`) || !strings.Contains(err.Error(), "tokenflow-plugin-nosuchvendor") {
		t.Fatalf("err = %v", err)
	}
}
