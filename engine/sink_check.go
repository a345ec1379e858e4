package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// checkSinkPath refuses to write a token where someone else could swap it
// or read it:
//
//   - the target is a symbolic link: whoever planted it chooses where the
//     token lands (the rename would replace the link, but a consumer reading
//     through a link the flow did not make is the same trap);
//   - the directory is group- or world-writable: another user can replace
//     the file between the write and its reader, or pre-create a link.
//     A sticky directory (like /tmp) is accepted only when the user running
//     tokenflow owns it: in someone else's sticky directory the owner can
//     still swap files, and in a shared /tmp other users pick names first.
//
// The check is on mode bits and owners, not on access(2): root may write
// everywhere, which says nothing about who else can.
func checkSinkPath(path string) error {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		target, _ := os.Readlink(path)
		return fmt.Errorf("%s is a symbolic link (to %s); a token is written only to a regular file: remove the link or write to the real path", path, target)
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // the write says so
		}
		return err
	}
	perm := fi.Mode().Perm()
	if perm&0o022 == 0 {
		return nil
	}
	if fi.Mode()&fs.ModeSticky != 0 && ownedByMe(fi) {
		return nil
	}
	who := "others"
	if perm&0o002 == 0 {
		who = "its group"
	}
	if fi.Mode()&fs.ModeSticky != 0 {
		perm |= 0o1000 // print it as chmod and ls spell it
	}
	return fmt.Errorf("directory %s has mode %04o: %s can write to it and could replace the token file; write to a directory only you can write to, or run chmod go-w %s", dir, perm, who, dir)
}
