package awslambda

import (
	"archive/zip"
	"bytes"
	"context"
	"debug/elf"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/domainscan/domain-scan/internal/scan"
)

// deployServer stands in for the Lambda control plane (restJson1 over HTTP):
// it records every call and answers as the real API does, including the
// Pending/InProgress states that the waiters must sit out.
type deployServer struct {
	mu    sync.Mutex
	calls []deployCall
	fns   map[string]map[string]any // FunctionConfiguration by name
	// busy counts the GetFunction answers still to report in progress.
	busy map[string]int
}

type deployCall struct {
	Method, Path string
	Body         map[string]any
}

func (c deployCall) String() string { return c.Method + " " + c.Path }

func newDeployServer() *deployServer {
	return &deployServer{fns: map[string]map[string]any{}, busy: map[string]int{}}
}

const deployBase = "/2015-03-31/functions"

func (f *deployServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var body map[string]any
	if b, _ := io.ReadAll(r.Body); len(b) > 0 {
		if err := json.Unmarshal(b, &body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	}
	f.calls = append(f.calls, deployCall{r.Method, r.URL.Path, body})

	if r.Method == http.MethodPut && (strings.HasPrefix(r.URL.Path, "/2017-10-31/functions/") && strings.HasSuffix(r.URL.Path, "/concurrency") ||
		strings.HasPrefix(r.URL.Path, "/2019-09-25/functions/") && strings.HasSuffix(r.URL.Path, "/event-invoke-config")) {
		deployJSON(w, http.StatusOK, body)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, deployBase)
	if !ok {
		http.NotFound(w, r)
		return
	}
	name, sub, _ := strings.Cut(strings.TrimPrefix(rest, "/"), "/")
	cfg := f.fns[name]
	switch {
	case r.Method == http.MethodPost && rest == "":
		name, _ := body["FunctionName"].(string)
		if _, exists := f.fns[name]; exists {
			deployError(w, http.StatusConflict, "ResourceConflictException", "Function already exist: "+name)
			return
		}
		cfg = map[string]any{"FunctionName": name, "State": "Pending", "StateReasonCode": "Creating"}
		for _, k := range []string{"Runtime", "Role", "Handler", "Timeout", "MemorySize", "Architectures", "PackageType"} {
			cfg[k] = body[k]
		}
		f.fns[name] = cfg
		f.busy[name] = 1
		deployJSON(w, http.StatusCreated, cfg)
	case cfg == nil:
		deployError(w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+name)
	case r.Method == http.MethodGet && sub == "":
		if f.busy[name] > 0 {
			f.busy[name]--
		} else {
			cfg["State"], cfg["LastUpdateStatus"] = "Active", "Successful"
		}
		deployJSON(w, http.StatusOK, map[string]any{
			"Configuration": cfg,
			"Code":          map[string]any{"RepositoryType": "S3", "Location": "https://example.invalid/code.zip"},
		})
	case r.Method == http.MethodPut && (sub == "code" || sub == "configuration"):
		for k, v := range body {
			if k != "ZipFile" {
				cfg[k] = v
			}
		}
		cfg["LastUpdateStatus"] = "InProgress"
		f.busy[name] = 1
		deployJSON(w, http.StatusOK, cfg)
	default:
		http.NotFound(w, r)
	}
}

func deployJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func deployError(w http.ResponseWriter, code int, typ, msg string) {
	w.Header().Set("X-Amzn-Errortype", typ)
	deployJSON(w, code, map[string]string{"Type": "User", "Message": msg})
}

// sequence is the calls as "METHOD path", GetFunction polls included.
func (f *deployServer) sequence() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var s []string
	for _, c := range f.calls {
		s = append(s, c.String())
	}
	return s
}

func (f *deployServer) call(i int) deployCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[i]
}

// deployTestEnv points the standard AWS configuration at url with static
// credentials, and away from any real profile or instance metadata.
func deployTestEnv(t *testing.T, url string) {
	t.Helper()
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_LAMBDA":     url,
		"AWS_ENDPOINT_URL":            "",
		"AWS_ACCESS_KEY_ID":           "AKIDTEST",
		"AWS_SECRET_ACCESS_KEY":       "secret",
		"AWS_SESSION_TOKEN":           "",
		"AWS_REGION":                  "us-east-1",
		"AWS_PROFILE":                 "",
		"AWS_CONFIG_FILE":             filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_CA_BUNDLE":               "",
	} {
		t.Setenv(k, v)
	}
}

