package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestLambdaUsageErrors(t *testing.T) {
	t.Setenv("AWS_LAMBDA_ROLE", "")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"lambda", "deploy", "nope"}, `unknown scanner "nope"`},
		{[]string{"lambda", "deploy", "analytics"}, `scanner "analytics" does not run in Lambda`},
		{[]string{"lambda", "deploy", "noop", "--arch", "386"}, `architecture "386"`},
		{[]string{"lambda", "deploy", "noop", "--create"}, "--role ARN or $AWS_LAMBDA_ROLE"},
		{[]string{"lambda", "deploy", "noop", "pshtt", "--function", "one"}, "would share the function one"},
		{[]string{"lambda", "deploy"}, "at least one scanner"},
		{[]string{"lambda", "configure", "analytics"}, `"analytics" does not run in Lambda`},
		{[]string{"lambda", "configure", "noop", "--memory", "64"}, "128 to 10240 MB"},
		{[]string{"lambda", "configure", "noop", "--timeout", "1h"}, "15 min"},
		{[]string{"lambda", "event", "nope", "a.gov"}, `unknown scanner "nope"`},
		{[]string{"lambda", "event", "noop"}, "needs a domain"},
		{[]string{"lambda", "policy", "--document", "x"}, `--document "x"`},
		{[]string{"lambda", "frobnicate"}, `unknown lambda command "frobnicate"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, exitUsage, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout = %q", stdout)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.want)
			}
		})
	}
}

func TestLambdaEvent(t *testing.T) {
	code, stdout, stderr := runCLI(t, "lambda", "event", "noop", "example.com")
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	var ev map[string]any
	if err := json.Unmarshal([]byte(stdout), &ev); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	env, _ := ev["environment"].(map[string]any)
	if ev["scanner"] != "noop" || ev["domain"] != "example.com" || env["variable"] != "example.com" || env["scan_method"] != "lambda" {
		t.Errorf("event = %v", ev)
	}

	code, stdout, _ = runCLI(t, "lambda", "event", "pshtt", "--domains", "a.gov, b.gov")
	ev = nil
	if code != 0 || json.Unmarshal([]byte(stdout), &ev) != nil {
		t.Fatalf("exit %d, stdout:\n%s", code, stdout)
	}
	if d, _ := ev["domains"].([]any); len(d) != 2 || d[1] != "b.gov" {
		t.Errorf("batch event = %v", ev)
	}
}

func TestLambdaPolicy(t *testing.T) {
	code, stdout, stderr := runCLI(t, "lambda", "policy")
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	var docs map[string]struct {
		Version   string
		Statement []map[string]any
	}
	if err := json.Unmarshal([]byte(stdout), &docs); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	for _, k := range []string{"user_policy", "role_trust_policy", "role_policy"} {
		if docs[k].Version != "2012-10-17" || len(docs[k].Statement) == 0 {
			t.Errorf("%s = %+v", k, docs[k])
		}
	}
	if !strings.Contains(stdout, "arn:aws:lambda:*:*:function:task_*") || !strings.Contains(stdout, "logs:PutLogEvents") {
		t.Errorf("policies:\n%s", stdout)
	}

	_, stdout, _ = runCLI(t, "lambda", "policy", "--document", "trust")
	var trust map[string]any
	if err := json.Unmarshal([]byte(stdout), &trust); err != nil || !strings.Contains(stdout, "sts:AssumeRole") {
		t.Errorf("trust document: %v\n%s", err, stdout)
	}
}

// fakeLambdaAPI keeps each function's configuration as the deploy calls
// set it, always active and updated, and records "METHOD path" per call.
type fakeLambdaAPI struct {
	mu     sync.Mutex
	calls  []string
	bodies []map[string]any
	fns    map[string]map[string]any
}

func (f *fakeLambdaAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	b, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(b, &body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, r.Method+" "+r.URL.Path)
	f.bodies = append(f.bodies, body)
	if f.fns == nil {
		f.fns = map[string]map[string]any{}
	}
	rest := strings.TrimPrefix(r.URL.Path, "/2015-03-31/functions")
	name, _, _ := strings.Cut(strings.TrimPrefix(rest, "/"), "/")
	if r.Method == http.MethodPost {
		name, _ = body["FunctionName"].(string)
		f.fns[name] = map[string]any{"FunctionName": name}
	}
	cfg := f.fns[name]
	if cfg == nil {
		w.Header().Set("X-Amzn-Errortype", "ResourceNotFoundException")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"Message":"Function not found"}`)
		return
	}
	for k, v := range body {
		if k != "Code" && k != "ZipFile" {
			cfg[k] = v
		}
	}
	cfg["State"], cfg["LastUpdateStatus"] = "Active", "Successful"
	switch r.Method {
	case http.MethodPost:
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(cfg)
	case http.MethodGet:
		_ = json.NewEncoder(w).Encode(map[string]any{"Configuration": cfg})
	default:
		_ = json.NewEncoder(w).Encode(cfg)
	}
}

