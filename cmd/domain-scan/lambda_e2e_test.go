package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/domainscan/domain-scan/internal/lab"
	"github.com/domainscan/domain-scan/internal/lab/labtest"
)

// The end-to-end Lambda tests run the real bootstrap (this command, built
// with -tags lambda.norpc) under the official Lambda Runtime Interface
// Emulator, and `scan --lambda` through the AWS SDK with
// AWS_ENDPOINT_URL_LAMBDA.

func findRIE(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("AWS_LAMBDA_RIE"); p != "" {
		return p
	}
	if p, err := exec.LookPath("aws-lambda-rie"); err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatal("aws-lambda-rie is not installed (.ci/run installs it)")
	}
	t.Skip("aws-lambda-rie not installed: GOBIN=~/go/bin go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d")
	return ""
}

var (
	bootstrapOnce sync.Once
	bootstrapPath string
	bootstrapErr  error
)

func buildBootstrap(t *testing.T) string {
	t.Helper()
	bootstrapOnce.Do(func() {
		dir, err := os.MkdirTemp("", "domain-scan-bootstrap-")
		if err != nil {
			bootstrapErr = err
			return
		}
		bootstrapPath = filepath.Join(dir, "bootstrap")
		cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", bootstrapPath, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			bootstrapErr = fmt.Errorf("build bootstrap: %v\n%s", err, out)
		}
	})
	if bootstrapErr != nil {
		t.Fatal(bootstrapErr)
	}
	return bootstrapPath
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startRIE runs the emulator (classic mode: one invocation at a time) on
// loopback and returns its endpoint.
func startRIE(t *testing.T, timeout time.Duration) string {
	t.Helper()
	rie, bootstrap := findRIE(t), buildBootstrap(t)
	invoke, runtimeAPI := freePort(t), freePort(t)
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", fmt.Sprintf("127.0.0.1:%d", invoke),
		"--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", runtimeAPI), bootstrap)
	cmd.Env = append(os.Environ(), fmt.Sprintf("AWS_LAMBDA_FUNCTION_TIMEOUT=%d", int(timeout.Seconds())),
		"AWS_LAMBDA_FUNCTION_NAME=function", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=512")
	logs := &strings.Builder{}
	var mu sync.Mutex
	cmd.Stdout, cmd.Stderr = lockedWriter{&mu, logs}, lockedWriter{&mu, logs}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			mu.Lock()
			t.Logf("emulator output:\n%s", logs.String())
			mu.Unlock()
		}
	})
	addr := fmt.Sprintf("127.0.0.1:%d", invoke)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the emulator did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return "http://" + addr
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *strings.Builder
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func awsEnv(t *testing.T, endpoint string) {
	t.Setenv("AWS_ENDPOINT_URL_LAMBDA", endpoint)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
}

