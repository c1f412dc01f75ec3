package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as domain-scan when this variable is set, so tests
// can send real signals to a real process.
const asMain = "DOMAIN_SCAN_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asMain) == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func startCLI(t *testing.T, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), asMain+"=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &stderr
}

func dataRows(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\r\n"), "\r\n")
	rows := lines[1:]
	sort.Strings(rows)
	return rows
}

// TestSIGINTThenResume interrupts a real run half way with SIGINT, checks
// what it leaves, and resumes it with --cache.
func TestSIGINTThenResume(t *testing.T) {
	dir := t.TempDir()
	var list []string
	for i := range 200 {
		list = append(list, fmt.Sprintf("site%03d.gov", i))
	}
	in := filepath.Join(dir, "in.csv")
	if err := os.WriteFile(in, []byte("domain\n"+strings.Join(list, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	args := []string{"scan", in, "--scan=noop", "--noop-delay=50ms", "--workers=4", "--output", out}
	cmd, stderr := startCLI(t, args...)

	// Wait until some domains are cached, then interrupt.
	deadline := time.Now().Add(10 * time.Second)
	for {
		files, _ := filepath.Glob(filepath.Join(out, "cache", "noop", "*.json"))
		if len(files) >= 40 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no progress; stderr:\n%s", stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted {
		t.Fatalf("exit = %v, want %d; stderr:\n%s", err, exitInterrupted, stderr)
	}
	var meta map[string]any
	mb, err := os.ReadFile(filepath.Join(out, "results", "meta.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(mb, &meta); err != nil || meta["interrupted"] != true {
		t.Fatalf("meta.json after interrupt: %s (%v)", mb, err)
	}
	partial := dataRows(t, filepath.Join(out, "results", "noop.csv"))
	cached, _ := filepath.Glob(filepath.Join(out, "cache", "noop", "*.json"))
	if len(partial) == 0 || len(partial) >= 200 || len(partial) != len(cached) {
		t.Fatalf("after interrupt: %d rows, %d cache files (want equal, between 1 and 199)", len(partial), len(cached))
	}

	// Resume: the cached domains are not scanned again and the result equals
	// an uninterrupted run.
	resume := exec.Command(os.Args[0], append(args, "--cache", "--meta")...)
	resume.Env = append(os.Environ(), asMain+"=1")
	if b, err := resume.CombinedOutput(); err != nil {
		t.Fatalf("resume: %v\n%s", err, b)
	}
	rows := dataRows(t, filepath.Join(out, "results", "noop.csv"))
	if len(rows) != 200 {
		t.Fatalf("%d rows after resume, want 200", len(rows))
	}
	fromCache := 0
	for i, r := range rows {
		cells := strings.Split(r, ",")
		want := fmt.Sprintf("%s,%s,True,12345,%s", list[i], list[i], list[i])
		if strings.Join(cells[:5], ",") != want {
			t.Errorf("row %d = %q, want prefix %q", i, r, want)
		}
		if cells[6] == "" { // no start time: served from the cache
			fromCache++
		}
	}
	if fromCache != len(cached) {
		t.Errorf("%d rows came from the cache, want %d", fromCache, len(cached))
	}
}
