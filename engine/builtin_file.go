package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/renameio/v2"
	"github.com/tokenflow/tokenflow/engine/hostnet"
	"github.com/tokenflow/tokenflow/engine/value"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// fileModule is the file builtin, the flow's only read access to local
// files:
//
//	file.read_secret(path, missing_ok = False, allow_insecure_mode = False) -> secret or None
//	file.read(path, missing_ok = False) -> string, secret or None
//	file.exists(path) -> bool
//
// Paths expand a leading ~ and are relative to the working directory.
// read_secret refuses a file that group or others can read, since a
// credential file with such a mode has already leaked. file.read of a file
// that only its owner can read (mode & 0o077 == 0, e.g. 0600) returns a
// secret: the mode says what the file holds, and a plain string would be
// printed by output() and print().
func (r *run) fileModule() *starlarkstruct.Module {
	return &starlarkstruct.Module{Name: "file", Members: starlark.StringDict{
		"read_secret": r.diskBuiltin("file.read_secret", r.fileReadSecret),
		"read":        r.diskBuiltin("file.read", r.fileRead),
		"exists":      r.diskBuiltin("file.exists", fileExists),
	}}
}

// diskBuiltin is a builtin that touches the local disk: refused in a run
// from a bundle (see errNoDisk).
func (r *run) diskBuiltin(name string, fn func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error)) *starlark.Builtin {
	return starlark.NewBuiltin(name, func(t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if err := r.errNoDisk(name); err != nil {
			return nil, err
		}
		return fn(t, b, args, kwargs)
	})
}

// sinkModule writes tokens where their consumers read them:
//
//	sink.file(path, value, format = "raw", overwrite = True)
//
// The file is written atomically (temporary file, fsync, rename, directory
// fsync) with mode 0600, so a reader never sees half a token and a crash
// never leaves a truncated one. It refuses (see checkSinkPath) a directory
// that group or others can write to, unless it is sticky and owned by the
// user running tokenflow, and a path that is a symbolic link. format "raw" writes the value as is;
// "json" writes a dict (whose values may be secrets) as a JSON object.
// In a dry-run nothing is written; the plan shows the write.
func (r *run) sinkModule() *starlarkstruct.Module {
	return &starlarkstruct.Module{Name: "sink", Members: starlark.StringDict{
		"file": r.diskBuiltin("sink.file", r.sinkFile),
	}}
}

func expandPath(p string) (string, error) {
	if p == "" {
		return "", errors.New("empty path")
	}
	if p == "~" || strings.HasPrefix(p, "~/") {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("expand ~: %w", err)
		}
		p = filepath.Join(home, strings.TrimPrefix(p, "~"))
	}
	return p, nil
}

func readLocal(name, path string, missingOK bool) ([]byte, fs.FileInfo, error) {
	p, err := expandPath(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && missingOK {
			return nil, nil, nil
		}
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("%s: %s does not exist", name, p)
		}
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	if fi.IsDir() {
		return nil, nil, fmt.Errorf("%s: %s is a directory", name, p)
	}
	if fi.Size() > 16<<20 {
		return nil, nil, fmt.Errorf("%s: %s is larger than 16 MiB", name, p)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	return data, fi, nil
}

func (r *run) fileReadSecret(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var path string
	var missingOK, insecure bool
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "path", &path, "missing_ok?", &missingOK, "allow_insecure_mode?", &insecure); err != nil {
		return nil, err
	}
	data, fi, err := readLocal(b.Name(), path, missingOK)
	if err != nil {
		return nil, err
	}
	if fi == nil {
		return starlark.None, nil
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		if !insecure {
			return nil, fmt.Errorf("%s: %s has mode %04o: group or others can read it; run chmod 600 %s (or pass allow_insecure_mode = True)", b.Name(), path, perm, path)
		}
		r.logger.Warn("secret file is readable by group or others", "file", path, "mode", fmt.Sprintf("%04o", perm))
	}
	v := strings.TrimRight(string(data), "\r\n")
	r.red.Add(v)
	hostnet.RegisterJSONSecrets(r.red, []byte(strings.TrimSpace(v)))
	return value.NewSecret(v, "file:"+path), nil
}

