package pshtt

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/domainscan/domain-scan/internal/cache"
	"github.com/domainscan/domain-scan/internal/engine"
	"github.com/domainscan/domain-scan/internal/lab"
	"github.com/domainscan/domain-scan/internal/memwatch"
	"github.com/domainscan/domain-scan/internal/scan"
)

// BenchmarkSynthetic scans 10,000 synthetic lab domains with pshtt through
// the engine (cache and CSV included) with 1,000 workers, and reports
// domains/s and the peak heap and memory obtained from the OS.
//
//	go test -run='^$' -bench=Synthetic -benchtime=1x ./internal/scanners/pshtt/
func BenchmarkSynthetic(b *testing.B) {
	const n = 10_000
	l, err := lab.Start(context.Background(), lab.Options{Synthetic: n, HighPorts: true, Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	for range b.N {
		s := New()
		s.preloadSrc, s.pendingSrc = l.PreloadURL, l.PendingURL
		if err := s.Init(context.Background(), scan.Run{Net: l.Network(), CAFile: l.CAFile}); err != nil {
			b.Fatal(err)
		}
		dir := b.TempDir()
		if _, err := os.Stat("/dev/shm"); err == nil {
			dir, _ = os.MkdirTemp("/dev/shm", "pshtt-bench-")
			defer os.RemoveAll(dir)
		}
		e, err := engine.New(engine.Config{ResultsDir: filepath.Join(dir, "results"),
			Cache: cache.New(filepath.Join(dir, "cache")), Workers: 1000, RunID: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		w := memwatch.Start(50 * time.Millisecond)
		start := time.Now()
		sum, err := e.Run(context.Background(), []scan.Scanner{s}, lab.SyntheticDomains(n))
		el := time.Since(start)
		peakHeap, peakSys := w.Stop()
		if err != nil {
			b.Fatal(err)
		}
		c := sum.Scanners[0].Counts
		b.ReportMetric(float64(n)/el.Seconds(), "domains/s")
		b.ReportMetric(float64(c.Failed+c.Timeout), "failed")
		b.ReportMetric(float64(peakHeap)/(1<<20), "peak-heap-MiB")
		b.ReportMetric(float64(peakSys)/(1<<20), "peak-sys-MiB")
	}
}
