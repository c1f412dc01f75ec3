package pshtt

import (
	"context"
	"testing"

	"github.com/domainscan/domain-scan/internal/lab"
	"github.com/domainscan/domain-scan/internal/scan"
	"github.com/domainscan/domain-scan/internal/scanners/scannertest"
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
		m := scannertest.EngineRun(b, s, lab.SyntheticDomains(n), 1000)
		b.ReportMetric(float64(n)/m.Elapsed.Seconds(), "domains/s")
		b.ReportMetric(float64(m.Counts.Failed+m.Counts.Timeout), "failed")
		m.ReportMemory(b)
	}
}
