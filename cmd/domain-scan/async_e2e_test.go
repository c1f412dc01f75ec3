package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/domainscan/domain-scan/internal/lab"
)

var runIDPattern = regexp.MustCompile(`asynchronous run ([0-9a-f-]{36})`)

// TestAsyncMatchesLocal: `scan --lambda --async` through the real bootstrap
// under the emulator, with results written by the function to a local S3
// server, gives (after collect) the same rows as a local run — for pshtt
// and trustymail and for sslyze, whose batches are prepared from theirs.
// A detached run finished by `collect --wait` gives them too.
func TestAsyncMatchesLocal(t *testing.T) {
	st := startS3(t, "async-bucket")
	endpoint := startRIE(t, 60*time.Second)
	awsEnv(t, endpoint)
	t.Setenv("DOMAIN_SCAN_ASYNC_POLL", "50ms")
	var scenarios []*lab.Scenario
	for _, sc := range lab.Catalogue() {
		if sc.Expect["sslyze"] != nil && !strings.Contains(sc.Domain, "stall") && !strings.Contains(sc.Domain, "timeout") && len(scenarios) < 12 {
			scenarios = append(scenarios, sc)
		}
	}
	l, dir, in := labList(t, scenarios)
	scanners := []string{"pshtt", "trustymail", "sslyze"}
	common := append([]string{"scan", in, "--scan=" + strings.Join(scanners, ","), "-q", "--timeout=3", "--smtp-timeout=2",
		"--hsts-preload-list=" + l.PreloadURL, "--hsts-preload-pending=" + l.PendingURL}, l.ScanFlags()...)
	local := filepath.Join(dir, "local")
	if code, _, stderr := runCLI(t, append(common, "--output", local)...); code != 0 {
		t.Fatalf("local scan: %d\n%s", code, stderr)
	}
	async := append(common, "--lambda", "--async", "--lambda-function=function", "--serial", "--lambda-batch=5", "--async-deadline=90s")
	compare := func(prefix string) {
		t.Helper()
		for _, s := range scanners {
			a, _ := os.ReadFile(filepath.Join(local, "results", s+".csv"))
			b := getObject(t, st, prefix+"/results/"+s+".csv")
			if sortedLines(string(a)) != sortedLines(b) {
				t.Errorf("%s.csv differs between local and async:\nlocal:\n%s\nasync:\n%s", s, sortedLines(string(a)), sortedLines(b))
			}
		}
	}

	code, _, stderr := runCLI(t, append(async, "--output", "s3://async-bucket/full/")...)
	if code != 0 {
		t.Fatalf("async scan: %d\n%s", code, stderr)
	}
	compare("full")
	m := runIDPattern.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no run id in:\n%s", stderr)
	}
	var batches []string
	st.List(context.Background(), "full/"+m[1]+"/pshtt/", func(k string) error { batches = append(batches, k); return nil })
	if want := (len(scenarios) + 4) / 5; len(batches) != want {
		t.Errorf("%d pshtt batch objects, want %d: %v", len(batches), want, batches)
	}

	// Detached: only the independent scanners' batches go out; collect
	// --wait sends sslyze's as their inputs are there, then collects.
	code, _, stderr = runCLI(t, append(async, "--output", "s3://async-bucket/detached/", "--detach")...)
	if code != 0 || !strings.Contains(stderr, "domain-scan collect s3://async-bucket/detached/") {
		t.Fatalf("detached scan: %d\n%s", code, stderr)
	}
	m = runIDPattern.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no run id in:\n%s", stderr)
	}
	if code, _, stderr := runCLI(t, "collect", "s3://async-bucket/detached/"+m[1], "--wait", "--deadline=90s", "-q", "--serial"); code != 0 {
		t.Fatalf("collect --wait: %d\n%s", code, stderr)
	}
	compare("detached")
}
