package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/domainscan/domain-scan/internal/cache"
	"github.com/domainscan/domain-scan/internal/memwatch"
	"github.com/domainscan/domain-scan/internal/scan"
	"github.com/domainscan/domain-scan/internal/scanners/noop"
)

// genSource makes domain names on the fly, so the benchmark's input costs
// no memory of its own.
type genSource int64

func (g genSource) Len() int64 { return int64(g) }
func (g genSource) Range(fn func(string) bool) error {
	for i := range int64(g) {
		if !fn(fmt.Sprintf("host%07d.agency%03d.gov", i, i%997)) {
			break
		}
	}
	return nil
}

// benchDir is a fresh directory under $BENCH_DIR (e.g. /dev/shm, to take
// the disk out of the measurement) or the test's temp dir.
func benchDir(b *testing.B) string {
	root := os.Getenv("BENCH_DIR")
	if root == "" {
		return b.TempDir()
	}
	dir, err := os.MkdirTemp(root, "engine-bench-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// BenchmarkEngineNoop measures whole runs of noop (CSV rows and one cache
// file per domain) with 1,000 workers. Run it with -benchtime=1x:
//
//	go test -run=^$ -bench=EngineNoop -benchtime=1x ./internal/engine/
func BenchmarkEngineNoop(b *testing.B) {
	for _, n := range []int64{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("domains=%d", n), func(b *testing.B) {
			if testing.Short() && n > 100_000 {
				b.Skip("long")
			}
			var total time.Duration
			var peak uint64
			for range b.N {
				dir := benchDir(b)
				e, err := New(Config{
					ResultsDir: filepath.Join(dir, "results"), Cache: cache.New(filepath.Join(dir, "cache")),
					Workers: 1000, RunID: "bench",
				})
				if err != nil {
					b.Fatal(err)
				}
				runtime.GC()
				w := memwatch.Start(20 * time.Millisecond)
				start := time.Now()
				sum, err := e.Run(context.Background(), []scan.Scanner{noop.New()}, genSource(n))
				total += time.Since(start)
				heap, _ := w.Stop()
				peak = max(peak, heap)
				if err != nil {
					b.Fatal(err)
				}
				if ok := sum.Scanners[0].Counts.OK; ok != n {
					b.Fatalf("%d ok of %d", ok, n)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/total.Seconds(), "domains/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		})
	}
}
