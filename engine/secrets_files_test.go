package engine_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/tokenflow/tokenflow/engine"
	"github.com/tokenflow/tokenflow/engine/hostnet"
	"github.com/tokenflow/tokenflow/engine/state"
	"github.com/tokenflow/tokenflow/engine/store"
)

func TestFileReadOfOwnerOnlyFileIsASecret(t *testing.T) {
	dir := t.TempDir()
	private := filepath.Join(dir, "state.key")
	public := filepath.Join(dir, "motd")
	os.WriteFile(private, []byte("state-key-canary-4711\n"), 0o600)
	os.WriteFile(public, []byte("hello world"), 0o644)
	os.Chmod(private, 0o600)

	_, err := runFlow(t, `output("key", file.read("`+private+`"))`, engine.Options{})
	wantErr(t, err, "flow.star:1:7", `"key" is a secret`, "file:"+private)

	var log bytes.Buffer
	if _, err := runFlow(t, `print("key is", file.read("`+private+`"))`, engine.Options{Log: &log}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(log.String(), "canary") {
		t.Fatalf("print showed a 0600 file: %q", log.String())
	}
	res, err := runFlow(t, `output("motd", file.read("`+public+`"))`, engine.Options{})
	if err != nil || len(res.Outputs) != 1 || res.Outputs[0].Value != "hello world" {
		t.Fatalf("a 0644 file reads as a string: %v %v", res, err)
	}
}

func TestSinkRefusesWritableDirsAndLinks(t *testing.T) {
	base := t.TempDir()
	mk := func(name string, mode os.FileMode) string {
		d := filepath.Join(base, name)
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		// Chmod: Mkdir's mode passes through the umask.
		if err := os.Chmod(d, mode); err != nil {
			t.Fatal(err)
		}
		return d
	}
	sink := func(path string) error {
		_, err := runFlow(t, `sink.file("`+path+`", "tok-value-123")`, engine.Options{})
		return err
	}
	world := mk("world", 0o777)
	err := sink(filepath.Join(world, "tok"))
	wantErr(t, err, "flow.star:1:10", "directory "+world+" has mode 0777", "others can write to it", "chmod go-w "+world)
	group := mk("group", 0o770)
	wantErr(t, sink(filepath.Join(group, "tok")), "directory "+group+" has mode 0770", "its group can write")
	for _, d := range []string{world, group} {
		if _, err := os.Stat(filepath.Join(d, "tok")); err == nil {
			t.Fatalf("a refused sink wrote %s", d)
		}
	}

	// A sticky directory the user owns (a private /tmp) is fine.
	mine := mk("sticky-mine", os.ModeSticky|0o777)
	if err := sink(filepath.Join(mine, "tok")); err != nil {
		t.Fatalf("own sticky dir: %v", err)
	}
	if os.Getuid() == 0 {
		// Someone else's sticky directory is not.
		theirs := mk("sticky-theirs", os.ModeSticky|0o777)
		if err := os.Chown(theirs, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		wantErr(t, sink(filepath.Join(theirs, "tok")), "directory "+theirs+" has mode 1777")
	}

	private := mk("private", 0o700)
	real := filepath.Join(private, "real")
	link := filepath.Join(private, "tok")
	os.WriteFile(real, []byte("old"), 0o600)
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	wantErr(t, sink(link), link+" is a symbolic link (to "+real+")", "remove the link")
	if b, _ := os.ReadFile(real); string(b) != "old" {
		t.Fatalf("the link's target was written: %q", b)
	}
	if err := sink(real); err != nil {
		t.Fatalf("a private directory: %v", err)
	}
}

func TestHTTPNeedsExplicitConsent(t *testing.T) {
	flow := filepath.Join(t.TempDir(), "flow.star")
	run := func(src string, opts engine.Options) (string, error) {
		os.WriteFile(flow, []byte(src), 0o644)
		var log bytes.Buffer
		opts.PluginDirs = []string{kit(t)}
		opts.Logger = hclog.New(&hclog.LoggerOptions{Output: &log, Level: hclog.Warn})
		_, err := engine.Run(context.Background(), flow, opts)
		return log.String(), err
	}
	it := newItems(t)
	src := `k = connect("testkit", url = "` + it.URL + `"%s)
k.fetch(url = "` + it.URL + `/x")
`
	_, err := run(strings.Replace(src, "%s", "", 1), engine.Options{})
	wantErr(t, err, "flow.star:1:12", "uses plain http", "--allow-http", "allow_insecure_http = True")

	for name, c := range map[string]struct {
		arg  string
		opts engine.Options
	}{
		"flow": {", allow_insecure_http = True", engine.Options{}},
		"cli":  {"", engine.Options{AllowHTTP: true}},
	} {
		log, err := run(strings.Replace(src, "%s", c.arg, 1), c.opts)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !strings.Contains(log, "connection uses http://") {
			t.Fatalf("%s: no warning in the log: %q", name, log)
		}
	}
}

func TestReplayIsARehearsal(t *testing.T) {
	it := newItems(t)
	dir := t.TempDir()
	cassette := filepath.Join(dir, "run.yaml")
	url := it.URL
	src := `k = connect("testkit", url = var("url"))
r = k.fetch(url = var("url") + "/token")
store.put("t", r.body)
output("body", r.body)
`
	if _, err := runFlow(t, src, engine.Options{Vars: map[string]string{"url": url}, Record: cassette}); err != nil {
		t.Fatal(err)
	}
	db, err := state.Open(context.Background(), state.Options{Dir: filepath.Join(dir, "state")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if err := db.Put(ctx, store.Token{Target: url, Name: "t", Value: "the-real-token-77"}); err != nil {
		t.Fatal(err)
	}
	res, err := runFlow(t, src, engine.Options{Vars: map[string]string{"url": url}, Replay: cassette, State: db})
	if err != nil {
		t.Fatal(err)
	}
	// store.put made the body a secret, so the cassette holds a placeholder
	// for it: the value that replaced the real token before.
	if res.Journaled || res.Outputs[0].Value != "__tokenflow_secret_1__" {
		t.Fatalf("replay: journaled %v, outputs %v", res.Journaled, res.Outputs)
	}
	if tok, err := db.Get(ctx, url, "t"); err != nil || tok.Value != "the-real-token-77" {
		t.Fatalf("the replay touched the real store: %+v %v", tok, err)
	}
	if vs, _ := db.Versions(ctx, url, "t"); len(vs) != 1 {
		t.Fatalf("the replay added versions: %d", len(vs))
	}
	if runs, _ := db.Runs(ctx, 10); len(runs) != 0 {
		t.Fatalf("the replay was journaled: %v", runs)
	}

	// An edited cassette is refused, unless the user says so.
	data, _ := os.ReadFile(cassette)
	os.WriteFile(cassette, bytes.Replace(data, []byte("body: __tokenflow_secret_1__"), []byte("body: forged"), 1), 0o600)
	_, err = runFlow(t, src, engine.Options{Vars: map[string]string{"url": url}, Replay: cassette})
	if !errors.Is(err, hostnet.ErrCassetteEdited) {
		t.Fatalf("edited cassette: %v", err)
	}
	wantErr(t, err, cassette, "does not match the SHA-256", "--replay-edited")
	res, err = runFlow(t, src, engine.Options{Vars: map[string]string{"url": url}, Replay: cassette, ReplayEdited: true})
	if err != nil || res.Outputs[0].Value != "forged" {
		t.Fatalf("--replay-edited: %v %v", res, err)
	}
	_, err = runFlow(t, src, engine.Options{Vars: map[string]string{"url": url}, Replay: cassette, State: db, Resume: "x"})
	wantErr(t, err, "--resume cannot be combined with --replay")
}
