// Package progress shows per-scanner progress on stderr: a live bar per
// scanner on a terminal, a plain line every few seconds otherwise.
package progress

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/domainscan/domain-scan/internal/scan"
)

// Mode selects the display.
type Mode int

// The modes.
const (
	Off   Mode = iota // nothing
	Plain             // a line every Interval, for logs and CI
	Live              // live bars, for terminals
)

// Display implements the engine's Progress. Logs written through Writer
// appear above live bars instead of breaking them.
type Display struct {
	mode     Mode
	out      io.Writer
	interval time.Duration
	bars     *mpb.Progress

	closeOnce sync.Once
	mu        sync.Mutex
	current   *Counter
	stop      chan struct{}
	stopped   chan struct{}
}

// New returns a display writing to out. interval applies to Plain mode.
func New(out io.Writer, mode Mode, interval time.Duration) *Display {
	if interval <= 0 {
		interval = 5 * time.Second
	}
	// Logs, ticks and end lines come from several goroutines: one lock.
	out = &syncWriter{w: out}
	d := &Display{mode: mode, out: out, interval: interval}
	if mode == Live {
		d.bars = mpb.New(mpb.WithOutput(out), mpb.WithWidth(32), mpb.WithRefreshRate(150*time.Millisecond), mpb.WithAutoRefresh())
	}
	if mode == Plain {
		d.stop, d.stopped = make(chan struct{}), make(chan struct{})
		go d.tick()
	}
	return d
}

// Writer returns where logs should go while the display is up.
func (d *Display) Writer() io.Writer {
	if d.bars != nil {
		return barsWriter{d: d}
	}
	return d.out
}

// syncWriter serialises writes.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// barsWriter prints above the live bars (mpb serialises it with its own
// rendering), or directly once the bars are gone.
type barsWriter struct{ d *Display }

func (w barsWriter) Write(p []byte) (int, error) {
	n, err := w.d.bars.Write(p)
	if err != nil { // the bars are gone: write directly
		return w.d.out.Write(p)
	}
	return n, nil
}

// Counter tracks one scanner.
type Counter struct {
	d                     *Display
	name                  string
	total                 int64
	start                 time.Time
	done, failed, skipped atomic.Int64
	bar                   *mpb.Bar
	ended                 atomic.Bool
	endNanos              atomic.Int64 // elapsed time, frozen at End
}

// Begin starts tracking a scanner over total domains.
func (d *Display) Begin(name string, total int64) *Counter {
	c := &Counter{d: d, name: name, total: total, start: time.Now()}
	if d.bars != nil {
		c.bar = d.bars.AddBar(total,
			mpb.PrependDecorators(
				decor.Name(name, decor.WCSyncSpaceR),
				decor.CountersNoUnit("%d/%d", decor.WCSyncSpace),
			),
			mpb.AppendDecorators(
				decor.Any(func(decor.Statistics) string { return c.rateText() }, decor.WCSyncSpace),
				decor.Any(func(decor.Statistics) string {
					return fmt.Sprintf("failed %d  skipped %d", c.failed.Load(), c.skipped.Load())
				}, decor.WCSyncSpace),
			),
		)
	}
	d.mu.Lock()
	d.current = c
	d.mu.Unlock()
	return c
}

// Add counts one finished domain.
func (c *Counter) Add(s scan.Status) {
	c.done.Add(1)
	switch s {
	case scan.StatusFailed, scan.StatusTimeout, scan.StatusInterrupted:
		c.failed.Add(1)
	case scan.StatusSkipped:
		c.skipped.Add(1)
	}
	if c.bar != nil {
		c.bar.Increment()
	}
}

// End closes the scanner's line.
func (c *Counter) End() {
	if !c.ended.CompareAndSwap(false, true) {
		return
	}
	c.endNanos.Store(int64(time.Since(c.start)))
	if c.bar != nil {
		c.bar.SetTotal(-1, true) // complete at the current count, also when interrupted
		c.bar.Wait()
	}
	if c.d.mode == Plain {
		fmt.Fprintln(c.d.out, c.line())
	}
	c.d.mu.Lock()
	if c.d.current == c {
		c.d.current = nil
	}
	c.d.mu.Unlock()
}

// elapsed stops growing when the scanner ends, so a finished line keeps its
// final rate.
func (c *Counter) elapsed() time.Duration {
	if n := c.endNanos.Load(); n > 0 {
		return time.Duration(n)
	}
	return time.Since(c.start)
}

func (c *Counter) rateText() string {
	el := c.elapsed().Seconds()
	if el <= 0 {
		return "0/s"
	}
	return fmt.Sprintf("%.0f/s", float64(c.done.Load())/el)
}

func (c *Counter) line() string {
	return fmt.Sprintf("%s: %d/%d done (%s), %d failed, %d skipped, %s elapsed",
		c.name, c.done.Load(), c.total, c.rateText(), c.failed.Load(), c.skipped.Load(),
		c.elapsed().Round(time.Second))
}

func (d *Display) tick() {
	defer close(d.stopped)
	t := time.NewTicker(d.interval)
	defer t.Stop()
	for {
		select {
		case <-d.stop:
			return
		case <-t.C:
			d.mu.Lock()
			c := d.current
			d.mu.Unlock()
			if c != nil {
				fmt.Fprintln(d.out, c.line())
			}
		}
	}
}

// Close stops the display. It may be called more than once.
func (d *Display) Close() {
	d.closeOnce.Do(func() {
		if d.bars != nil {
			d.bars.Wait()
		}
		if d.stop != nil {
			close(d.stop)
			<-d.stopped
		}
	})
}
