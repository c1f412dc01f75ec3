package memwatch

import (
	"runtime"
	"testing"
	"time"
)

var sink [][]byte

func TestPeakSeesAnAllocation(t *testing.T) {
	w := Start(5 * time.Millisecond)
	time.Sleep(20 * time.Millisecond)
	sink = append(sink, make([]byte, 64<<20))
	time.Sleep(30 * time.Millisecond)
	heap, sys := w.Stop()
	sink = nil
	if heap < 64<<20 || sys < heap {
		t.Errorf("peaks %d heap, %d sys; want at least the 64 MiB allocated", heap, sys)
	}
}

func TestPeakSeesGoroutines(t *testing.T) {
	base := runtime.NumGoroutine()
	w := Start(5 * time.Millisecond)
	release := make(chan struct{})
	for range 100 {
		go func() { <-release }()
	}
	time.Sleep(30 * time.Millisecond)
	close(release)
	time.Sleep(20 * time.Millisecond)
	w.Stop()
	if g := w.Goroutines(); g < base+100 {
		t.Errorf("peak %d goroutines; want at least %d", g, base+100)
	}
}
