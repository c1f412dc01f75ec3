package trustymail

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

// BenchmarkSynthetic scans 10,000 synthetic lab domains with trustymail
// through the engine (cache and CSV included) with 1,000 workers. The
// domains that exist share 100 mail servers, each on 25, 587 and 465. It
// reports domains/s, the SMTP connections the scanner opened (the per-run
// cache must make that the number of distinct host:port pairs, 300), the
// connections the servers accepted, and peak memory.
//
//	go test -run='^$' -bench=Synthetic -benchtime=1x ./internal/scanners/trustymail/
func BenchmarkSynthetic(b *testing.B) {
	const n = 10_000
	l, err := lab.Start(context.Background(), lab.Options{Synthetic: n, HighPorts: true, Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	for range b.N {
		s := newLabScanner(b, l, "--timeout=5", "--smtp-timeout=5")
		dir := b.TempDir()
		if _, err := os.Stat("/dev/shm"); err == nil {
			dir, _ = os.MkdirTemp("/dev/shm", "trustymail-bench-")
			defer os.RemoveAll(dir)
		}
		e, err := engine.New(engine.Config{ResultsDir: filepath.Join(dir, "results"),
			Cache: cache.New(filepath.Join(dir, "cache")), Workers: 1000, RunID: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		accepted0 := l.SMTPAccepted()
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
		conns := s.SMTPConnections()
		if want := int64(lab.SyntheticMailServers * len(DefaultPorts)); conns != want {
			b.Errorf("%d SMTP connections, want one per host:port, %d", conns, want)
		}
		b.ReportMetric(float64(n)/el.Seconds(), "domains/s")
		b.ReportMetric(float64(conns), "smtp-conns")
		b.ReportMetric(float64(l.SMTPAccepted()-accepted0), "accepted-conns")
		b.ReportMetric(float64(peakHeap)/(1<<20), "peak-heap-MiB")
		b.ReportMetric(float64(peakSys)/(1<<20), "peak-sys-MiB")
	}
}
