package scannertest

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/domainscan/domain-scan/internal/cache"
	"github.com/domainscan/domain-scan/internal/engine"
	"github.com/domainscan/domain-scan/internal/memwatch"
	"github.com/domainscan/domain-scan/internal/scan"
)

// Measured is one benchmarked engine run.
type Measured struct {
	Counts            engine.Counts
	Elapsed           time.Duration
	PeakHeap, PeakSys uint64 // bytes
}

// ReportMemory reports the peaks in MiB.
func (m Measured) ReportMemory(b *testing.B) {
	b.ReportMetric(float64(m.PeakHeap)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(m.PeakSys)/(1<<20), "peak-sys-MiB")
}

// EngineRun scans src with s through the engine, cache and CSV included,
// with workers workers, and measures the run. Files go to /dev/shm when
// there is one, so that the disk does not set the pace.
func EngineRun(b *testing.B, s scan.Scanner, src engine.Source, workers int) Measured {
	b.Helper()
	dir := b.TempDir()
	if _, err := os.Stat("/dev/shm"); err == nil {
		shm, err := os.MkdirTemp("/dev/shm", s.Info().Name+"-bench-")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { os.RemoveAll(shm) })
		dir = shm
	}
	e, err := engine.New(engine.Config{ResultsDir: filepath.Join(dir, "results"),
		Cache: cache.New(filepath.Join(dir, "cache")), Workers: workers, RunID: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	w := memwatch.Start(50 * time.Millisecond)
	start := time.Now()
	sum, err := e.Run(context.Background(), []scan.Scanner{s}, src)
	m := Measured{Elapsed: time.Since(start)}
	m.PeakHeap, m.PeakSys = w.Stop()
	if err != nil {
		b.Fatal(err)
	}
	m.Counts = sum.Scanners[0].Counts
	return m
}
