package inventory

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
)

// Resolve reads every credential of the target: env refs through getenv,
// file refs from disk (trailing newlines trimmed). It returns name ->
// value. A missing or empty value, or a file that group or others can read,
// is an error naming the credential, its reference and the FILE:LINE that
// defines it; all of them are reported together. No error holds a value.
func (t *Target) Resolve(getenv func(string) (string, bool)) (map[string]string, error) {
	names := make([]string, 0, len(t.Credentials))
	for n := range t.Credentials {
		names = append(names, n)
	}
	sort.Strings(names)
	values := make(map[string]string, len(names))
	var errs []error
	for _, name := range names {
		r := t.Credentials[name]
		v, err := r.read(getenv)
		if err != nil {
			errs = append(errs, &Error{Pos: r.Pos, Msg: fmt.Sprintf("target %s: credential %s (%s): %v", t.Name, name, r, err)})
			continue
		}
		values[name] = v
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return values, nil
}

// ProxyPassword reads the proxy password of the target ("" when its proxy
// wants none), as Resolve reads credentials.
func (t *Target) ProxyPassword(getenv func(string) (string, bool)) (string, error) {
	if t.Proxy == nil || t.Proxy.Password == nil {
		return "", nil
	}
	r := *t.Proxy.Password
	v, err := r.read(getenv)
	if err != nil {
		return "", &Error{Pos: r.Pos, Msg: fmt.Sprintf("target %s: proxy password (%s): %v", t.Name, r, err)}
	}
	return v, nil
}

func (r Ref) read(getenv func(string) (string, bool)) (string, error) {
	switch r.Kind {
	case "env":
		v, ok := getenv(r.Arg)
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set; export it before the run", r.Arg)
		}
		if v == "" {
			return "", fmt.Errorf("environment variable %s is empty", r.Arg)
		}
		return v, nil
	case "file":
		return readSecretFile(r.Arg)
	}
	return "", fmt.Errorf("unknown reference kind %q", r.Kind)
}

// readSecretFile reads a credential file, refusing one that others can read:
// a secret there has already leaked to every account on the machine.
func readSecretFile(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("cannot read the file: %w", err)
	}
	if perm := fi.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 {
		return "", fmt.Errorf("%s has mode %04o: group or others can read it; run chmod 600 %s", path, perm, path)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("cannot read the file: %w", err)
	}
	v := strings.TrimRight(string(b), "\r\n") // as secret("file:...") does
	if v == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return v, nil
}
