package progress

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/domainscan/domain-scan/internal/scan"
)

// syncBuffer is a bytes.Buffer safe for the display's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func feed(c *Counter) {
	for _, st := range []scan.Status{scan.StatusOK, scan.StatusOK, scan.StatusFailed, scan.StatusTimeout, scan.StatusSkipped} {
		c.Add(st)
	}
}

func TestPlain(t *testing.T) {
	var out syncBuffer
	d := New(&out, Plain, 10*time.Millisecond)
	c := d.Begin("noop", 8)
	feed(c)
	time.Sleep(60 * time.Millisecond) // several ticks
	c.End()
	c.End() // idempotent
	d.Close()
	d.Close()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) < 2 {
		t.Fatalf("want periodic lines and a final one, got %q", out.String())
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "noop: 5/8 done (") || !strings.Contains(l, "2 failed, 1 skipped") {
			t.Errorf("line %q", l)
		}
	}
}

func TestOffWritesNothing(t *testing.T) {
	var out syncBuffer
	d := New(&out, Off, time.Millisecond)
	c := d.Begin("noop", 5)
	feed(c)
	c.End()
	d.Close()
	if out.String() != "" {
		t.Errorf("Off wrote %q", out.String())
	}
	if _, err := d.Writer().Write([]byte("log\n")); err != nil || out.String() != "log\n" {
		t.Errorf("Off: logs should go straight to the output, got %q, %v", out.String(), err)
	}
}

func TestLive(t *testing.T) {
	var out syncBuffer
	d := New(&out, Live, 0)
	c := d.Begin("noop", 5)
	feed(c)
	if _, err := d.Writer().Write([]byte("a log line\n")); err != nil {
		t.Fatal(err)
	}
	c.End()
	d.Close()
	got := out.String()
	for _, want := range []string{"noop", "5/5", "failed 2", "a log line"} {
		if !strings.Contains(got, want) {
			t.Errorf("live output lacks %q: %q", want, got)
		}
	}
}