func (r *run) fileRead(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var path string
	var missingOK bool
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "path", &path, "missing_ok?", &missingOK); err != nil {
		return nil, err
	}
	data, fi, err := readLocal(b.Name(), path, missingOK)
	if err != nil {
		return nil, err
	}
	if fi == nil {
		return starlark.None, nil
	}
	if fi.Mode().Perm()&0o077 == 0 {
		v := string(data)
		r.red.Add(v, strings.TrimRight(v, "\r\n"))
		hostnet.RegisterJSONSecrets(r.red, []byte(strings.TrimSpace(v)))
		return value.NewSecret(v, "file:"+path), nil
	}
	return starlark.String(data), nil
}

func fileExists(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var path string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "path", &path); err != nil {
		return nil, err
	}
	p, err := expandPath(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	_, err = os.Stat(p)
	return starlark.Bool(err == nil), nil
}

func (r *run) sinkFile(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var path, format string = "", "raw"
	var v starlark.Value
	overwrite := true
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "path", &path, "value", &v, "format?", &format, "overwrite?", &overwrite); err != nil {
		return nil, err
	}
	p, err := expandPath(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	var data []byte
	unknown := false
	switch format {
	case "raw":
		switch x := v.(type) {
		case *value.Secret:
			data = []byte(x.Reveal())
		case starlark.String:
			data = []byte(x)
		case *value.Unknown:
			unknown = true
		default:
			return nil, fmt.Errorf("%s: for parameter value: got %s, want secret or string", b.Name(), v.Type())
		}
	case "json":
		d, ok := v.(*starlark.Dict)
		if !ok {
			return nil, fmt.Errorf("%s: format \"json\" wants a dict value, got %s", b.Name(), v.Type())
		}
		obj := map[string]any{}
		for _, item := range d.Items() {
			k, ok := starlark.AsString(item[0])
			if !ok {
				return nil, fmt.Errorf("%s: dict keys must be strings", b.Name())
			}
			switch x := item[1].(type) {
			case *value.Secret:
				obj[k] = x.Reveal()
			case *value.Unknown:
				unknown = true
			default:
				w := &wireCtx{r: r}
				c, err := w.plain(x, 0)
				if err != nil {
					return nil, fmt.Errorf("%s: key %q: %v", b.Name(), k, err)
				}
				obj[k] = c
			}
		}
		data, err = json.MarshalIndent(obj, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
		data = append(data, '\n')
	default:
		return nil, fmt.Errorf("%s: unknown format %q: want \"raw\" or \"json\" (vendor formats come from plugin ops, e.g. acme.encode_token_file)", b.Name(), format)
	}
	if err := checkSinkPath(p); err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	if !overwrite {
		if _, err := os.Stat(p); err == nil {
			return nil, fmt.Errorf("%s: %s exists and overwrite is False", b.Name(), p)
		}
	}
	if r.plan != nil {
		r.plan.AddChange(fmt.Sprintf("sink.%s.%d", path, len(r.steps)), "sink.file", thread.CallFrame(1).Pos.String(),
			fmt.Sprintf("would write %s (%s, mode 0600)", path, format))
		return starlark.None, nil
	}
	if unknown {
		return nil, fmt.Errorf("%s: value is not known", b.Name())
	}
	if err := writeFileAtomic(p, data); err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return starlark.None, nil
}

// writeFileAtomic writes data to path with mode 0600 through a temporary
// file and a rename, then syncs the directory so the rename survives a
// crash.
func writeFileAtomic(path string, data []byte) error {
	// Static permissions: renameio would otherwise keep an existing file's
	// mode, and a token file must end up 0600 whatever it was.
	t, err := renameio.NewPendingFile(path, renameio.WithStaticPermissions(0o600))
	if err != nil {
		return err
	}
	defer t.Cleanup()
	if _, err := t.Write(data); err != nil {
		return err
	}
	if err := t.CloseAtomicallyReplace(); err != nil {
		return err
	}
	dir, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer dir.Close()
	return dir.Sync()
}
