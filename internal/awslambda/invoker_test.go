package awslambda

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/domainscan/domain-scan/internal/cache"
	"github.com/domainscan/domain-scan/internal/engine"
	"github.com/domainscan/domain-scan/internal/scan"
	"github.com/domainscan/domain-scan/internal/scanners/all"
	"github.com/domainscan/domain-scan/internal/scanners/noop"
)

// invokeServer speaks the Lambda Invoke API (as the SDK calls it) and runs
// the real Handler, except for domains named after a fault.
type invokeServer struct {
	h        *Handler
	mu       sync.Mutex
	calls    map[string]int // by first domain of the event
	invokes  atomic.Int64
	inFlight atomic.Int64
	peak     atomic.Int64
	latency  time.Duration
}

func newInvokeServer() *invokeServer {
	return &invokeServer{h: NewHandler(all.Scanners, "test", nil), calls: map[string]int{}}
}

func (f *invokeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	for {
		p := f.peak.Load()
		if n <= p || f.peak.CompareAndSwap(p, n) {
			break
		}
	}
	w.Header().Set("X-Amzn-Requestid", fmt.Sprintf("req-%d", f.invokes.Add(1)))
	if !strings.HasSuffix(r.URL.Path, "/invocations") {
		http.Error(w, "not an invoke", http.StatusNotFound)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var req Request
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	first := req.Domain
	if first == "" && len(req.Domains) > 0 {
		first = req.Domains[0]
	}
	f.mu.Lock()
	f.calls[first]++
	call := f.calls[first]
	f.mu.Unlock()
	if f.latency > 0 {
		time.Sleep(f.latency)
	}
	switch {
	case strings.HasPrefix(first, "unhandled"):
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
		w.Write([]byte(`{"errorMessage":"runtime error: index out of range","errorType":"Runtime.ExitError"}`))
		return
	case strings.HasPrefix(first, "ripanic"): // the emulator answers a crash with 502
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadGateway)
		w.Write([]byte(`{"errorMessage":"exit status 2","errorType":"Runtime.ExitError"}`))
		return
	case strings.HasPrefix(first, "timeout"):
		w.Write([]byte("Task timed out after 1.00 seconds"))
		return
	case strings.HasPrefix(first, "garbled"):
		w.Write([]byte("{not json"))
		return
	case strings.HasPrefix(first, "empty"):
		w.Write([]byte("null"))
		return
	case strings.HasPrefix(first, "storm"), strings.HasPrefix(first, "throttled") && call <= 2:
		w.Header().Set("X-Amzn-ErrorType", "TooManyRequestsException")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write([]byte(`{"message":"Rate Exceeded.","Reason":"ReservedFunctionConcurrentInvocationLimitExceeded","Type":"User"}`))
		return
	}
	resp, err := f.h.Handle(r.Context(), req)
	if err != nil {
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
		json.NewEncoder(w).Encode(map[string]string{"errorMessage": err.Error(), "errorType": "errorString"})
		return
	}
	json.NewEncoder(w).Encode(resp)
}

func testClient(t testing.TB, url string) InvokeAPI { return testClientFor(t, url, 100) }

