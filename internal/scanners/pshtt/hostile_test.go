package pshtt

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/domainscan/domain-scan/internal/lab"
	"github.com/domainscan/domain-scan/internal/lab/labtest"
	"github.com/domainscan/domain-scan/internal/memwatch"
	"github.com/domainscan/domain-scan/internal/scan"
)

// hostile are the lab scenarios that try to hold a scanner: accept and
// stall, one byte per second, a 1 GiB body, an endless body, a redirect
// loop, and a TLS handshake that never completes.
var hostile = []string{"stalled-response.test", "trickle.test", "huge-body.test", "endless-body.test",
	"redirect-loop.test", "stalled-handshake.test"}

func hostileScenarios(t testing.TB) []*lab.Scenario {
	var out []*lab.Scenario
	for _, sc := range lab.Catalogue() {
		for _, h := range hostile {
			if sc.Domain == h {
				out = append(out, sc)
			}
		}
	}
	if len(out) != len(hostile) {
		t.Fatalf("found %d of the %d hostile scenarios", len(out), len(hostile))
	}
	return out
}

// TestHostileEndpointsAreBounded: with --pshtt-timeout=1s, every hostile
// scan ends within the bound the design promises: the four endpoints run
// concurrently, each at most a request, two TLS probes and a redirect
// follow (3 timeouts): 6 timeouts, plus slack.
func TestHostileEndpointsAreBounded(t *testing.T) {
	l := labtest.Start(t, hostileScenarios(t)...)
	s := newLabScanner(t, l, "--pshtt-timeout=1")
	const bound = 6*time.Second + 2*time.Second
	var wg sync.WaitGroup
	for _, d := range hostile {
		wg.Go(func() {
			start := time.Now()
			_, err := s.Scan(context.Background(), scan.Job{Target: scan.Target{Domain: d}})
			if el := time.Since(start); el > bound {
				t.Errorf("%s took %s, bound %s", d, el.Round(time.Millisecond), bound)
			}
			if err != nil {
				t.Errorf("%s: %v", d, err)
			}
		})
	}
	wg.Wait()
}

// BenchmarkHostileMemory runs 300 scans of the hostile scenarios at once
// and reports the heap each in-flight scan costs at the peak: a 1 GiB or
// endless body must not be buffered.
//
//	go test -run='^$' -bench=HostileMemory -benchtime=1x ./internal/scanners/pshtt/
func BenchmarkHostileMemory(b *testing.B) {
	const inFlight = 300
	l := labtest.Start(b, hostileScenarios(b)...)
	s := New()
	s.timeout = 2 * time.Second
	if err := s.Init(context.Background(), scan.Run{Net: l.Network(), CAFile: l.CAFile}); err != nil {
		b.Fatal(err)
	}
	for range b.N {
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		w := memwatch.Start(20 * time.Millisecond)
		var wg sync.WaitGroup
		for i := range inFlight {
			wg.Go(func() {
				s.Scan(context.Background(), scan.Job{Target: scan.Target{Domain: hostile[i%len(hostile)]}})
			})
		}
		wg.Wait()
		peak, _ := w.Stop()
		per := float64(peak-min(peak, base.HeapInuse)) / inFlight
		b.ReportMetric(per/1024, "KiB/in-flight-scan")
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	}
}
