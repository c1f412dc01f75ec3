package engine

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/domainscan/domain-scan/internal/cache"
	"github.com/domainscan/domain-scan/internal/scan"
)

// nullResult encodes to JSON null, which the original treated as no result.
type nullResult struct{}

func (*nullResult) Rows() [][]any                { return [][]any{{"x", 1}} }
func (*nullResult) MarshalJSON() ([]byte, error) { return []byte("null"), nil }

// panicRows panics when asked for rows.
type panicRows struct {
	X int `json:"x"`
}

func (*panicRows) Rows() [][]any { panic("rows exploded") }

type observerPanics struct{ fakeScanner }

func (*observerPanics) Observe(scan.Target, scan.Result) { panic("observe exploded") }

func TestScannerBugsBecomeRows(t *testing.T) {
	dir := t.TempDir()
	var typedNil *fakeResult
	s := &observerPanics{fakeScanner{name: "fake", behave: func(_ context.Context, d string) (scan.Result, error) {
		switch d {
		case "null.gov":
			return &nullResult{}, nil
		case "typednil.gov":
			return typedNil, nil
		}
		return &fakeResult{Domain: d, N: 1}, nil
	}}}
	sum, err := newEngine(t, dir, nil).Run(context.Background(), []scan.Scanner{s},
		sliceSource{"ok.gov", "null.gov", "typednil.gov"})
	if err != nil {
		t.Fatal(err)
	}
	if c := sum.Scanners[0].Counts; c.OK != 1 || c.Failed != 2 || c.Rows != 3 {
		t.Errorf("counts = %+v", c)
	}
	_, rows := readCSV(t, filepath.Join(dir, "results", "fake.csv"))
	want := []string{
		"null.gov,null.gov,,,Scan returned nothing. observe: panic: observe exploded",
		"ok.gov,ok.gov,ok.gov,1,observe: panic: observe exploded",
		"typednil.gov,typednil.gov,,,Scan returned nothing. observe: panic: observe exploded",
	}
	if got := stripTimes(rows); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, d := range []string{"null.gov", "typednil.gov"} {
		if b, _ := os.ReadFile(filepath.Join(dir, "cache", "fake", d+".json")); string(b) != string(cache.Invalid) {
			t.Errorf("%s cached as %q, want the invalid marker", d, b)
		}
	}
}

type panicRowsScanner struct{ fakeScanner }

func (*panicRowsScanner) NewResult() scan.Result { return &panicRows{} }
func (*panicRowsScanner) Scan(context.Context, scan.Job) (scan.Result, error) {
	return &panicRows{X: 1}, nil
}

func TestRowsPanicIsAFailedRow(t *testing.T) {
	dir := t.TempDir()
	sum, err := newEngine(t, dir, nil).Run(context.Background(), []scan.Scanner{&panicRowsScanner{fakeScanner{name: "fake"}}}, sliceSource{"a.gov"})
	if err != nil {
		t.Fatal(err)
	}
	if c := sum.Scanners[0].Counts; c.Failed != 1 || c.Rows != 1 {
		t.Errorf("counts = %+v", c)
	}
	_, rows := readCSV(t, filepath.Join(dir, "results", "fake.csv"))
	if got := stripTimes(rows); len(got) != 1 || got[0] != "a.gov,a.gov,,,rows: panic: rows exploded" {
		t.Errorf("rows = %q", got)
	}
}

// TestNumbersKeepTheirType: floats are cached as the original cached them
// (1.0, not 1) and numbers in untyped fields print as written.
type numbersResult struct {
	Score float64        `json:"score"`
	Extra map[string]any `json:"extra"`
}

func (r *numbersResult) Rows() [][]any { return [][]any{{r.Score, r.Extra}} }

type numbersScanner struct{ fakeScanner }

func (*numbersScanner) NewResult() scan.Result { return &numbersResult{} }
func (*numbersScanner) Scan(context.Context, scan.Job) (scan.Result, error) {
	return &numbersResult{Score: 1, Extra: map[string]any{"n": 1, "big": int64(1) << 60, "f": 0.5}}, nil
}

