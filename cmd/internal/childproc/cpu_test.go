package childproc

import (
	"os"
	"runtime"
	"testing"
	"time"
)

func TestParseCPU(t *testing.T) {
	// A command name with a space and a parenthesis; utime 250, stime 31.
	stat := []byte("4242 (otel col) x) S 1 4242 4242 0 -1 4194560 7140 0 0 0 250 31 0 0 20 0 9 0 123 456 789")
	got, err := ParseCPU(stat)
	if err != nil {
		t.Fatal(err)
	}
	if want := 2810 * time.Millisecond; got != want {
		t.Fatalf("ParseCPU = %s, want %s", got, want)
	}
	for _, bad := range []string{"", "1 (x) S 1 2", "1 (x) S 1 2 3 4 5 6 7 8 9 10 u s"} {
		if _, err := ParseCPU([]byte(bad)); err == nil {
			t.Errorf("ParseCPU(%q) accepted it", bad)
		}
	}
}

func TestReadCPUOfThisProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc is Linux's")
	}
	if _, err := ReadCPU(os.Getpid()); err != nil {
		t.Fatal(err)
	}
}
