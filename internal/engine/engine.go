// Package engine runs scanners over a stream of domains: one worker pool per
// scanner, scanners in dependency order, an absolute deadline per scan, the
// cache, and one writer goroutine per output file.
package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/domainscan/domain-scan/internal/cache"
	"github.com/domainscan/domain-scan/internal/output"
	"github.com/domainscan/domain-scan/internal/scan"
)

// DefaultWorkers is the pool size when neither --workers nor the scanner says.
const DefaultWorkers = 10

// DefaultScanTimeout bounds one domain's pipeline for one scanner.
const DefaultScanTimeout = 60 * time.Second

// Source streams the domains of a run. Range may be called once per scanner.
type Source interface {
	Len() int64
	Range(fn func(domain string) bool) error
}

// Progress receives per-scanner progress. Implementations must be safe for
// concurrent use.
type Progress interface {
	Begin(scanner string, total int64) Counter
}

// Counter counts finished domains of one scanner.
type Counter interface {
	Add(s scan.Status)
	End()
}

// Config is what a run needs besides its scanners and domains.
type Config struct {
	// ResultsDir receives <scanner>.csv (and .jsonl).
	ResultsDir string
	// Cache is the per-domain cache; it is always written.
	Cache *cache.Store
	// UseCache serves results from the cache when present (--cache).
	UseCache bool
	// Meta appends the meta columns (--meta).
	Meta bool
	// CSV and JSONL select the result formats.
	CSV, JSONL bool
	// Workers is --workers (0 when not given); Serial is --serial.
	Workers int
	Serial  bool
	// ScanTimeout is the absolute deadline of one domain's pipeline.
	ScanTimeout time.Duration
	// RunID is the scan_uuid.
	RunID string
	// Options holds, per scanner, the scanner's own flags that were set.
	Options map[string]map[string]string
	// Abort, when done, cancels scans in flight (the second Ctrl-C). Until
	// then a cancelled run context only stops new scans from starting.
	Abort    context.Context
	Logger   *slog.Logger
	Progress Progress
	// Create opens a results file by name (noop.csv); nil means a file in
	// ResultsDir. It is the seam for other destinations.
	Create func(name string) (io.WriteCloser, error)
	// MaxAbandoned is how many scans that ignored their deadline may still
	// be running before the run stops; 0 means max(64, workers).
	MaxAbandoned int
	// Remote, when set, runs the scans of Lambda-capable scanners (Info.Lambda)
	// elsewhere (AWS Lambda); other scanners still run here.
	Remote Executor
}

// Executor runs a scan somewhere else and hands back its result as JSON.
// Implementations must be safe for concurrent use and never fail the run:
// every problem is an Outcome with errors.
type Executor interface {
	Execute(ctx context.Context, info scan.Info, job scan.Job) Outcome
}

// Outcome is what a remote scan produced.
type Outcome struct {
	// Status is StatusOK (Data holds the result), StatusFailed or
	// StatusTimeout.
	Status scan.Status
	Data   json.RawMessage
	Errors []string
	Start  time.Time
	End    time.Time
	Lambda *scan.LambdaMeta
}

// remote reports whether info's scans go to the Remote executor.
func (c Config) remote(info scan.Info) bool { return c.Remote != nil && info.Lambda }

// WorkersFor applies the precedence --serial, --workers, the scanner's
// default, DefaultWorkers. Unlike the original there is no cap: workers are
// goroutines.
func WorkersFor(info scan.Info, workers int, serial bool) int {
	switch {
	case serial:
		return 1
	case workers > 0:
		return workers
	case info.Workers > 0:
		return info.Workers
	default:
		return DefaultWorkers
	}
}

// Counts tallies the outcomes of one scanner.
type Counts struct {
	Total       int64 `json:"domains"`
	OK          int64 `json:"ok"`
	Failed      int64 `json:"failed"`
	Timeout     int64 `json:"timeout"`
	Skipped     int64 `json:"skipped"`
	Interrupted int64 `json:"interrupted"`
	Cached      int64 `json:"from_cache"`
	NotStarted  int64 `json:"not_started"`
	Rows        int64 `json:"rows"`
}

// ScannerSummary is one scanner's part of a run.
type ScannerSummary struct {
	Name       string
	Workers    int
	Start, End time.Time
	Counts     Counts
	Ran        bool
}

// Summary is what Run reports.
type Summary struct {
	Scanners    []ScannerSummary
	Interrupted bool
}

// Engine runs scanners.
type Engine struct {
	cfg Config
	log *slog.Logger
}

