package asyncrun

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/domainscan/domain-scan/internal/memwatch"
)

// BenchmarkMillion runs the client side of a 1,000,000-domain asynchronous
// run (batches of 100: 10,000 invocations) against the fake services, whose
// function is the real handler with the noop scanner, and reports what the
// client costs: wall time of each phase, CPU seconds, peak heap and
// goroutines. It then estimates the run's wall time at 1,000 concurrent
// functions for a per-domain scan time (the slowest domain of a batch
// decides its duration, since a batch's domains are scanned at once):
//
//	go test -run='^$' -bench=Million -benchtime=1x ./internal/asyncrun/
func BenchmarkMillion(b *testing.B) {
	const n, batch, concurrency = 1_000_000, 100, 1000
	fakeAWS(b)
	for range b.N {
		c, st := newClient(b, 20000)
		c.Submitters = 32
		c.Poll = 200 * time.Millisecond
		ctx := context.Background()
		m := manifest("run-million", batch)
		runtime.GC()
		var ru0, ru1 syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
		w := memwatch.Start(20 * time.Millisecond)
		t0 := time.Now()
		if err := c.Start(ctx, m, names(n)); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		missing, err := c.Follow(ctx, m, FollowOptions{Deadline: 30 * time.Minute})
		if err != nil || len(missing) > 0 {
			b.Fatalf("%d missing, %v", len(missing), err)
		}
		t2 := time.Now()
		got, err := c.Collect(ctx, m, st)
		if err != nil {
			b.Fatal(err)
		}
		t3 := time.Now()
		heap, _ := w.Stop()
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
		cpu := time.Duration(ru1.Utime.Nano()-ru0.Utime.Nano()) + time.Duration(ru1.Stime.Nano()-ru0.Stime.Nano())
		if got.Counts["noop"].OK != n {
			b.Fatalf("%+v", got.Counts["noop"])
		}
		b.ReportMetric(float64(m.Batches), "invocations")
		b.ReportMetric(t1.Sub(t0).Seconds(), "write-batches-s")
		b.ReportMetric(t2.Sub(t1).Seconds(), "submit+follow-s")
		b.ReportMetric(t3.Sub(t2).Seconds(), "collect-s")
		b.ReportMetric(cpu.Seconds(), "client-cpu-s")
		b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MiB")
		b.ReportMetric(float64(w.Goroutines()), "peak-goroutines")
		waves := math.Ceil(float64(m.Batches) / concurrency)
		for _, perDomain := range []time.Duration{2 * time.Second, 10 * time.Second, 30 * time.Second} {
			b.Logf("1,000,000 domains, %d invocations, %d at once: %g waves; slowest domain per batch %s -> about %s in Lambda, %.0f GB-s at 512 MB",
				m.Batches, concurrency, waves, perDomain, time.Duration(waves)*perDomain, float64(m.Batches)*perDomain.Seconds()*0.5)
		}
		fmt.Printf("client: %d invocations submitted in %s (%.0f/s)\n", m.Batches, t2.Sub(t1).Round(time.Millisecond), float64(m.Batches)/t2.Sub(t1).Seconds())
	}
}