func TestNumbersKeepTheirType(t *testing.T) {
	dir := t.TempDir()
	s := &numbersScanner{fakeScanner{name: "fake"}}
	for _, useCache := range []bool{false, true} {
		e := newEngine(t, dir, func(c *Config) { c.Meta = false; c.UseCache = useCache })
		if _, err := e.Run(context.Background(), []scan.Scanner{s}, sliceSource{"a.gov"}); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(filepath.Join(dir, "results", "fake.csv"))
		want := "Domain,Base Domain,Name,N\r\na.gov,a.gov,1.0,\"{'big': 1152921504606846976, 'f': 0.5, 'n': 1}\"\r\n"
		if string(b) != want {
			t.Errorf("cache=%v: csv = %q, want %q", useCache, b, want)
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "cache", "fake", "a.gov.json"))
	want := "{\n  \"extra\": {\n    \"big\": 1152921504606846976,\n    \"f\": 0.5,\n    \"n\": 1\n  },\n  \"score\": 1.0\n}"
	if string(b) != want {
		t.Errorf("cache = %q, want %q", b, want)
	}
}

// failAfter is a results file whose writes fail after n bytes.
type failAfter struct {
	n       int
	written int
}

func (f *failAfter) Write(p []byte) (int, error) {
	if f.written+len(p) > f.n {
		return 0, errors.New("disk full")
	}
	f.written += len(p)
	return len(p), nil
}
func (f *failAfter) Close() error { return nil }

func TestWriteErrorStopsTheRun(t *testing.T) {
	dir := t.TempDir()
	s := &fakeScanner{name: "fake", behave: func(_ context.Context, d string) (scan.Result, error) {
		time.Sleep(time.Millisecond)
		return &fakeResult{Domain: d}, nil
	}}
	e := newEngine(t, dir, func(c *Config) {
		c.Workers = 4
		c.Create = func(string) (io.WriteCloser, error) { return &failAfter{n: 200}, nil }
	})
	sum, err := e.Run(context.Background(), []scan.Scanner{s}, domainsN(5000))
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("err = %v, want the write error", err)
	}
	if calls := s.calls.Load(); calls > 1000 {
		t.Errorf("%d domains scanned after the results file failed; the run should stop feeding", calls)
	}
	if sum.Scanners[0].Counts.NotStarted == 0 {
		t.Errorf("counts = %+v", sum.Scanners[0].Counts)
	}
}

func TestAbandonedScansAreBounded(t *testing.T) {
	dir := t.TempDir()
	var running atomic.Int64
	release := make(chan struct{})
	defer close(release)
	s := &fakeScanner{name: "fake", behave: func(context.Context, string) (scan.Result, error) {
		running.Add(1)
		<-release // ignores its context entirely
		return &fakeResult{}, nil
	}}
	e := newEngine(t, dir, func(c *Config) {
		c.Workers = 8
		c.ScanTimeout = 10 * time.Millisecond
		c.MaxAbandoned = 4
	})
	start := time.Now()
	_, err := e.Run(context.Background(), []scan.Scanner{s}, domainsN(1000))
	if err == nil || !strings.Contains(err.Error(), "ignored their deadline") {
		t.Fatalf("err = %v, want the abandoned-scans error", err)
	}
	if n := running.Load(); n > 32 {
		t.Errorf("%d scans started; the run should stop soon after 4 were abandoned", n)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("took %s", el)
	}
}

func TestNotStartedScannersGetHeaderOnlyFiles(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	sum, err := newEngine(t, dir, func(c *Config) { c.Meta = false }).
		Run(ctx, []scan.Scanner{&fakeScanner{name: "a"}, &fakeScanner{name: "b"}}, domainsN(3))
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Interrupted {
		t.Error("not marked interrupted")
	}
	for _, n := range []string{"a", "b"} {
		b, err := os.ReadFile(filepath.Join(dir, "results", n+".csv"))
		if err != nil || string(b) != "Domain,Base Domain,Name,N\r\n" {
			t.Errorf("%s.csv = %q, %v", n, b, err)
		}
	}
	for _, ss := range sum.Scanners {
		if ss.Counts.Total != 3 || ss.Counts.NotStarted != 3 {
			t.Errorf("%s counts = %+v", ss.Name, ss.Counts)
		}
	}
}

func TestCompleteRunIsNotInterrupted(t *testing.T) {
	// Cancelling after every domain was fed does not make a complete run
	// an interrupted one.
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	s := &fakeScanner{name: "fake", behave: func(_ context.Context, d string) (scan.Result, error) {
		if d == "last.gov" {
			cancel()
		}
		return &fakeResult{Domain: d}, nil
	}}
	sum, err := newEngine(t, dir, func(c *Config) { c.Workers = 1 }).Run(ctx, []scan.Scanner{s}, sliceSource{"a.gov", "last.gov"})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Interrupted || sum.Scanners[0].Counts.OK != 2 {
		t.Errorf("summary = %+v", sum)
	}
}
