package awslambda

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
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/domainscan/domain-scan/internal/cache"
	"github.com/domainscan/domain-scan/internal/engine"
	"github.com/domainscan/domain-scan/internal/memwatch"
	"github.com/domainscan/domain-scan/internal/scan"
	"github.com/domainscan/domain-scan/internal/scanners/noop"
)

// slowLambdaEnv makes the test binary a Lambda Invoke endpoint that
// answers every invocation after a fixed latency, in its own process, so
// that the benchmark measures only the client.
const slowLambdaEnv = "DOMAIN_SCAN_SLOW_LAMBDA"

func TestMain(m *testing.M) {
	if v := os.Getenv(slowLambdaEnv); v != "" {
		latency, _ := time.ParseDuration(v)
		serveSlowLambda(latency)
		return
	}
	os.Exit(m.Run())
}

func serveSlowLambda(latency time.Duration) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	fmt.Println(l.Addr().String())
	var n atomic.Int64
	http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req Request
		json.Unmarshal(body, &req)
		time.Sleep(latency)
		start := float64(time.Now().UnixNano()) / 1e9
		w.Header().Set("X-Amzn-Requestid", "req-"+strconv.FormatInt(n.Add(1), 10))
		data, _ := json.Marshal(map[string]any{"complete": true, "constant": 12345, "variable": req.Domain})
		json.NewEncoder(w).Encode(Response{Lambda: Meta{RequestID: "req", StartTime: start, EndTime: start, MemoryLimit: "128"},
			Data: data, Status: "ok"})
	}))
}

// BenchmarkInvoke20k scans 20,000 domains through an Invoke endpoint that
// answers each invocation after 1 s, with 2,000 workers (the ideal is
// 10 s), and reports the ratio to ideal, the client's CPU seconds, its
// peak resident memory, and the heap per in-flight invocation.
//
//	go test -run='^$' -bench=Invoke20k -benchtime=1x ./internal/awslambda/
func BenchmarkInvoke20k(b *testing.B) {
	const domains, workers, latency = 20_000, 2_000, time.Second
	srv := exec.Command(os.Args[0], "-test.run=^$")
	srv.Env = append(os.Environ(), slowLambdaEnv+"="+latency.String())
	out, err := srv.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		b.Fatal(err)
	}
	client := testClientFor(b, "http://"+strings.TrimSpace(addr), workers)
	for range b.N {
		dir := b.TempDir()
		if _, err := os.Stat("/dev/shm"); err == nil {
			dir, _ = os.MkdirTemp("/dev/shm", "invoke-bench-")
			defer os.RemoveAll(dir)
		}
		inv := NewInvoker(client, InvokerOptions{Function: "task_{scanner}"})
		e, err := engine.New(engine.Config{ResultsDir: filepath.Join(dir, "results"), Cache: cache.New(filepath.Join(dir, "cache")),
			Workers: workers, RunID: "bench", Remote: inv})
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		var before syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &before)
		var baseHeap runtime.MemStats
		runtime.ReadMemStats(&baseHeap)
		w := memwatch.Start(100 * time.Millisecond)
		start := time.Now()
		sum, err := e.Run(context.Background(), []scan.Scanner{noop.New()}, genList(domains))
		el := time.Since(start)
		peakHeap, _ := w.Stop()
		if err != nil {
			b.Fatal(err)
		}
		if ok := sum.Scanners[0].Counts.OK; ok != domains {
			b.Fatalf("%d of %d ok", ok, domains)
		}
		var after syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &after)
		cpu := time.Duration(after.Utime.Nano()-before.Utime.Nano()) + time.Duration(after.Stime.Nano()-before.Stime.Nano())
		ideal := time.Duration(domains/workers) * latency
		b.ReportMetric(el.Seconds(), "wall-s")
		b.ReportMetric(100*ideal.Seconds()/el.Seconds(), "%-of-ideal")
		b.ReportMetric(cpu.Seconds(), "cpu-s")
		b.ReportMetric(float64(peakRSS())/(1<<20), "peak-rss-MiB")
		b.ReportMetric(float64(peakHeap-min(peakHeap, baseHeap.HeapInuse))/workers/1024, "heap-KiB/in-flight")
	}
}

type genList int

func (n genList) Len() int64 { return int64(n) }
func (n genList) Range(fn func(string) bool) error {
	for i := range int(n) {
		if !fn(fmt.Sprintf("site%05d.test", i)) {
			break
		}
	}
	return nil
}

// peakRSS is the process's high-water resident set (VmHWM), in bytes.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// BenchmarkBareSDK20k is the floor for BenchmarkInvoke20k: the same
// endpoint and load through the bare SDK client, no engine, no invoker.
func BenchmarkBareSDK20k(b *testing.B) {
	const domains, workers, latency = 20_000, 2_000, time.Second
	srv := exec.Command(os.Args[0], "-test.run=^$")
	srv.Env = append(os.Environ(), slowLambdaEnv+"="+latency.String())
	out, _ := srv.StdoutPipe()
	if err := srv.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	addr, _ := bufio.NewReader(out).ReadString('\n')
	client := testClientFor(b, "http://"+strings.TrimSpace(addr), workers)
	for range b.N {
		var before, after syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &before)
		jobs := make(chan int, workers)
		var wg sync.WaitGroup
		start := time.Now()
		for range workers {
			wg.Go(func() {
				for i := range jobs {
					payload, _ := json.Marshal(Request{Scanner: "noop", Domain: fmt.Sprintf("site%05d.test", i)})
					out, err := client.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("task_noop"), Payload: payload})
					if err != nil {
						b.Error(err)
						continue
					}
					var r Response
					json.Unmarshal(out.Payload, &r)
				}
			})
		}
		for i := range domains {
			jobs <- i
		}
		close(jobs)
		wg.Wait()
		el := time.Since(start)
		syscall.Getrusage(syscall.RUSAGE_SELF, &after)
		cpu := time.Duration(after.Utime.Nano()-before.Utime.Nano()) + time.Duration(after.Stime.Nano()-before.Stime.Nano())
		b.ReportMetric(100*float64(domains/workers)*latency.Seconds()/el.Seconds(), "%-of-ideal")
		b.ReportMetric(cpu.Seconds(), "cpu-s")
		b.ReportMetric(float64(peakRSS())/(1<<20), "peak-rss-MiB")
	}
}
