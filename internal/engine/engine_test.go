package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/domainscan/domain-scan/internal/cache"
	"github.com/domainscan/domain-scan/internal/scan"
	"github.com/domainscan/domain-scan/internal/scanners/noop"
)

// sliceSource is an in-memory Source.
type sliceSource []string

func (s sliceSource) Len() int64 { return int64(len(s)) }
func (s sliceSource) Range(fn func(string) bool) error {
	for _, d := range s {
		if !fn(d) {
			break
		}
	}
	return nil
}

func domainsN(n int) sliceSource {
	out := make(sliceSource, n)
	for i := range out {
		out[i] = fmt.Sprintf("d%05d.example.gov", i)
	}
	return out
}

// fakeResult is a two-column result.
type fakeResult struct {
	Domain string `json:"domain"`
	N      int    `json:"n"`
}

func (r *fakeResult) Rows() [][]any { return [][]any{{r.Domain, r.N}} }

// fakeScanner behaves per domain as its behave function says.
type fakeScanner struct {
	name    string
	deps    []string
	workers int
	behave  func(ctx context.Context, d string) (scan.Result, error)
	calls   atomic.Int64
}

func (f *fakeScanner) Info() scan.Info {
	return scan.Info{Name: f.name, Headers: []string{"Name", "N"}, DependsOn: f.deps, Workers: f.workers}
}
func (f *fakeScanner) NewResult() scan.Result { return &fakeResult{} }
func (f *fakeScanner) Scan(ctx context.Context, job scan.Job) (scan.Result, error) {
	f.calls.Add(1)
	if f.behave != nil {
		return f.behave(ctx, job.Domain)
	}
	return &fakeResult{Domain: job.Domain, N: len(job.Domain)}, nil
}

