package main

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/domainscan/domain-scan/internal/lab"
)

func TestDemo(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := runCLI(t, "demo", "--output", dir, "--high-ports")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	n := len(lab.Catalogue())
	for _, want := range []string{"SCANNER", "noop", fmt.Sprintf("completed %d/%d", n, n), "analytics",
		fmt.Sprintf("participating %d/%d", (n+2)/3, n), "pshtt", "HTTPS enforced"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "--port-map=") {
		t.Errorf("demo on high ports does not say so:\n%s", stderr)
	}
	for _, f := range []string{"results/noop.csv", "results/analytics.csv", "results/meta.json", "lab-ca.pem", "lab-domains.csv"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("demo left no %s: %v", f, err)
		}
	}
}

func TestLabDomains(t *testing.T) {
	code, stdout, _ := runCLI(t, "lab", "domains")
	if code != 0 {
		t.Fatal(code)
	}
	recs, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if recs[0][0] != "Domain" || len(recs) < 41 {
		t.Fatalf("%d records, header %v", len(recs), recs[0])
	}
	for _, r := range recs[1:] {
		if !strings.HasSuffix(r[0], ".test") {
			t.Errorf("lab domain %q is not under the reserved .test", r[0])
		}
	}
	code, stdout, _ = runCLI(t, "lab", "domains", "--synthetic", "5")
	if code != 0 || strings.Count(stdout, "synth-") != 5 {
		t.Errorf("synthetic domains: %d %q", code, stdout)
	}
}

// TestLabServe starts `lab serve` as a real process, reads its KEY=value
// lines, scans the lab with them, and stops it with SIGINT.
func TestLabServe(t *testing.T) {
	cmd := exec.Command(os.Args[0], "lab", "serve", "--high-ports", "--dir", t.TempDir())
	cmd.Env = append(os.Environ(), asMain+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), "=")
		env[k] = v
		if k == "SCAN_FLAGS" {
			break
		}
	}
	for _, k := range []string{"DNS", "CA_FILE", "HSTS_PRELOAD_URL", "HSTS_PENDING_URL", "PORT_MAP", "DOMAINS"} {
		if _, ok := env[k]; !ok {
			t.Errorf("lab serve printed no %s", k)
		}
	}
	if env["PORT_MAP"] == "" || !strings.Contains(env["SCAN_FLAGS"], "--port-map=") {
		t.Errorf("high ports without a port map: %v", env)
	}
	// The flags it prints are accepted by scan.
	dir := t.TempDir()
	args := append([]string{"scan", "a.test", "--scan=noop", "--output", dir, "-q"}, strings.Fields(env["SCAN_FLAGS"])...)
	if code, _, stderr := runCLI(t, args...); code != 0 {
		t.Errorf("scan with the lab's flags: exit %d: %s", code, stderr)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		if err != nil {
			t.Errorf("lab serve exited with %v after SIGINT", err)
		}
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		t.Fatal("lab serve did not stop on SIGINT")
	}
}
