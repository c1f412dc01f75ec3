package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/domainscan/domain-scan/internal/objstore"
	"github.com/domainscan/domain-scan/internal/objstore/s3test"
)

// startS3 serves an in-memory S3 for the test (objstore/s3test) and
// returns a store on the whole bucket for checking what was written.
func startS3(t *testing.T, bucket string) objstore.Store {
	t.Helper()
	s3test.Start(t)
	st, err := objstore.NewS3(context.Background(), "s3://"+bucket, objstore.S3Options{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func getObject(t *testing.T, st objstore.Store, key string) string {
	t.Helper()
	b, err := st.Get(context.Background(), key, 64<<20)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	return string(b)
}

// TestScanToS3: --output s3://… puts results, JSON lines, cache objects
// and meta.json in S3 (nothing under the working directory), with the same
// rows as a local run, and --cache reads the cache back from S3.
func TestScanToS3(t *testing.T) {
	bucket := startS3(t, "results-bucket")
	wd := t.TempDir()
	t.Chdir(wd)
	args := []string{"scan", "a.test,b.test,c.test", "--scan=noop", "--json", "-q", "--output"}
	if code, _, stderr := runCLI(t, append(args, "s3://results-bucket/runs/one/")...); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var keys []string
	bucket.List(context.Background(), "", func(k string) error { keys = append(keys, k); return nil })
	want := []string{"runs/one/cache/noop/a.test.json", "runs/one/cache/noop/b.test.json", "runs/one/cache/noop/c.test.json",
		"runs/one/results/meta.json", "runs/one/results/noop.csv", "runs/one/results/noop.jsonl"}
	if strings.Join(keys, " ") != strings.Join(want, " ") {
		t.Errorf("objects:\n%v\nwant\n%v", keys, want)
	}
	if entries, _ := os.ReadDir(wd); len(entries) != 0 {
		t.Errorf("the working directory got %d entries", len(entries))
	}
	local := filepath.Join(wd, "..", "local-"+filepath.Base(wd))
	if code, _, stderr := runCLI(t, append(args, local)...); code != 0 {
		t.Fatalf("local run: exit %d: %s", code, stderr)
	}
	defer os.RemoveAll(local)
	lb, _ := os.ReadFile(filepath.Join(local, "results", "noop.csv"))
	if got, want := sortedLines(getObject(t, bucket, "runs/one/results/noop.csv")), sortedLines(string(lb)); got != want {
		t.Errorf("S3 noop.csv:\n%s\nlocal:\n%s", got, want)
	}
	if got := getObject(t, bucket, "runs/one/cache/noop/a.test.json"); !strings.Contains(got, `"variable": "a.test"`) {
		t.Errorf("cache object: %s", got)
	}

	// Again with --cache: every domain from the S3 cache.
	if code, _, stderr := runCLI(t, append(args, "s3://results-bucket/runs/one/", "--cache")...); code != 0 {
		t.Fatalf("cached run: exit %d: %s", code, stderr)
	}
	var meta struct {
		Counts struct {
			Scanners map[string]struct {
				Cached int `json:"from_cache"`
			} `json:"scanners"`
		} `json:"counts"`
	}
	if err := json.Unmarshal([]byte(getObject(t, bucket, "runs/one/results/meta.json")), &meta); err != nil {
		t.Fatal(err)
	}
	if c := meta.Counts.Scanners["noop"].Cached; c != 3 {
		t.Errorf("%d domains from the S3 cache, want 3", c)
	}

	// Refusals.
	if code, _, stderr := runCLI(t, "scan", "a.test", "--scan=noop", "--sort", "--output", "s3://results-bucket/x"); code != 2 || !strings.Contains(stderr, "--sort") {
		t.Errorf("--sort with S3: exit %d: %s", code, stderr)
	}
}

func sortedLines(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\r\n")
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}