// testClientFor is testClient sized for inFlight concurrent invocations.
func testClientFor(t testing.TB, url string, inFlight int) InvokeAPI {
	t.Helper()
	t.Setenv("AWS_ENDPOINT_URL_LAMBDA", url)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	c, err := NewClient(context.Background(), "", inFlight)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type list []string

func (l list) Len() int64 { return int64(len(l)) }
func (l list) Range(fn func(string) bool) error {
	for _, d := range l {
		if !fn(d) {
			break
		}
	}
	return nil
}

func runEngine(t *testing.T, dir string, inv *Invoker, domains list, meta bool) map[string][]string {
	t.Helper()
	e, err := engine.New(engine.Config{ResultsDir: filepath.Join(dir, "results"), Cache: cache.New(filepath.Join(dir, "cache")),
		Workers: 8, RunID: "run", Remote: inv, Meta: meta})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Run(context.Background(), []scan.Scanner{noop.New()}, domains); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "results", "noop.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][]string{}
	lines := strings.Split(strings.TrimSuffix(string(b), "\r\n"), "\r\n")
	for _, l := range lines[1:] {
		cells := strings.Split(l, ",")
		rows[cells[0]] = cells
	}
	rows["header"] = strings.Split(lines[0], ",")
	return rows
}

// TestFaults: every fault still gives each domain a row with its error,
// and retries are bounded.
func TestFaults(t *testing.T) {
	f := newInvokeServer()
	srv := httptest.NewServer(f)
	defer srv.Close()
	inv := NewInvoker(testClient(t, srv.URL), InvokerOptions{Function: "function", Retries: 1, ThrottleRetries: 3,
		BackoffBase: time.Millisecond, BackoffCap: 5 * time.Millisecond})
	domains := list{"ok.test", "unhandled.test", "ripanic.test", "timeout.test", "garbled.test", "empty.test",
		"storm.test", "throttled.test"}
	rows := runEngine(t, t.TempDir(), inv, domains, true)
	if got := len(rows) - 1; got != len(domains) {
		t.Fatalf("%d rows for %d domains", got, len(domains))
	}
	hdr := rows["header"]
	if hdr[len(hdr)-7] != "Lambda Request ID" || hdr[len(hdr)-1] != "Lambda Measured Duration" {
		t.Errorf("header lacks the Lambda columns: %v", hdr)
	}
	want := map[string]string{
		"unhandled.test": "Runtime.ExitError",
		"ripanic.test":   "Lambda error:",
		"timeout.test":   "garbled",
		"garbled.test":   "garbled",
		"empty.test":     "empty",
		"storm.test":     "TooManyRequests",
	}
	for d, msg := range want {
		r := rows[d]
		if r[2] != "" || !strings.Contains(strings.Join(r, ","), msg) {
			t.Errorf("%s row = %v, want blank data and an error mentioning %q", d, r, msg)
		}
	}
	for _, d := range []string{"ok.test", "throttled.test"} {
		if r := rows[d]; r[2] != "True" || r[4] != d {
			t.Errorf("%s row = %v", d, r)
		}
		if r := rows[d]; len(r) != len(hdr) || r[len(hdr)-7] == "" {
			t.Errorf("%s: no Lambda request id or ragged row: %v", d, r)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	// Function errors: 1 + --lambda-retries; throttling: 1 + ThrottleRetries.
	for d, n := range map[string]int{"unhandled.test": 2, "ripanic.test": 2, "garbled.test": 2, "storm.test": 4, "throttled.test": 3, "ok.test": 1} {
		if f.calls[d] != n {
			t.Errorf("%s invoked %d times, want %d", d, f.calls[d], n)
		}
	}
}

// TestBatchesEqualSingles: with --lambda-batch the rows are the same as
// one domain per invocation, in far fewer invocations.
func TestBatchesEqualSingles(t *testing.T) {
	var domains list
	for i := range 60 {
		domains = append(domains, "site"+string(rune('a'+i%26))+strings.Repeat("x", i/26)+".test")
	}
	results := map[int]map[string][]string{}
	invokes := map[int]int64{}
	for _, batch := range []int{1, 10} {
		f := newInvokeServer()
		srv := httptest.NewServer(f)
		inv := NewInvoker(testClient(t, srv.URL), InvokerOptions{Function: "function", Batch: batch})
		results[batch] = runEngine(t, t.TempDir(), inv, domains, false)
		inv.Close()
		invokes[batch] = f.invokes.Load()
		srv.Close()
	}
	var a, b []string
	for d, r := range results[1] {
		a = append(a, d+strings.Join(r, ","))
	}
	for d, r := range results[10] {
		b = append(b, d+strings.Join(r, ","))
	}
	sort.Strings(a)
	sort.Strings(b)
	if strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Errorf("batched rows differ:\n%v\n%v", a, b)
	}
	if invokes[1] != 60 || invokes[10] > 20 {
		t.Errorf("invocations: %d single, %d batched", invokes[1], invokes[10])
	}
}

// TestHandlerOriginalEvent: the original's console test event for task_noop
// still works, with the original's response keys.
func TestHandlerOriginalEvent(t *testing.T) {
	h := NewHandler(all.Scanners, "test", nil)
	var req Request
	event := `{"scanner": "noop", "domain": "example.com", "environment": {"scan_uuid": "test-uuid",
		"scan_method": "lambda", "constant": 12345, "variable": "example.com"}, "options": {"debug": true}}`
	if err := json.Unmarshal([]byte(event), &req); err != nil {
		t.Fatal(err)
	}
	resp, err := h.Handle(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(resp)
	var m map[string]any
	json.Unmarshal(b, &m)
	data := m["data"].(map[string]any)
	if data["complete"] != true || data["constant"] != float64(12345) || data["variable"] != "example.com" {
		t.Errorf("data = %v", data)
	}
	lam := m["lambda"].(map[string]any)
	for _, k := range []string{"log_group_name", "log_stream_name", "request_id", "memory_limit", "start_time", "end_time", "measured_duration"} {
		if _, ok := lam[k]; !ok {
			t.Errorf("response lacks lambda.%s", k)
		}
	}
	if _, err := h.Handle(context.Background(), Request{Scanner: "nope", Domain: "a.test"}); err == nil {
		t.Error("unknown scanner is not a function error")
	}
	if _, err := h.Handle(context.Background(), Request{Scanner: "analytics", Domain: "a.test"}); err == nil {
		t.Error("a non-Lambda scanner is not a function error")
	}
}

// TestHandlerStopsBeforeDeadline: a batch that cannot finish answers with
// what it has before the function's deadline, the rest marked timed out.
func TestHandlerStopsBeforeDeadline(t *testing.T) {
	h := NewHandler(all.Scanners, "test", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	resp, err := h.Handle(ctx, Request{Scanner: "noop", Domains: []string{"a.test", "b.test"},
		Options: map[string]any{"noop-delay": "10"}})
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 2500*time.Millisecond {
		t.Errorf("answered after %s, past its margin", el)
	}
	if len(resp.Results) != 2 || resp.Results[0].Status != "timeout" || resp.Results[1].Status != "timeout" {
		t.Errorf("results = %+v", resp.Results)
	}
}

// TestScannerOptionsTravel: every Lambda scanner's flags, set on the
// command line, arrive in the function in a form its flags accept.
func TestScannerOptionsTravel(t *testing.T) {
	h := NewHandler(all.Scanners, "test", nil)
	for _, s := range all.Scanners() {
		fd, ok := s.(scan.FlagDefiner)
		if !ok || !s.Info().Lambda {
			continue
		}
		fs := flag.NewFlagSet(s.Info().Name, flag.ContinueOnError)
		fd.DefineFlags(fs)
		opts := map[string]any{}
		fs.VisitAll(func(f *flag.Flag) {
			// What the CLI sends: the flag's own text after setting it.
			val := f.DefValue
			switch f.Name {
			case "pshtt-timeout":
				val = "3"
			case "noop-delay":
				val = "0"
			}
			if err := fs.Set(f.Name, val); err != nil {
				t.Fatalf("%s: %v", f.Name, err)
			}
			opts[f.Name] = f.Value.String()
		})
		if _, err := h.scanner(context.Background(), Request{Scanner: s.Info().Name, Options: opts}); err != nil {
			t.Errorf("%s: options %v do not travel: %v", s.Info().Name, opts, err)
		}
	}
}

// TestTransportFailuresAreRetriedWithBackoff: a refused connection means
// the scan did not run: it is retried (bounded), not counted against
// --lambda-retries.
func TestTransportFailuresAreRetriedWithBackoff(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	inv := NewInvoker(testClient(t, "http://"+addr), InvokerOptions{Function: "function", ThrottleRetries: 3,
		BackoffBase: time.Millisecond, BackoffCap: 2 * time.Millisecond})
	out := inv.Execute(context.Background(), noop.New().Info(), scan.Job{Target: scan.Target{Domain: "a.test"}})
	if out.Status != scan.StatusFailed || len(out.Errors) != 1 || !strings.Contains(out.Errors[0], "after 3 retries") {
		t.Errorf("outcome = %+v", out)
	}
}

// TestBusyEmulatorIsThrottling: the managed emulator's 400 with
// Error-Type Runtime.Unavailable is retried like a 429.
func TestBusyEmulatorIsThrottling(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			w.Header().Set("Error-Type", "Runtime.Unavailable")
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		json.NewEncoder(w).Encode(Response{Data: json.RawMessage(`{"complete":true,"constant":1,"variable":"a.test"}`), Status: "ok"})
	}))
	defer srv.Close()
	inv := NewInvoker(testClient(t, srv.URL), InvokerOptions{Function: "function",
		BackoffBase: time.Millisecond, BackoffCap: 2 * time.Millisecond})
	out := inv.Execute(context.Background(), noop.New().Info(), scan.Job{Target: scan.Target{Domain: "a.test"}})
	if out.Status != scan.StatusOK || calls.Load() != 3 {
		t.Errorf("outcome %+v after %d calls", out, calls.Load())
	}
}

type configFake map[string]int32

func (c configFake) GetFunctionConfiguration(_ context.Context, in *lambda.GetFunctionConfigurationInput, _ ...func(*lambda.Options)) (*lambda.GetFunctionConfigurationOutput, error) {
	t, ok := c[*in.FunctionName]
	if !ok {
		return nil, errors.New("ResourceNotFoundException")
	}
	return &lambda.GetFunctionConfigurationOutput{Timeout: &t}, nil
}

// TestDeployedTimeoutSetsTheBudget: a function configured with a longer
// timeout than the scanner declares gets that time per attempt.
func TestDeployedTimeoutSetsTheBudget(t *testing.T) {
	got := FunctionTimeouts(context.Background(), configFake{"task_pshtt": 900}, "task_{scanner}", []string{"pshtt", "noop"})
	if got["pshtt"] != 900*time.Second || len(got) != 1 {
		t.Fatalf("timeouts = %v", got)
	}
	inv := NewInvoker(nil, InvokerOptions{Retries: 1, Timeouts: got})
	if b := inv.Budget(scan.Info{Name: "pshtt", LambdaTimeout: 300 * time.Second}); b != 2*930*time.Second+2*time.Minute {
		t.Errorf("pshtt budget %s", b)
	}
	if b := inv.Budget(scan.Info{Name: "noop", LambdaTimeout: 60 * time.Second}); b != 2*90*time.Second+2*time.Minute {
		t.Errorf("noop budget %s", b)
	}
}

// TestPayloadIsTheRequest: the hand-assembled event decodes to the same
// request json.Marshal would have sent.
func TestPayloadIsTheRequest(t *testing.T) {
	iv := NewInvoker(nil, InvokerOptions{RunID: "run-1", Version: "v1"})
	jobs := []scan.Job{
		{Target: scan.Target{Domain: "a.test"}, Options: map[string]string{"noop-delay": "1s"}, Inputs: json.RawMessage(`{"constant":1}`)},
		{Target: scan.Target{Domain: "b\"q.test"}, Options: map[string]string{"noop-delay": "1s"}},
	}
	for _, js := range [][]scan.Job{jobs[:1], jobs, jobs} { // twice: the cached prefix too
		b, err := iv.payload("noop", js)
		if err != nil {
			t.Fatal(err)
		}
		var got, want Request
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		wb, _ := json.Marshal(iv.request("noop", js))
		json.Unmarshal(wb, &want)
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		if string(g) != string(w) {
			t.Errorf("payload %s\nwant %s", g, w)
		}
	}
	if _, err := iv.payload("noop", []scan.Job{{Target: scan.Target{Domain: "x.test"}, Inputs: json.RawMessage(`{bad`)}}); err == nil {
		t.Error("invalid inputs accepted")
	}
}
