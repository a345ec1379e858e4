package pluginmgr

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	pb "github.com/tokenflow/tokenflow/sdk/proto/tokenflow/plugin/v1"
	"google.golang.org/protobuf/proto"
)

// copyKit copies the testkit binary as tokenflow-plugin-mgrkit into a
// directory of its own, so a test can change it.
func copyKit(t *testing.T) (dir, path string) {
	t.Helper()
	dir = t.TempDir()
	data, err := os.ReadFile(filepath.Join(kitDir, "tokenflow-plugin-mgrkit"))
	if err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(dir, "tokenflow-plugin-mgrkit")
	if err := os.WriteFile(path, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir, path
}

// forgeCachedVersion rewrites the cached schemas' version, so a test can
// tell a cached answer from a fresh Describe.
func forgeCachedVersion(t *testing.T, cacheDir, version string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(cacheDir, "plugins", "*.json"))
	if len(files) == 0 {
		t.Fatal("no cache entry written")
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var f cacheFile
		if err := json.Unmarshal(data, &f); err != nil {
			t.Fatal(err)
		}
		var d pb.DescribeResponse
		if err := proto.Unmarshal(f.Entry.Schema, &d); err != nil {
			t.Fatal(err)
		}
		d.Schema.Version = version
		f.Entry.Schema, _ = proto.Marshal(&d)
		data, _ = json.Marshal(f)
		if err := os.WriteFile(file, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDescribeIsCachedUntilTheBinaryChanges(t *testing.T) {
	cache := t.TempDir()
	t.Setenv(EnvCacheDir, cache)
	dir, bin := copyKit(t)
	describe := func() (string, bool) {
		m := New(Config{Dirs: []string{dir}})
		defer m.Close()
		s, path, err := m.Describe(context.Background(), "mgrkit")
		if err != nil {
			t.Fatal(err)
		}
		if path != bin {
			t.Fatalf("path %s, want %s", path, bin)
		}
		return s.Version, m.Path("mgrkit") != ""
	}
	real, launched := describe()
	if !launched {
		t.Fatal("a cold cache did not launch the plugin")
	}
	forgeCachedVersion(t, cache, "from-the-cache")
	if v, launched := describe(); v != "from-the-cache" || launched {
		t.Fatalf("warm cache: version %q, launched %v; want the cached answer and no launch", v, launched)
	}
	// A launch of the unchanged binary takes the cached answer too (no
	// Describe call on the start's critical path), capabilities included:
	// its calls go on the call socket.
	m := New(Config{Dirs: []string{dir}})
	p, err := m.Get(context.Background(), "mgrkit")
	if err != nil {
		t.Fatal(err)
	}
	if v := p.Schema().Version; v != "from-the-cache" {
		t.Errorf("launched plugin's schema version %q, want the cached answer", v)
	}
	if inst := m.current("mgrkit"); inst == nil || !inst.plugin.callSocketOK || inst.plugin.socket == nil {
		t.Error("the cached answer's capabilities were not applied: no call socket")
	}
	echo(t, p)
	m.Close()
	// Touching the binary and setting its times back still changes its
	// change time: it is described afresh.
	fi, _ := os.Stat(bin)
	if err := os.Chtimes(bin, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if v, launched := describe(); v != real || !launched {
		t.Fatalf("changed binary: version %q, launched %v; want %q from a launch", v, launched, real)
	}
}

func TestChecksumCatchesAnEditWithTheModificationTimeSetBack(t *testing.T) {
	t.Setenv(EnvCacheDir, t.TempDir())
	_, bin := copyKit(t)
	m := New(Config{})
	sum1, err := m.Checksum(bin)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := New(Config{}).Checksum(bin); again != sum1 {
		t.Fatalf("cached sum %s, want %s", again, sum1)
	}
	fi, _ := os.Stat(bin)
	// Same size, same modification time, one byte different.
	f, err := os.OpenFile(bin, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{0xff}, fi.Size()-1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	time.Sleep(10 * time.Millisecond)
	if err := os.Chtimes(bin, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	sum2, err := New(Config{}).Checksum(bin)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := FileSHA256(bin); sum2 != want || sum2 == sum1 {
		t.Fatalf("after the edit: sum %s, file's %s, before %s", sum2, want, sum1)
	}
}

// Each binary has its own small entry file, so a run reads only what it
// starts; entries of binaries that are gone leave once there are many.
func TestCacheKeepsOneFilePerBinaryAndPrunesTheGone(t *testing.T) {
	cache := t.TempDir()
	t.Setenv(EnvCacheDir, cache)
	os.WriteFile(filepath.Join(cache, "plugins.json"), []byte("{}"), 0o600) // an earlier version's
	dir := t.TempDir()
	var bins []string
	for i := 0; i < pruneAbove+5; i++ {
		bin := filepath.Join(dir, fmt.Sprintf("tokenflow-plugin-x%d", i))
		os.WriteFile(bin, []byte{byte(i)}, 0o755)
		bins = append(bins, bin)
	}
	for _, bin := range bins[:pruneAbove] {
		if _, err := New(Config{}).Checksum(bin); err != nil {
			t.Fatal(err)
		}
	}
	files, _ := filepath.Glob(filepath.Join(cache, "plugins", "*.json"))
	if len(files) != pruneAbove {
		t.Fatalf("%d entry files for %d binaries", len(files), pruneAbove)
	}
	if _, err := os.Stat(filepath.Join(cache, "plugins.json")); err == nil {
		t.Error("the earlier version's plugins.json is still there")
	}
	for _, bin := range bins[:10] {
		os.Remove(bin)
	}
	if _, err := New(Config{}).Checksum(bins[pruneAbove]); err != nil {
		t.Fatal(err)
	}
	files, _ = filepath.Glob(filepath.Join(cache, "plugins", "*.json"))
	if len(files) != pruneAbove+1-10 {
		t.Fatalf("%d entry files after 10 binaries went, want %d", len(files), pruneAbove+1-10)
	}
	// The entries kept still answer.
	m := New(Config{})
	id, _ := identity(bins[20])
	if e, ok := m.cache.entry(bins[20], id); !ok || e.SHA256 == "" {
		t.Fatalf("entry of a kept binary: %+v %v", e, ok)
	}
}
