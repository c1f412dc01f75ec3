package sslyze

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

// BenchmarkSynthetic scans the HTTPS host of 1,000 synthetic lab domains
// with sslyze through the engine (100 workers; no pshtt cache, so every
// domain's own name on 443 is a target, including those without HTTPS).
// It reports targets/s, connections per target, the slowest target, and
// peak memory.
//
//	go test -run='^$' -bench=Synthetic -benchtime=1x ./internal/scanners/sslyze/
func BenchmarkSynthetic(b *testing.B) {
	const n = 1_000
	l, err := lab.Start(context.Background(), lab.Options{Synthetic: n, HighPorts: true, Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	for range b.N {
		s := New()
		initScanner(b, s, l, "--sslyze-timeout=5")
		dir := b.TempDir()
		if _, err := os.Stat("/dev/shm"); err == nil {
			dir, _ = os.MkdirTemp("/dev/shm", "sslyze-bench-")
			defer os.RemoveAll(dir)
		}
		e, err := engine.New(engine.Config{ResultsDir: filepath.Join(dir, "results"),
			Cache: cache.New(filepath.Join(dir, "cache")), Workers: 100, RunID: "bench"})
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
		if c.OK != n {
			b.Errorf("%d of %d domains ok (%d failed, %d timed out)", c.OK, n, c.Failed, c.Timeout)
		}
		b.ReportMetric(float64(n)/el.Seconds(), "targets/s")
		b.ReportMetric(float64(s.Connections())/n, "conns/target")
		b.ReportMetric(float64(peakHeap)/(1<<20), "peak-heap-MiB")
		b.ReportMetric(float64(peakSys)/(1<<20), "peak-sys-MiB")
	}
}

// BenchmarkOneTarget is the time of a full scan of one HTTPS endpoint of
// the lab (TLS 1.2 and 1.3, six versions probed, certificates).
//
//	go test -run='^$' -bench=OneTarget ./internal/scanners/sslyze/
func BenchmarkOneTarget(b *testing.B) {
	l, err := lab.Start(context.Background(), lab.Options{Synthetic: 10, HighPorts: true, Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	s := New()
	initScanner(b, s, l)
	var conns int
	for b.Loop() {
		row := s.scanTarget(context.Background(), target{Host: lab.SyntheticName(0), Port: 443})
		if row.TLS12 == nil || !*row.TLS12 {
			b.Fatalf("row %+v", row)
		}
		conns = row.Connections
	}
	b.ReportMetric(float64(conns), "conns/target")
}
