package domains

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkPrepare reads a 1,000,000- and a 10,000,000-line CSV (header,
// second column, mixed case, ~10% duplicates), then streams the list once
// as a scanner would, and reports time and peak live heap per domain. Heap
// is sampled through runtime/metrics, which does not stop the world, every
// millisecond.
//
//	go test -run='^$' -bench=Prepare -benchtime=1x ./internal/domains/
func BenchmarkPrepare(b *testing.B) {
	for _, lines := range []int{1_000_000, 10_000_000} {
		b.Run(fmt.Sprintf("lines=%d", lines), func(b *testing.B) { benchPrepare(b, lines) })
	}
}

func benchPrepare(b *testing.B, lines int) {
	if testing.Short() {
		b.Skip("large input")
	}
	dir := b.TempDir()
	path := filepath.Join(dir, "domains.csv")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "Domain Name,Domain Type,Agency")
	for i := range lines {
		k := i
		if i%10 == 9 {
			k = i / 2 // an earlier name again
		}
		if i%4 == 0 {
			fmt.Fprintf(w, "WWW.Agency-%d.Example.GOV,Federal,\"Agency %d, Office\"\n", k, k)
		} else {
			fmt.Fprintf(w, "www.agency-%d.example.gov,Federal,Agency %d\n", k, k)
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()

	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	heap := func() uint64 { metrics.Read(sample); return sample[0].Value.Uint64() }

	var peak atomic.Uint64
	var valid int64
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		base := heap()
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			t := time.NewTicker(time.Millisecond)
			defer t.Stop()
			for {
				if h := heap(); h > base && h-base > peak.Load() {
					peak.Store(h - base)
				}
				select {
				case <-stop:
					return
				case <-t.C:
				}
			}
		})
		b.StartTimer()

		l, err := Prepare(context.Background(), path, Options{SpoolDir: dir})
		if err != nil {
			b.Fatal(err)
		}

		var streamed int64
		if err := l.Range(func(string) bool { streamed++; return true }); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		close(stop)
		wg.Wait()
		valid = l.Len()
		if streamed != valid {
			b.Fatalf("streamed %d of %d", streamed, valid)
		}
		l.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(lines), "ns/domain")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(peak.Load())/float64(valid), "peak-heap-B/valid-domain")
}
