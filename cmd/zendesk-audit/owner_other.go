//go:build !unix

package main

func dirEntries(string) map[string]bool { return nil }

func adoptNewFiles(string, map[string]bool) error { return nil }
