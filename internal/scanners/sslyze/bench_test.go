package sslyze

import (
	"context"
	"testing"

	"github.com/domainscan/domain-scan/internal/lab"
	"github.com/domainscan/domain-scan/internal/scanners/scannertest"
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
		m := scannertest.EngineRun(b, s, lab.SyntheticDomains(n), 100)
		if c := m.Counts; c.OK != n {
			b.Errorf("%d of %d domains ok (%d failed, %d timed out)", c.OK, n, c.Failed, c.Timeout)
		}
		b.ReportMetric(float64(n)/m.Elapsed.Seconds(), "targets/s")
		b.ReportMetric(float64(s.Connections())/n, "conns/target")
		m.ReportMemory(b)
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
