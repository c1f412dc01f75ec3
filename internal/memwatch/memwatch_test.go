package memwatch

import (
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