// New checks cfg and returns an engine.
func New(cfg Config) (*Engine, error) {
	if (cfg.ResultsDir == "" && cfg.Create == nil) || cfg.Cache == nil {
		return nil, errors.New("engine: a results dir (or Create) and a cache are required")
	}
	if !cfg.CSV && !cfg.JSONL {
		cfg.CSV = true
	}
	if cfg.ScanTimeout <= 0 {
		cfg.ScanTimeout = DefaultScanTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Engine{cfg: cfg, log: cfg.Logger}, nil
}

// prepareResultsDir makes the results directory and, like the original,
// removes stale results so that no file mixes runs.
func (e *Engine) prepareResultsDir() error {
	if err := os.MkdirAll(e.cfg.ResultsDir, 0o755); err != nil {
		return fmt.Errorf("create results dir: %w", err)
	}
	for _, pat := range []string{"*.csv", "*.jsonl"} {
		old, _ := filepath.Glob(filepath.Join(e.cfg.ResultsDir, pat))
		for _, f := range old {
			if err := os.Remove(f); err != nil {
				return fmt.Errorf("remove old result %s: %w", f, err)
			}
		}
	}
	return nil
}

// Run scans every domain of src with each scanner, in the given order (see
// scan.Registry.Order). Cancelling ctx stops new scans from starting; the
// scans in flight finish (or time out, or stop when cfg.Abort is done), all
// outputs are flushed and Summary.Interrupted is set. Domain failures are
// records, never errors: an error means the run itself could not go on.
func (e *Engine) Run(ctx context.Context, scanners []scan.Scanner, src Source) (Summary, error) {
	var sum Summary
	if e.cfg.Create == nil {
		if err := e.prepareResultsDir(); err != nil {
			return sum, err
		}
	}
	for _, s := range scanners {
		if ctx.Err() != nil {
			// Not started because of an interrupt: a header-only file, so
			// that every scanner asked for has its results file.
			ss := ScannerSummary{Name: s.Info().Name, Counts: Counts{Total: src.Len(), NotStarted: src.Len()}}
			sum.Scanners = append(sum.Scanners, ss)
			sum.Interrupted = true
			sk, err := openSink(e.cfg, s.Info())
			if err == nil {
				err = sk.close()
			}
			if err != nil {
				return sum, err
			}
			continue
		}
		ss, err := e.runScanner(ctx, s, src)
		sum.Scanners = append(sum.Scanners, ss)
		if err != nil {
			return sum, err
		}
		if ss.Counts.NotStarted > 0 {
			sum.Interrupted = true
		}
	}
	return sum, nil
}

func (e *Engine) runScanner(ctx context.Context, s scan.Scanner, src Source) (ScannerSummary, error) {
	info := s.Info()
	sum := ScannerSummary{Name: info.Name, Workers: WorkersFor(info, e.cfg.Workers, e.cfg.Serial), Ran: true}
	sink, err := openSink(e.cfg, info)
	if err != nil {
		return sum, err
	}
	cfg := e.cfg
	if cfg.remote(info) {
		// The function enforces its own deadline; the local one only
		// guards against an invoke that never returns, and leaves room
		// for the executor's retries.
		budget := lambdaTimeout(info) + 30*time.Second
		if b, ok := cfg.Remote.(interface{ Budget(scan.Info) time.Duration }); ok {
			budget = b.Budget(info)
		}
		cfg.ScanTimeout = max(cfg.ScanTimeout, budget)
	}
	var counter Counter = nopCounter{}
	if e.cfg.Progress != nil {
		counter = e.cfg.Progress.Begin(info.Name, src.Len())
	}
	abort := e.cfg.Abort
	if abort == nil {
		abort = context.Background()
	}
	// In-flight scans keep ctx's values but not its cancellation: the first
	// interrupt only stops new scans. Abort cancels them.
	scanBase, stopBase := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBase()
	stopAbort := context.AfterFunc(abort, stopBase)
	defer stopAbort()
	// feed stops on an interrupt, and also when the run cannot go on (a
	// results file cannot be written, scanners that ignore deadlines pile up).
	feed, stopFeed := context.WithCancelCause(ctx)
	defer stopFeed(nil)

	sum.Start = time.Now()
	jobs := make(chan string, sum.Workers)
	outcomes := make(chan outcome, sum.Workers)
	var counts Counts
	var fed atomic.Int64

	// The one writer of this scanner's result files.
	writeErr := make(chan error, 1)
	go func() {
		writeErr <- sink.consume(outcomes, counter, &counts, stopFeed)
	}()

	p := &pipeline{cfg: cfg, log: e.log, s: s, info: info, base: scanBase,
		maxAbandoned: int64(max(64, sum.Workers)), stopFeed: stopFeed}
	if e.cfg.MaxAbandoned > 0 {
		p.maxAbandoned = int64(e.cfg.MaxAbandoned)
	}
	var wg sync.WaitGroup
	for range sum.Workers {
		wg.Go(func() {
			for d := range jobs {
				if feed.Err() != nil {
					fed.Add(-1) // queued but not started: counted as such
					continue
				}
				outcomes <- p.process(d)
			}
		})
	}
	rangeErr := src.Range(func(d string) bool {
		select {
		case <-feed.Done():
			return false
		default:
		}
		select {
		case jobs <- d:
			fed.Add(1)
			return true
		case <-feed.Done():
			return false
		}
	})
	close(jobs)
	wg.Wait()
	close(outcomes)
	werr := <-writeErr
	counter.End()
	sum.End = time.Now()
	counts.NotStarted = src.Len() - fed.Load()
	counts.Total = src.Len()
	sum.Counts = counts
	cerr := sink.close()
	switch {
	case rangeErr != nil:
		return sum, fmt.Errorf("read domains for %s: %w", info.Name, rangeErr)
	case werr != nil:
		return sum, werr
	case cerr != nil:
		return sum, cerr
	}
	if cause := context.Cause(feed); cause != nil && !errors.Is(cause, context.Canceled) {
		return sum, cause
	}
	e.log.Debug("scanner finished", "scanner", info.Name, "ok", counts.OK, "failed", counts.Failed,
		"timeout", counts.Timeout, "skipped", counts.Skipped, "cached", counts.Cached)
	return sum, nil
}

type namedCloser struct {
	io.Closer
	name string
}

type nopCounter struct{}

func (nopCounter) Add(scan.Status) {}
func (nopCounter) End()            {}

// sink owns the result files of one scanner.
type sink struct {
	info  scan.Info
	meta  bool
	files []namedCloser
	csv   *output.CSVWriter
	jsonl *output.JSONLWriter
}

func openSink(cfg Config, info scan.Info) (_ *sink, err error) {
	sk := &sink{info: info, meta: cfg.Meta}
	defer func() {
		if err != nil {
			sk.close()
		}
	}()
	create := cfg.Create
	if create == nil {
		create = func(name string) (io.WriteCloser, error) {
			return os.Create(filepath.Join(cfg.ResultsDir, name))
		}
	}
	open := func(ext string) (io.WriteCloser, error) {
		f, err := create(info.Name + ext)
		if err != nil {
			return nil, fmt.Errorf("create results file %s%s: %w", info.Name, ext, err)
		}
		sk.files = append(sk.files, namedCloser{f, info.Name + ext})
		return f, nil
	}
	if cfg.CSV {
		f, err := open(".csv")
		if err != nil {
			return nil, err
		}
		sk.csv = output.NewCSVWriter(f)
		if err := sk.csv.Write(output.Header(info, cfg.Meta, cfg.remote(info))); err != nil {
			return nil, fmt.Errorf("write %s.csv header: %w", info.Name, err)
		}
	}
	if cfg.JSONL {
		f, err := open(".jsonl")
		if err != nil {
			return nil, err
		}
		sk.jsonl = output.NewJSONLWriter(f)
	}
	if err := sk.flush(); err != nil {
		return nil, err
	}
	return sk, nil
}

// consume writes outcomes as they come and flushes whenever it has caught
// up, so rows reach the disk promptly without a write per row under load.
// After a write error it only counts (so workers never block) and the
// caller stops the feed.
func (sk *sink) consume(outcomes <-chan outcome, counter Counter, c *Counts, stop context.CancelCauseFunc) error {
	var firstErr error
	for o := range outcomes {
		rec := o.rec
		count(c, rec)
		counter.Add(rec.Status)
		if firstErr != nil || rec.Status == scan.StatusSkipped {
			continue
		}
		if sk.csv != nil {
			for _, row := range o.rows {
				if err := sk.csv.Write(row); err != nil {
					firstErr = fmt.Errorf("write %s.csv: %w", sk.info.Name, err)
					break
				}
			}
			c.Rows += int64(len(o.rows))
		}
		if sk.jsonl != nil && firstErr == nil {
			if err := sk.jsonl.Write(rec); err != nil {
				firstErr = fmt.Errorf("write %s.jsonl: %w", sk.info.Name, err)
			}
		}
		if len(outcomes) == 0 && firstErr == nil {
			firstErr = sk.flush()
		}
		if firstErr != nil && stop != nil {
			stop(firstErr)
			stop = nil
		}
	}
	if firstErr != nil {
		return firstErr
	}
	return sk.flush()
}

// lambdaTimeout is the scanner's function timeout (default 60 s).
func lambdaTimeout(info scan.Info) time.Duration {
	if info.LambdaTimeout > 0 {
		return info.LambdaTimeout
	}
	return 60 * time.Second
}

func count(c *Counts, rec *scan.Record) {
	switch rec.Status {
	case scan.StatusOK:
		c.OK++
	case scan.StatusFailed:
		c.Failed++
	case scan.StatusTimeout:
		c.Timeout++
	case scan.StatusSkipped:
		c.Skipped++
	case scan.StatusInterrupted:
		c.Interrupted++
	}
	if rec.Source == scan.SourceCache {
		c.Cached++
	}
}

func (sk *sink) flush() error {
	if sk.csv != nil {
		if err := sk.csv.Flush(); err != nil {
			return fmt.Errorf("flush %s.csv: %w", sk.info.Name, err)
		}
	}
	if sk.jsonl != nil {
		if err := sk.jsonl.Flush(); err != nil {
			return fmt.Errorf("flush %s.jsonl: %w", sk.info.Name, err)
		}
	}
	return nil
}

func (sk *sink) close() error {
	var first error
	for _, f := range sk.files {
		if err := f.Close(); err != nil && first == nil {
			first = fmt.Errorf("close %s: %w", f.name, err)
		}
	}
	return first
}
