//go:build unix

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// dirEntries returns the names in dir.
// adoptNewFiles gives the files that appeared in dir since before to the
// directory's owner, when this runs as root in a directory that root does
// not own: file_storage creates the receiver's file 0600 when it is
// missing, and a file owned by root would keep a collector that runs as
// its own user from opening its storage.
func adoptNewFiles(dir string, before map[string]bool) error {
	if os.Geteuid() != 0 || before == nil {
		return nil
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st.Uid == 0 {
		return nil
	}
	var errs []error
	for name := range dirEntries(dir) {
		if before[name] {
			continue
		}
		path := filepath.Join(dir, name)
		if err := os.Lchown(path, int(st.Uid), int(st.Gid)); err != nil {
			errs = append(errs, fmt.Errorf("giving %s to the directory's owner (uid %d): %w", path, st.Uid, err))
		}
	}
	return errors.Join(errs...)
}
