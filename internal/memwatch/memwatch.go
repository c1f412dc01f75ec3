// Package memwatch samples the peak memory of the process while a
// benchmark runs: the heap in use, the memory obtained from the OS, and
// the number of goroutines.
package memwatch

import (
	"runtime"
	"sync/atomic"
	"time"
)

// Watch samples until Stop.
type Watch struct {
	stop           chan struct{}
	done           chan struct{}
	peakHeap, peak atomic.Uint64
	peakG          atomic.Int64
}

// Start samples every interval (runtime.ReadMemStats briefly stops the
// world, so keep it coarse: 20–100 ms).
func Start(interval time.Duration) *Watch {
	w := &Watch{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		var ms runtime.MemStats
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			w.peakHeap.Store(max(w.peakHeap.Load(), ms.HeapInuse))
			w.peak.Store(max(w.peak.Load(), ms.Sys))
			w.peakG.Store(max(w.peakG.Load(), int64(runtime.NumGoroutine())))
			select {
			case <-w.stop:
				return
			case <-t.C:
			}
		}
	}()
	return w
}

// Stop ends sampling and returns the peaks: heap in use, and all memory
// obtained from the OS (heap, stacks, runtime).
func (w *Watch) Stop() (heapInuse, sys uint64) {
	close(w.stop)
	<-w.done
	return w.peakHeap.Load(), w.peak.Load()
}

// Goroutines is the peak number of goroutines seen (the watcher's own
// included); call it after Stop.
func (w *Watch) Goroutines() int { return int(w.peakG.Load()) }