// labList serves the scenarios from a lab and writes their domains to an
// input CSV in a fresh directory; it returns the lab, the directory and
// the CSV's path.
func labList(t *testing.T, scenarios []*lab.Scenario) (l *labtest.Lab, dir, in string) {
	t.Helper()
	l = labtest.Start(t, scenarios...)
	dir = t.TempDir()
	in = filepath.Join(dir, "in.csv")
	if err := os.WriteFile(in, []byte("Domain\n"+strings.Join(l.Domains(), "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return l, dir, in
}

// localAndLambda runs the scan args twice, into dir/local and, through
// the emulator, into dir/lambda, and returns the two output directories.
func localAndLambda(t *testing.T, dir string, args []string) (local, remote string) {
	t.Helper()
	local, remote = filepath.Join(dir, "local"), filepath.Join(dir, "lambda")
	if code, _, stderr := runCLI(t, append(slices.Clip(args), "--output", local)...); code != 0 {
		t.Fatalf("local scan: %d\n%s", code, stderr)
	}
	if code, _, stderr := runCLI(t, append(slices.Clip(args), "--output", remote, "--lambda", "--lambda-function=function", "--serial")...); code != 0 {
		t.Fatalf("lambda scan: %d\n%s", code, stderr)
	}
	return local, remote
}

// sameResults requires results/<file> to be identical in both outputs and
// returns the local one.
func sameResults(t *testing.T, local, remote, file string) string {
	t.Helper()
	a, _ := os.ReadFile(filepath.Join(local, "results", file))
	b, _ := os.ReadFile(filepath.Join(remote, "results", file))
	if len(a) == 0 || string(a) != string(b) {
		t.Errorf("%s differs between local and Lambda:\nlocal:\n%s\nlambda:\n%s", file, a, b)
	}
	return string(a)
}

// TestLambdaMatchesLocal scans lab domains with pshtt and noop locally and
// through the emulator, and requires identical results files.
func TestLambdaMatchesLocal(t *testing.T) {
	endpoint := startRIE(t, 60*time.Second)
	awsEnv(t, endpoint)
	var scenarios []*lab.Scenario
	for _, sc := range lab.Catalogue() {
		if sc.Expect["pshtt"] != nil && !strings.Contains(sc.Summary, "never") && !strings.Contains(sc.Domain, "stall") &&
			!strings.Contains(sc.Domain, "trickle") && len(scenarios) < 12 {
			scenarios = append(scenarios, sc)
		}
	}
	l, dir, in := labList(t, scenarios)
	common := append([]string{"scan", in, "--scan=pshtt,noop", "--sort", "-q",
		"--hsts-preload-list=" + l.PreloadURL, "--hsts-preload-pending=" + l.PendingURL}, l.ScanFlags()...)
	local, remote := localAndLambda(t, dir, common)
	for _, f := range []string{"pshtt.csv", "noop.csv"} {
		sameResults(t, local, remote, f)
	}
	batched := filepath.Join(dir, "batched")
	// Batched, with --meta: the Lambda columns are filled on every row.
	if code, _, stderr := runCLI(t, append(common, "--output", batched, "--lambda", "--lambda-function=function",
		"--serial", "--lambda-batch=4", "--meta")...); code != 0 {
		t.Fatalf("batched lambda scan: %d\n%s", code, stderr)
	}
	b, _ := os.ReadFile(filepath.Join(batched, "results", "pshtt.csv"))
	lines := strings.Split(strings.TrimSuffix(string(b), "\r\n"), "\r\n")
	header := strings.Split(lines[0], ",")
	if header[len(header)-7] != "Lambda Request ID" {
		t.Fatalf("header: %v", header)
	}
	for _, line := range lines[1:] {
		cells := strings.Split(line, ",")
		if len(cells) < len(header) || cells[len(cells)-7] == "" {
			t.Errorf("row without a Lambda request id: %s", line)
		}
	}
}

// TestLambdaTrustymailMatchesLocal: trustymail through the emulator gives
// the local run's rows, with the mail servers' results of earlier domains
// travelling with later jobs (the fast cache).
func TestLambdaTrustymailMatchesLocal(t *testing.T) {
	endpoint := startRIE(t, 60*time.Second)
	awsEnv(t, endpoint)
	var scenarios []*lab.Scenario
	for _, sc := range lab.Catalogue() {
		if sc.Expect["trustymail"] != nil && !strings.Contains(sc.Domain, "timeout") {
			scenarios = append(scenarios, sc)
		}
	}
	l, dir, in := labList(t, scenarios)
	common := append([]string{"scan", in, "--scan=trustymail", "--sort", "-q", "--timeout=3", "--smtp-timeout=2"}, l.ScanFlags()...)
	local, remote := localAndLambda(t, dir, common)
	if n := strings.Count(sameResults(t, local, remote, "trustymail.csv"), "\n"); n != len(scenarios)+1 {
		t.Errorf("local trustymail.csv has %d lines for %d domains", n, len(scenarios))
	}
}

// TestLambdaSslyzeMatchesLocal: pshtt, trustymail and sslyze through the
// emulator (sslyze's endpoints prepared locally from the other two's
// cache) give the local run's rows.
func TestLambdaSslyzeMatchesLocal(t *testing.T) {
	endpoint := startRIE(t, 60*time.Second)
	awsEnv(t, endpoint)
	var scenarios []*lab.Scenario
	for _, sc := range lab.Catalogue() {
		if sc.Expect["sslyze"] != nil && !strings.Contains(sc.Domain, "stall") && !strings.Contains(sc.Domain, "timeout") && len(scenarios) < 14 {
			scenarios = append(scenarios, sc)
		}
	}
	l, dir, in := labList(t, scenarios)
	common := append([]string{"scan", in, "--scan=pshtt,trustymail,sslyze", "--sort", "-q", "--timeout=3", "--smtp-timeout=2",
		"--hsts-preload-list=" + l.PreloadURL, "--hsts-preload-pending=" + l.PendingURL}, l.ScanFlags()...)
	local, remote := localAndLambda(t, dir, common)
	if n := strings.Count(sameResults(t, local, remote, "sslyze.csv"), "\n"); n < len(scenarios)/2 {
		t.Errorf("local sslyze.csv has %d lines for %d domains", n, len(scenarios))
	}
}

// TestLambdaFunctionTimeout: scans that cannot finish in the function's
// time still end as rows, marked as timed out.
func TestLambdaFunctionTimeout(t *testing.T) {
	endpoint := startRIE(t, 3*time.Second)
	awsEnv(t, endpoint)
	dir := t.TempDir()
	code, _, stderr := runCLI(t, "scan", "a.test,b.test", "--scan=noop", "--noop-delay=30", "--lambda",
		"--lambda-function=function", "--serial", "--meta", "--output", dir, "-q")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "results", "noop.csv"))
	lines := strings.Split(strings.TrimSuffix(string(b), "\r\n"), "\r\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines:\n%s", len(lines), b)
	}
	for _, line := range lines[1:] {
		if !strings.Contains(line, "deadline") {
			t.Errorf("row without the timeout: %s", line)
		}
	}
}