func testDeployer(t *testing.T) *Deployer {
	t.Helper()
	client, err := NewDeployClient(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	return &Deployer{Client: client, MinDelay: 5 * time.Millisecond, MaxWait: 10 * time.Second}
}

// tinyDeployModule is a stand-in source tree with this module's path and a
// trivial ./cmd/domain-scan: BuildBootstrap's flags and environment are
// tested on it in seconds instead of compiling the whole module.
func tinyDeployModule(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	main := "package main\n\nvar version = \"dev\"\n\nfunc main() { println(version) }\n"
	if err := os.MkdirAll(filepath.Join(dir, "cmd", "domain-scan"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{
		"go.mod":                  "module " + deployModulePath + " // this module\n\ngo 1.26\n",
		"cmd/domain-scan/main.go": main,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// The real bootstrap is built once per test binary: a cross-compile of the
// whole module takes half a minute or more on a small machine.
var realBootstrap struct {
	once sync.Once
	bin  []byte
	took time.Duration
	err  error
}

const deployTestVersion = "v0.0.0-deploytest"

func realBootstrapARM64(t *testing.T) []byte {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the whole module for linux/arm64")
	}
	realBootstrap.once.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		src, err := FindSourceTree(filepath.Dir(file))
		if err != nil {
			realBootstrap.err = err
			return
		}
		start := time.Now()
		realBootstrap.bin, realBootstrap.err = BuildBootstrap(context.Background(), src, "arm64", deployTestVersion)
		realBootstrap.took = time.Since(start)
	})
	if realBootstrap.err != nil {
		t.Fatal(realBootstrap.err)
	}
	return realBootstrap.bin
}

// checkBootstrapZip asserts that z holds only an executable "bootstrap"
// that is a Linux ELF for machine, and returns the binary.
func checkBootstrapZip(t *testing.T, z []byte, machine elf.Machine) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != 1 || zr.File[0].Name != "bootstrap" {
		var names []string
		for _, f := range zr.File {
			names = append(names, f.Name)
		}
		t.Fatalf("zip entries = %q, want [bootstrap]", names)
	}
	if m := zr.File[0].Mode(); m != 0o755 {
		t.Errorf("bootstrap mode = %v, want -rwxr-xr-x", m)
	}
	rc, err := zr.File[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	ef, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		t.Fatalf("bootstrap is not ELF: %v", err)
	}
	if ef.Machine != machine || ef.Class != elf.ELFCLASS64 || ef.Type != elf.ET_EXEC {
		t.Errorf("bootstrap is %v %v %v, want %v ELFCLASS64 ET_EXEC", ef.Machine, ef.Class, ef.Type, machine)
	}
	return bin
}

// uploadedZip decodes the base64 ZipFile that the SDK put in a JSON body.
func uploadedZip(t *testing.T, body map[string]any, key ...string) []byte {
	t.Helper()
	var v any = body
	for _, k := range key {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	s, _ := v.(string)
	z, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(z) == 0 {
		t.Fatalf("no base64 zip at %v: %v", key, err)
	}
	return z
}

func wantDeployCalls(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("calls:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestDeployCreate(t *testing.T) {
	bin := realBootstrapARM64(t)
	z, err := ZipBootstrap(bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("bootstrap linux/arm64: built in %v, %.1f MB, zip %.1f MB",
		realBootstrap.took.Round(100*time.Millisecond), float64(len(bin))/(1<<20), float64(len(z))/(1<<20))
	if !bytes.Contains(bin, []byte(deployTestVersion)) {
		t.Errorf("bootstrap does not carry -X main.version=%s", deployTestVersion)
	}

	fake := newDeployServer()
	srv := httptest.NewServer(fake)
	defer srv.Close()
	deployTestEnv(t, srv.URL)
	d := testDeployer(t)

	info := scan.Info{Name: "pshtt", Lambda: true, LambdaTimeout: 5 * time.Minute, LambdaMemoryMB: 512}
	fn := NewFunctionSpec(info, "task_{scanner}", "arm64", "arn:aws:iam::123456789012:role/domain-scan-lambda")
	line, err := d.Deploy(context.Background(), fn, z, true)
	if err != nil {
		t.Fatal(err)
	}
	if want := "task_pshtt: created (arm64, 512 MB, 300 s)"; line != want {
		t.Errorf("summary = %q, want %q", line, want)
	}
	// Created Pending, polled once while Pending, then Active.
	wantDeployCalls(t, fake.sequence(),
		"POST "+deployBase,
		"GET "+deployBase+"/task_pshtt",
		"GET "+deployBase+"/task_pshtt")

	body := fake.call(0).Body
	for k, want := range map[string]any{
		"FunctionName": "task_pshtt",
		"Runtime":      "provided.al2023",
		"Handler":      "bootstrap",
		"Role":         "arn:aws:iam::123456789012:role/domain-scan-lambda",
		"Timeout":      300.0,
		"MemorySize":   512.0,
		"PackageType":  "Zip",
	} {
		if body[k] != want {
			t.Errorf("CreateFunction %s = %v, want %v", k, body[k], want)
		}
	}
	if a := fmt.Sprint(body["Architectures"]); a != "[arm64]" {
		t.Errorf("CreateFunction Architectures = %s, want [arm64]", a)
	}
	got := checkBootstrapZip(t, uploadedZip(t, body, "Code", "ZipFile"), elf.EM_AARCH64)
	if !bytes.Equal(got, bin) {
		t.Error("uploaded bootstrap differs from the built one")
	}

	// A second create is refused with a hint.
	if _, err := d.Deploy(context.Background(), fn, z, true); err == nil || !strings.Contains(err.Error(), "without --create") {
		t.Errorf("second create: err = %v, want the already-exists hint", err)
	}
}

func TestDeployUpdate(t *testing.T) {
	bin, err := BuildBootstrap(context.Background(), tinyDeployModule(t), "amd64", deployTestVersion)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(bin, []byte(deployTestVersion)) {
		t.Errorf("bootstrap does not carry -X main.version=%s", deployTestVersion)
	}
	z, err := ZipBootstrap(bin)
	if err != nil {
		t.Fatal(err)
	}

	fake := newDeployServer()
	// An existing function as the original's deploy left it.
	fake.fns["task_noop"] = map[string]any{
		"FunctionName": "task_noop", "Runtime": "python3.6", "Handler": "lambda_handler.handler",
		"Timeout": 900, "MemorySize": 128, "Architectures": []string{"x86_64"},
		"State": "Active", "LastUpdateStatus": "Successful",
	}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	deployTestEnv(t, srv.URL)
	d := testDeployer(t)

	info := scan.Info{Name: "noop", Lambda: true} // zero: the defaults
	fn := NewFunctionSpec(info, "task_{scanner}", "amd64", "")
	line, err := d.Deploy(context.Background(), fn, z, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := "task_noop: updated (x86_64, 256 MB, 60 s)"; line != want {
		t.Errorf("summary = %q, want %q", line, want)
	}
	wantDeployCalls(t, fake.sequence(),
		"PUT "+deployBase+"/task_noop/code",
		"GET "+deployBase+"/task_noop",
		"GET "+deployBase+"/task_noop",
		"PUT "+deployBase+"/task_noop/configuration",
		"GET "+deployBase+"/task_noop",
		"GET "+deployBase+"/task_noop")

	code := fake.call(0).Body
	if a := fmt.Sprint(code["Architectures"]); a != "[x86_64]" {
		t.Errorf("UpdateFunctionCode Architectures = %s, want [x86_64]", a)
	}
	got := checkBootstrapZip(t, uploadedZip(t, code, "ZipFile"), elf.EM_X86_64)
	if !bytes.Equal(got, bin) {
		t.Error("uploaded bootstrap differs from the built one")
	}

	conf := fake.call(3).Body
	for k, want := range map[string]any{
		"FunctionName": nil, // in the path, not the body
		"Runtime":      "provided.al2023",
		"Handler":      "bootstrap",
		"Timeout":      60.0,
		"MemorySize":   256.0,
		"Role":         nil, // not given: left as it is
	} {
		if conf[k] != want {
			t.Errorf("UpdateFunctionConfiguration %s = %v, want %v", k, conf[k], want)
		}
	}
}

// TestDeployAsyncSettings: --concurrency and --on-failure become the
// reserved concurrency and the asynchronous on-failure destination, after
// the code and configuration.
func TestDeployAsyncSettings(t *testing.T) {
	fake := newDeployServer()
	fake.fns["task_noop"] = map[string]any{"FunctionName": "task_noop", "State": "Active", "LastUpdateStatus": "Successful"}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	deployTestEnv(t, srv.URL)
	d := testDeployer(t)
	fn := NewFunctionSpec(scan.Info{Name: "noop", Lambda: true}, "task_{scanner}", "arm64", "")
	fn.Concurrency, fn.OnFailure = 1000, "arn:aws:s3:::failed-events"
	if _, err := d.Deploy(context.Background(), fn, []byte("zip"), false); err != nil {
		t.Fatal(err)
	}
	seq := fake.sequence()
	n := len(seq)
	if n < 2 || seq[n-2] != "PUT /2017-10-31/functions/task_noop/concurrency" || seq[n-1] != "PUT /2019-09-25/functions/task_noop/event-invoke-config" {
		t.Fatalf("calls end with %v", seq[max(0, n-3):])
	}
	if got := fake.call(n - 2).Body["ReservedConcurrentExecutions"]; got != 1000.0 {
		t.Errorf("reserved concurrency %v", got)
	}
	dest := fake.call(n - 1).Body["DestinationConfig"].(map[string]any)["OnFailure"].(map[string]any)["Destination"]
	if dest != "arn:aws:s3:::failed-events" || fake.call(n - 1).Body["MaximumRetryAttempts"] != 2.0 {
		t.Errorf("event invoke config %v", fake.call(n-1).Body)
	}
}

func TestDeployUpdateMissingFunction(t *testing.T) {
	fake := newDeployServer()
	srv := httptest.NewServer(fake)
	defer srv.Close()
	deployTestEnv(t, srv.URL)
	z, _ := ZipBootstrap([]byte("not really a binary"))
	fn := NewFunctionSpec(scan.Info{Name: "noop"}, "task_{scanner}", "arm64", "")
	_, err := testDeployer(t).Deploy(context.Background(), fn, z, false)
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), "--create") {
		t.Errorf("err = %v, want ResourceNotFoundException with the --create hint", err)
	}
	wantDeployCalls(t, fake.sequence(), "PUT "+deployBase+"/task_noop/code")
}

func TestConfigure(t *testing.T) {
	fake := newDeployServer()
	fake.fns["task_pshtt"] = map[string]any{
		"FunctionName": "task_pshtt", "Timeout": 300, "MemorySize": 512, "Architectures": []string{"arm64"},
		"State": "Active", "LastUpdateStatus": "Successful",
	}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	deployTestEnv(t, srv.URL)
	fn := NewFunctionSpec(scan.Info{Name: "pshtt"}, "task_{scanner}", "", "")
	fn.Timeout, fn.MemoryMB = 90500*time.Millisecond, 1024 // 90.5 s rounds up
	line, err := testDeployer(t).Configure(context.Background(), fn)
	if err != nil {
		t.Fatal(err)
	}
	if want := "task_pshtt: configured (arm64, 1024 MB, 91 s)"; line != want {
		t.Errorf("summary = %q, want %q", line, want)
	}
	wantDeployCalls(t, fake.sequence(),
		"PUT "+deployBase+"/task_pshtt/configuration",
		"GET "+deployBase+"/task_pshtt",
		"GET "+deployBase+"/task_pshtt")
	body := fake.call(0).Body
	if len(body) != 2 || body["Timeout"] != 91.0 || body["MemorySize"] != 1024.0 {
		t.Errorf("UpdateFunctionConfiguration body = %v, want only Timeout 91 and MemorySize 1024", body)
	}
}

// The SDK refuses a custom CA bundle on an HTTP client it did not build;
// the client must work with AWS_CA_BUNDLE set, and must actually trust it.
func TestDeployClientCABundle(t *testing.T) {
	fake := newDeployServer()
	fake.fns["task_noop"] = map[string]any{"FunctionName": "task_noop", "State": "Active", "LastUpdateStatus": "Successful"}
	srv := httptest.NewUnstartedServer(fake)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the failed handshakes below
	srv.StartTLS()
	defer srv.Close()
	deployTestEnv(t, srv.URL)

	bundle := filepath.Join(t.TempDir(), "ca.pem")
	pemCert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(bundle, pemCert, 0o644); err != nil {
		t.Fatal(err)
	}

	fn := NewFunctionSpec(scan.Info{Name: "noop"}, "task_{scanner}", "arm64", "")
	t.Run("bundle trusted", func(t *testing.T) {
		t.Setenv("AWS_CA_BUNDLE", bundle)
		if _, err := testDeployer(t).Configure(context.Background(), fn); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("no bundle", func(t *testing.T) {
		// The test server's CA is in no system store: the handshake fails,
		// which shows the bundle above was what made it work.
		t.Setenv("AWS_CA_BUNDLE", "")
		client, err := NewDeployClient(context.Background(), "")
		if err != nil {
			t.Fatal(err)
		}
		d := &Deployer{Client: client, MinDelay: time.Millisecond, MaxWait: time.Second}
		if _, err := d.Configure(context.Background(), fn); err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("err = %v, want a certificate error", err)
		}
	})
}

func TestBuildBootstrapErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := BuildBootstrap(ctx, t.TempDir(), "mips", "v1"); err == nil || !strings.Contains(err.Error(), "mips") {
		t.Errorf("arch mips: err = %v", err)
	}
	if _, err := BuildBootstrap(ctx, t.TempDir(), "arm64", "v1 x"); err == nil || !strings.Contains(err.Error(), "spaces") {
		t.Errorf("version with a space: err = %v", err)
	}
	// A directory without the module: go build's own message is passed on.
	if _, err := BuildBootstrap(ctx, t.TempDir(), "arm64", "v1"); err == nil || !strings.Contains(err.Error(), "go build in") {
		t.Errorf("empty dir: err = %v", err)
	}
}

func TestZipBootstrapDeterministic(t *testing.T) {
	a, err := ZipBootstrap([]byte("\x7fELF same"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := ZipBootstrap([]byte("\x7fELF same"))
	if !bytes.Equal(a, b) {
		t.Error("the same binary gave different zips (CodeSha256 would change on every deploy)")
	}
}

func TestFindSourceTree(t *testing.T) {
	root := tinyDeployModule(t)
	deep := filepath.Join(root, "cmd", "domain-scan")
	got, err := FindSourceTree(deep)
	if err != nil || got != root {
		t.Errorf("FindSourceTree(%s) = %q, %v; want %q", deep, got, err, root)
	}

	// Another module in between is skipped; none at all is an error
	// that tells what to do.
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "go.mod"), []byte("module example.com/other\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := FindSourceTree(other); err == nil || !strings.Contains(err.Error(), "--source") {
		t.Errorf("FindSourceTree(other module) err = %v, want a --source hint", err)
	}
}

func TestFunctionSpec(t *testing.T) {
	fn := NewFunctionSpec(scan.Info{Name: "pshtt", LambdaTimeout: 5 * time.Minute, LambdaMemoryMB: 512}, "scan-{scanner}-prod", "arm64", "")
	if fn.Name != "scan-pshtt-prod" || fn.Timeout != 5*time.Minute || fn.MemoryMB != 512 {
		t.Errorf("spec = %+v", fn)
	}
	bad := []FunctionSpec{
		{Name: "task.noop", Arch: "arm64", Timeout: time.Minute, MemoryMB: 256},
		{Name: "task_noop", Arch: "386", Timeout: time.Minute, MemoryMB: 256},
		{Name: "task_noop", Arch: "arm64", Timeout: 16 * time.Minute, MemoryMB: 256},
		{Name: "task_noop", Arch: "arm64", Timeout: time.Minute, MemoryMB: 64},
	}
	for _, fn := range bad {
		if err := fn.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", fn)
		}
	}
}