func newEngine(t *testing.T, dir string, mod func(*Config)) *Engine {
	t.Helper()
	cfg := Config{
		ResultsDir:  filepath.Join(dir, "results"),
		Cache:       cache.New(filepath.Join(dir, "cache")),
		Meta:        true,
		ScanTimeout: 5 * time.Second,
		RunID:       "run",
	}
	if mod != nil {
		mod(&cfg)
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// readCSV returns the header and the data lines sorted.
func readCSV(t *testing.T, path string) (string, []string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\r\n"), "\r\n")
	data := lines[1:]
	sort.Strings(data)
	return lines[0], data
}

// stripTimes drops the three timing cells that --meta appends.
func stripTimes(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		cells := strings.Split(l, ",")
		out[i] = strings.Join(cells[:len(cells)-3], ",")
	}
	return out
}

func TestWorkersFor(t *testing.T) {
	tests := []struct {
		name    string
		scanner int
		flag    int
		serial  bool
		want    int
	}{
		{"default", 0, 0, false, 10},
		{"scanner default", 2, 0, false, 2},
		{"flag beats scanner", 2, 50, false, 50},
		{"flag without scanner default", 0, 7, false, 7},
		{"serial beats all", 2, 50, true, 1},
		{"no hidden cap", 0, 10000, false, 10000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := WorkersFor(scan.Info{Workers: tt.scanner}, tt.flag, tt.serial); got != tt.want {
				t.Errorf("WorkersFor = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestRunWritesEveryDomainOnce(t *testing.T) {
	dir := t.TempDir()
	e := newEngine(t, dir, func(c *Config) { c.Workers = 10000 })
	src := domainsN(3000)
	s := &fakeScanner{name: "fake"}
	sum, err := e.Run(context.Background(), []scan.Scanner{s}, src)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Interrupted || sum.Scanners[0].Counts.OK != 3000 || sum.Scanners[0].Workers != 10000 {
		t.Fatalf("summary = %+v", sum)
	}
	hdr, rows := readCSV(t, filepath.Join(dir, "results", "fake.csv"))
	if hdr != "Domain,Base Domain,Name,N,Local Errors,Local Start Time,Local End Time,Local Duration" {
		t.Errorf("header = %q", hdr)
	}
	if len(rows) != 3000 {
		t.Fatalf("%d rows, want 3000", len(rows))
	}
	for i, r := range stripTimes(rows) {
		d := src[i]
		want := fmt.Sprintf("%s,example.gov,%s,%d,", d, d, len(d))
		if r != want {
			t.Fatalf("row %d = %q, want %q", i, r, want)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "cache", "fake", src[7]+".json"))
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("{\n  \"domain\": %q,\n  \"n\": %d\n}", src[7], len(src[7]))
	if string(b) != want {
		t.Errorf("cache file = %q, want %q", b, want)
	}
}

func TestFailuresGiveBlankRows(t *testing.T) {
	dir := t.TempDir()
	e := newEngine(t, dir, func(c *Config) { c.ScanTimeout = 200 * time.Millisecond })
	s := &fakeScanner{name: "fake", behave: func(ctx context.Context, d string) (scan.Result, error) {
		switch d {
		case "err.gov":
			return nil, errors.New("connection refused")
		case "nil.gov":
			return nil, nil
		case "panic.gov":
			panic("boom")
		case "slow.gov": // honours its context
			<-ctx.Done()
			return nil, ctx.Err()
		case "stuck.gov": // ignores its context
			time.Sleep(3 * time.Second)
			return &fakeResult{}, nil
		}
		return &fakeResult{Domain: d, N: 1}, nil
	}}
	start := time.Now()
	sum, err := e.Run(context.Background(), []scan.Scanner{s},
		sliceSource{"ok.gov", "err.gov", "nil.gov", "panic.gov", "slow.gov", "stuck.gov"})
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 2500*time.Millisecond {
		t.Errorf("run took %s: a stuck scan held its worker past the deadline", el)
	}
	c := sum.Scanners[0].Counts
	if c.OK != 1 || c.Failed != 3 || c.Timeout != 2 {
		t.Errorf("counts = %+v", c)
	}
	_, rows := readCSV(t, filepath.Join(dir, "results", "fake.csv"))
	want := []string{
		"err.gov,err.gov,,,connection refused",
		"nil.gov,nil.gov,,,Scan returned nothing.",
		"ok.gov,ok.gov,ok.gov,1,",
		"panic.gov,panic.gov,,,panic: boom",
		"slow.gov,slow.gov,,,scan timed out after 200ms: context deadline exceeded",
		"stuck.gov,stuck.gov,,,scan timed out after 200ms: scanner did not stop at its deadline",
	}
	got := stripTimes(rows)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, d := range []string{"err.gov", "nil.gov", "slow.gov"} {
		b, err := os.ReadFile(filepath.Join(dir, "cache", "fake", d+".json"))
		if err != nil || string(b) != string(cache.Invalid) {
			t.Errorf("cache for %s = %q, %v; want the invalid marker", d, b, err)
		}
	}
}

// skipper skips odd-length domains in Prepare and reads prior results.
type skipper struct {
	fakeScanner
	sawPrior atomic.Int64
}

func (s *skipper) Prepare(_ context.Context, t scan.Target, prior scan.Lookup) (json.RawMessage, error) {
	if _, ok, _ := prior.Lookup("first", t.Domain); ok {
		s.sawPrior.Add(1)
	}
	if len(t.Domain)%2 == 1 {
		return nil, scan.ErrSkip
	}
	return nil, nil
}

func TestSkipAndDependencies(t *testing.T) {
	dir := t.TempDir()
	e := newEngine(t, dir, nil)
	first := &fakeScanner{name: "first"}
	second := &skipper{fakeScanner: fakeScanner{name: "second", deps: []string{"first"}}}
	reg, err := scan.NewRegistry(first, second)
	if err != nil {
		t.Fatal(err)
	}
	ordered, err := reg.Order([]string{"second", "first"})
	if err != nil {
		t.Fatal(err)
	}
	src := sliceSource{"a.gov", "bb.gov", "ccc.gov", "dddd.gov"}
	sum, err := e.Run(context.Background(), ordered, src)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Scanners[0].Name != "first" {
		t.Fatalf("first scanner run = %s", sum.Scanners[0].Name)
	}
	if got := second.sawPrior.Load(); got != 4 {
		t.Errorf("second saw %d prior results, want 4 (dependency ran first)", got)
	}
	c := sum.Scanners[1].Counts
	if c.Skipped != 2 || c.OK != 2 || c.Rows != 2 {
		t.Errorf("counts = %+v", c)
	}
	if _, err := os.Stat(filepath.Join(dir, "cache", "second", "a.gov.json")); !os.IsNotExist(err) {
		t.Errorf("skipped domain has a cache file: %v", err)
	}
}

func TestCacheRoundTrip(t *testing.T) {
	dir := t.TempDir()
	src := domainsN(200)
	s := &fakeScanner{name: "fake", behave: func(_ context.Context, d string) (scan.Result, error) {
		if strings.HasSuffix(d, "7.example.gov") {
			return nil, errors.New("down")
		}
		return &fakeResult{Domain: d, N: 3}, nil
	}}
	if _, err := newEngine(t, dir, nil).Run(context.Background(), []scan.Scanner{s}, src); err != nil {
		t.Fatal(err)
	}
	_, first := readCSV(t, filepath.Join(dir, "results", "fake.csv"))
	calls := s.calls.Load()

	sum, err := newEngine(t, dir, func(c *Config) { c.UseCache = true; c.Meta = false }).
		Run(context.Background(), []scan.Scanner{s}, src)
	if err != nil {
		t.Fatal(err)
	}
	if s.calls.Load() != calls {
		t.Errorf("scanned again with --cache: %d calls, want %d", s.calls.Load(), calls)
	}
	if c := sum.Scanners[0].Counts; c.Cached != 200 || c.OK != 180 || c.Failed != 20 {
		t.Errorf("counts = %+v", c)
	}
	_, second := readCSV(t, filepath.Join(dir, "results", "fake.csv"))
	// Same data cells; the failure rows keep their error (the original's
	// "Scan returned nothing." for cached failures) but lose their timings.
	for i := range first {
		a := stripTimes(first[i : i+1])[0]
		if strings.Contains(a, ",down") {
			a = strings.Replace(a, ",down", "", 1)
			if second[i] != a {
				t.Errorf("row %d: %q vs %q", i, a, second[i])
			}
			continue
		}
		if second[i] != strings.TrimSuffix(a, ",") {
			t.Errorf("row %d: %q vs %q", i, a, second[i])
		}
	}
}

// gate lets half the domains through at once and blocks the rest until the
// test has cancelled the run.
func TestInterruptAndResume(t *testing.T) {
	src := domainsN(400)
	ref := t.TempDir()
	plain := &fakeScanner{name: "fake"}
	if _, err := newEngine(t, ref, func(c *Config) { c.Meta = false }).Run(context.Background(), []scan.Scanner{plain}, src); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	var started atomic.Int64
	s := &fakeScanner{name: "fake", behave: func(_ context.Context, d string) (scan.Result, error) {
		if started.Add(1) == 200 {
			once.Do(cancel) // the first Ctrl-C, half way
		}
		time.Sleep(time.Millisecond)
		return &fakeResult{Domain: d, N: len(d)}, nil
	}}
	sum, err := newEngine(t, dir, func(c *Config) { c.Meta = false; c.Workers = 8 }).
		Run(ctx, []scan.Scanner{s, &fakeScanner{name: "later"}}, src)
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Interrupted {
		t.Fatal("summary not marked interrupted")
	}
	c := sum.Scanners[0].Counts
	if c.OK < 200 || c.OK >= 400 || c.NotStarted == 0 || c.OK+c.NotStarted != 400 {
		t.Fatalf("counts after interrupt = %+v", c)
	}
	if sum.Scanners[1].Ran || sum.Scanners[1].Counts.NotStarted != 400 {
		t.Errorf("the later scanner ran after the interrupt: %+v", sum.Scanners[1])
	}
	// Every finished scan is flushed to the CSV.
	_, rows := readCSV(t, filepath.Join(dir, "results", "fake.csv"))
	if int64(len(rows)) != c.OK {
		t.Errorf("%d rows flushed, %d scans finished", len(rows), c.OK)
	}

	before := s.calls.Load()
	if _, err := newEngine(t, dir, func(c *Config) { c.Meta = false; c.UseCache = true }).
		Run(context.Background(), []scan.Scanner{s}, src); err != nil {
		t.Fatal(err)
	}
	if got := s.calls.Load() - before; got != 400-c.OK {
		t.Errorf("resume scanned %d domains, want %d", got, 400-c.OK)
	}
	_, want := readCSV(t, filepath.Join(ref, "results", "fake.csv"))
	_, got := readCSV(t, filepath.Join(dir, "results", "fake.csv"))
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("resumed results differ from an uninterrupted run")
	}
}

func TestAbortStopsScansInFlight(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	abort, abortNow := context.WithCancel(context.Background())
	s := &fakeScanner{name: "fake", behave: func(c context.Context, d string) (scan.Result, error) {
		cancel()
		abortNow()
		<-c.Done()
		return nil, c.Err()
	}}
	sum, err := newEngine(t, dir, func(c *Config) { c.Abort = abort; c.Workers = 2; c.ScanTimeout = time.Minute }).
		Run(ctx, []scan.Scanner{s}, domainsN(10))
	if err != nil {
		t.Fatal(err)
	}
	c := sum.Scanners[0].Counts
	if c.Interrupted == 0 || c.Interrupted+c.NotStarted != 10 {
		t.Errorf("counts = %+v", c)
	}
	// Aborted scans leave no cache file, so a resume scans them again.
	files, _ := filepath.Glob(filepath.Join(dir, "cache", "fake", "*.json"))
	if len(files) != 0 {
		t.Errorf("aborted scans cached: %v", files)
	}
}

func TestJSONL(t *testing.T) {
	dir := t.TempDir()
	e := newEngine(t, dir, func(c *Config) { c.JSONL = true; c.CSV = false })
	if _, err := e.Run(context.Background(), []scan.Scanner{noop.New()}, sliceSource{"a.gov", "b.gov"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "results", "noop.csv")); !os.IsNotExist(err) {
		t.Errorf("csv written with only jsonl asked: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "results", "noop.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines", len(lines))
	}
	for _, l := range lines {
		var rec struct {
			Domain string `json:"domain"`
			Status string `json:"status"`
			Data   struct {
				Complete bool   `json:"complete"`
				Constant int    `json:"constant"`
				Variable string `json:"variable"`
			} `json:"data"`
		}
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		if rec.Status != "ok" || !rec.Data.Complete || rec.Data.Constant != 12345 || rec.Data.Variable != rec.Domain {
			t.Errorf("record = %+v", rec)
		}
	}
}
