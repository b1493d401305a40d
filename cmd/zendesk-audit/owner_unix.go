//go:build unix

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// adoptFile gives path, a file this command created in dir, to the
// directory's owner, when this runs as root in a directory that root does
// not own: file_storage creates the receiver's file 0600 when it is
// missing, and a file owned by root would keep a collector that runs as
// its own user from opening its storage. No other file is touched.
func adoptFile(dir, path string) error {
	if os.Geteuid() != 0 {
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
	if err := os.Lchown(path, int(st.Uid), int(st.Gid)); err != nil {
		return fmt.Errorf("giving %s to the directory's owner (uid %d): %w", path, st.Uid, err)
	}
	return nil
}

// lockedFiles returns the names of the files in dir that another open file
// holds an exclusive lock on: file_storage (bbolt) locks each of its files
// with flock for as long as a collector has it open. Each file is only
// tried, never waited for, and let go at once.
func lockedFiles(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var held []string
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
		if errors.Is(err, syscall.EWOULDBLOCK) {
			held = append(held, e.Name())
		} else if err == nil {
			_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		}
		f.Close()
	}
	return held
}
