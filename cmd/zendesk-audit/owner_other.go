//go:build !unix

package main

func adoptFile(string, string) error { return nil }

// lockedFiles finds nothing here: a running collector's lock is met when
// the storage is opened (errLocked after --storage-timeout).
func lockedFiles(string) []string { return nil }
