package asyncrun

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/domainscan/domain-scan/internal/awslambda"
	"github.com/domainscan/domain-scan/internal/objstore/s3test"
	"github.com/domainscan/domain-scan/internal/scan"
	"github.com/domainscan/domain-scan/internal/scanners/noop"
)

// fakeAWSEnv makes the test binary a fake of the two AWS services an
// asynchronous run uses, in its own process (so that the client's memory
// is measured alone): an in-memory S3 (gofakes3) and a Lambda Invoke
// endpoint with asynchronous semantics — an Event invocation is answered
// 202 at once and delivered to the real handler (noop) in the
// background, retried twice on a function error, as Lambda does.
//
// Faults, by batch number in FAKE_FAULTS ("3=crash:3,2=crash:1,4=dup"):
// crash:N fails the first N deliveries; reject:N refuses the first N
// invocations (a 400 the client does not retry); dup delivers twice. FAKE_S3_FAIL
// (key[:N]) fails the first N PutObjects whose key contains key.
const fakeAWSEnv = "DOMAIN_SCAN_FAKE_AWS"

func TestMain(m *testing.M) {
	if os.Getenv(fakeAWSEnv) != "" {
		serveFakeAWS()
		return
	}
	os.Exit(m.Run())
}

func serveFakeAWS() {
	faker := s3test.New()
	// FAKE_S3_FAIL=key:N fails the first N PutObjects of that key (more
	// than the SDK's own three attempts reach the function).
	failKey, failTimes := os.Getenv("FAKE_S3_FAIL"), int64(1)
	if k, n, ok := strings.Cut(failKey, ":"); ok {
		failKey = k
		failTimes, _ = strconv.ParseInt(n, 10, 64)
	}
	var failed atomic.Int64
	s3ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go http.Serve(s3ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failKey != "" && r.Method == http.MethodPut && strings.Contains(r.URL.Path, failKey) && failed.Add(1) <= failTimes {
			http.Error(w, "<Error><Code>InternalError</Code><Message>injected</Message></Error>", http.StatusInternalServerError)
			return
		}
		faker.Server().ServeHTTP(w, r)
	}))
	os.Setenv("AWS_ENDPOINT_URL_S3", "http://"+s3ln.Addr().String())
	faults := map[int]string{}
	for _, f := range strings.Split(os.Getenv("FAKE_FAULTS"), ",") {
		if b, what, ok := strings.Cut(f, "="); ok {
			n, _ := strconv.Atoi(b)
			faults[n] = what
		}
	}
	newScanners := func() []scan.Scanner { return []scan.Scanner{noop.New()} }
	h := awslambda.NewHandler(newScanners, "test", nil)
	h.Coordinator = func(ctx context.Context, req awslambda.Request) error {
		return Coordinate(ctx, req, newScanners, nil)
	}
	var mu sync.Mutex
	deliveries := map[int]int{}
	rejected := map[int]int{}
	var invocations atomic.Int64
	deliver := func(req awslambda.Request) error {
		n, _ := strconv.Atoi(strings.TrimSuffix(req.Output[strings.LastIndex(req.Output, "/")+1:], ".jsonl"))
		mu.Lock()
		deliveries[n]++
		d := deliveries[n]
		mu.Unlock()
		if what := faults[n]; strings.HasPrefix(what, "crash:") {
			if times, _ := strconv.Atoi(strings.TrimPrefix(what, "crash:")); d <= times {
				return fmt.Errorf("injected crash of batch %d", n)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := h.Handle(ctx, req)
		return err
	}
	lln, _ := net.Listen("tcp", "127.0.0.1:0")
	// A coordinator invokes this same fake.
	os.Setenv("AWS_ENDPOINT_URL_LAMBDA", "http://"+lln.Addr().String())
	os.Setenv("AWS_LAMBDA_FUNCTION_NAME", "task_noop")
	go http.Serve(lln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stats" {
			mu.Lock()
			json.NewEncoder(w).Encode(map[string]any{"invocations": invocations.Load(), "deliveries": deliveries})
			mu.Unlock()
			return
		}
		body, _ := io.ReadAll(r.Body)
		var req awslambda.Request
		if err := json.Unmarshal(body, &req); err != nil || r.Header.Get("X-Amz-Invocation-Type") != "Event" {
			http.Error(w, `{"message":"only Event invocations"}`, http.StatusBadRequest)
			return
		}
		n, _ := strconv.Atoi(strings.TrimSuffix(req.Output[strings.LastIndex(req.Output, "/")+1:], ".jsonl"))
		if what := faults[n]; strings.HasPrefix(what, "reject:") {
			times, _ := strconv.Atoi(strings.TrimPrefix(what, "reject:"))
			mu.Lock()
			rejected[n]++
			r := rejected[n]
			mu.Unlock()
			if r <= times {
				w.Header().Set("X-Amzn-Errortype", "InvalidParameterValueException")
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				w.Write([]byte(`{"Type":"User","message":"injected rejection"}`))
				return
			}
		}
		invocations.Add(1)
		w.WriteHeader(http.StatusAccepted)
		go func() {
			copies := 1
			if faults[n] == "dup" {
				copies = 2
			}
			for range copies {
				for attempt := 0; attempt < 3; attempt++ { // Lambda: the event and two retries
					if deliver(req) == nil {
						break
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}))
	fmt.Printf("S3=http://%s\nLAMBDA=http://%s\n", s3ln.Addr(), lln.Addr())
	select {}
}

// fakeAWS starts the fake in a child process and points the SDK at it.
func fakeAWS(t testing.TB, env ...string) (lambdaURL string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), fakeAWSEnv+"=1", "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test"), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	r := bufio.NewReader(out)
	urls := map[string]string{}
	for range 2 {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		k, v, _ := strings.Cut(strings.TrimSpace(line), "=")
		urls[k] = v
	}
	setenv := func(k, v string) {
		if tt, ok := t.(*testing.T); ok {
			tt.Setenv(k, v)
		} else {
			old, had := os.LookupEnv(k)
			os.Setenv(k, v)
			t.Cleanup(func() {
				if had {
					os.Setenv(k, old)
				} else {
					os.Unsetenv(k)
				}
			})
		}
	}
	setenv("AWS_ENDPOINT_URL_S3", urls["S3"])
	setenv("AWS_ENDPOINT_URL_LAMBDA", urls["LAMBDA"])
	setenv("AWS_REGION", "us-east-1")
	setenv("AWS_ACCESS_KEY_ID", "test")
	setenv("AWS_SECRET_ACCESS_KEY", "test")
	dir := t.TempDir()
	setenv("AWS_CONFIG_FILE", filepath.Join(dir, "none"))
	setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "none"))
	return urls["LAMBDA"]
}