func lambdaCLIEnv(t *testing.T, url string) {
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_LAMBDA": url, "AWS_ENDPOINT_URL": "",
		"AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "",
		"AWS_REGION": "us-east-1", "AWS_PROFILE": "", "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_CONFIG_FILE": filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_LAMBDA_ROLE": "arn:aws:iam::123456789012:role/domain-scan-lambda",
	} {
		t.Setenv(k, v)
	}
}

// deploy end to end on a stand-in source tree (a trivial main with this
// module's path), so that the test compiles in seconds.
func TestLambdaDeployCLI(t *testing.T) {
	src := t.TempDir()
	if err := os.MkdirAll(filepath.Join(src, "cmd", "domain-scan"), 0o755); err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(filepath.Join(src, "go.mod"), []byte("module github.com/domainscan/domain-scan\n\ngo 1.26\n"), 0o644)
	_ = os.WriteFile(filepath.Join(src, "cmd", "domain-scan", "main.go"), []byte("package main\n\nvar version string\n\nfunc main() {}\n"), 0o644)

	fake := &fakeLambdaAPI{}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	lambdaCLIEnv(t, srv.URL)

	code, stdout, stderr := runCLI(t, "lambda", "deploy", "noop", "pshtt", "--create", "--arch", "amd64", "--source", src)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	if want := "task_noop: created (x86_64, 128 MB, 60 s)\ntask_pshtt: created (x86_64, 512 MB, 300 s)\n"; stdout != want {
		t.Errorf("stdout = %q, want %q", stdout, want)
	}
	if !strings.Contains(stderr, "Building bootstrap for linux/amd64") {
		t.Errorf("stderr = %q", stderr)
	}
	want := []string{
		"POST /2015-03-31/functions", "GET /2015-03-31/functions/task_noop",
		"POST /2015-03-31/functions", "GET /2015-03-31/functions/task_pshtt",
	}
	if strings.Join(fake.calls, "|") != strings.Join(want, "|") {
		t.Errorf("calls = %q, want %q", fake.calls, want)
	}
	if b := fake.bodies[2]; b["Timeout"] != 300.0 || b["MemorySize"] != 512.0 || b["Role"] != "arn:aws:iam::123456789012:role/domain-scan-lambda" {
		t.Errorf("pshtt CreateFunction body: Timeout %v MemorySize %v Role %v", b["Timeout"], b["MemorySize"], b["Role"])
	}

	fake.calls, fake.bodies = nil, nil
	code, stdout, stderr = runCLI(t, "lambda", "configure", "pshtt", "--timeout", "120", "--memory", "1024")
	if code != 0 {
		t.Fatalf("configure: exit %d, stderr:\n%s", code, stderr)
	}
	if stdout != "task_pshtt: configured (x86_64, 1024 MB, 120 s)\n" {
		t.Errorf("configure stdout = %q", stdout)
	}
	if len(fake.bodies) == 0 || fake.bodies[0]["Timeout"] != 120.0 || fake.bodies[0]["MemorySize"] != 1024.0 {
		t.Errorf("configure calls %q bodies %v", fake.calls, fake.bodies)
	}
}

func TestLambdaDeployNeedsSourceTree(t *testing.T) {
	lambdaCLIEnv(t, "http://127.0.0.1:1")
	t.Chdir(t.TempDir())
	code, _, stderr := runCLI(t, "lambda", "deploy", "noop")
	if code != exitUsage || !strings.Contains(stderr, "--source") {
		t.Errorf("exit %d, stderr = %q; want a usage error naming --source", code, stderr)
	}
}
