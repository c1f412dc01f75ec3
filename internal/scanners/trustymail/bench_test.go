package trustymail

import (
	"context"
	"testing"

	"github.com/domainscan/domain-scan/internal/lab"
	"github.com/domainscan/domain-scan/internal/scanners/scannertest"
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
		accepted0 := l.SMTPAccepted()
		m := scannertest.EngineRun(b, s, lab.SyntheticDomains(n), 1000)
		if c := m.Counts; c.OK != n {
			b.Errorf("%d of %d domains ok (%d failed, %d timed out)", c.OK, n, c.Failed, c.Timeout)
		}
		conns := s.SMTPConnections()
		if want := int64(lab.SyntheticMailServers * len(DefaultPorts)); conns != want {
			b.Errorf("%d SMTP connections, want one per host:port, %d", conns, want)
		}
		b.ReportMetric(float64(n)/m.Elapsed.Seconds(), "domains/s")
		b.ReportMetric(float64(conns), "smtp-conns")
		b.ReportMetric(float64(l.SMTPAccepted()-accepted0), "accepted-conns")
		m.ReportMemory(b)
	}
}
