package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/domainscan/domain-scan/internal/cache"
	"github.com/domainscan/domain-scan/internal/domains"
	"github.com/domainscan/domain-scan/internal/pyjson"
	"github.com/domainscan/domain-scan/internal/scan"
)

// errNothing is the original's message for a scan that produced no data.
const errNothing = "Scan returned nothing."

// stopGrace is how long a scan may take to return after its context ended
// before the engine gives up on it and moves on.
const stopGrace = time.Second

// pipeline is the per-domain work of one scanner (the original's
// perform_scan): prepare, cache read, scan, observe, cache write.
type pipeline struct {
	cfg  Config
	log  *slog.Logger
	s    scan.Scanner
	info scan.Info
	base context.Context // cancelled only by Abort
}

func (p *pipeline) process(domain string) *scan.Record {
	t := scan.Target{Domain: domain, BaseDomain: domains.BaseDomain(domain)}
	ctx, cancel := context.WithTimeout(p.base, p.cfg.ScanTimeout)
	defer cancel()

	// The work runs in its own goroutine so that a scanner that ignores its
	// context still cannot hold a worker past the deadline.
	out := make(chan *scan.Record, 1)
	go func() { out <- p.run(ctx, t) }()
	var rec *scan.Record
	select {
	case rec = <-out:
	case <-ctx.Done():
		select {
		case rec = <-out:
		case <-time.After(stopGrace):
			rec = p.failure(ctx, t, fmt.Errorf("scanner did not stop at its deadline"))
			p.log.Warn("abandoned a scan that ignored its deadline", "scanner", p.info.Name, "domain", domain)
		}
	}
	p.finish(rec)
	return rec
}

// run does everything that may block; process does what must happen once.
func (p *pipeline) run(ctx context.Context, t scan.Target) (rec *scan.Record) {
	defer func() {
		if v := recover(); v != nil {
			p.log.Debug("scanner panic", "scanner", p.info.Name, "domain", t.Domain, "stack", string(debug.Stack()))
			rec = &scan.Record{Scanner: p.info.Name, Target: t, Status: scan.StatusFailed,
				Source: scan.SourceLocal, Errors: []string{fmt.Sprintf("panic: %v", v)}}
		}
	}()
	var inputs json.RawMessage
	if pr, ok := p.s.(scan.Preparer); ok {
		in, err := pr.Prepare(ctx, t, p.cfg.Cache)
		if errors.Is(err, scan.ErrSkip) {
			return &scan.Record{Scanner: p.info.Name, Target: t, Status: scan.StatusSkipped, Source: scan.SourceLocal}
		}
		if err != nil {
			return p.failure(ctx, t, fmt.Errorf("prepare: %w", err))
		}
		inputs = in
	}
	if p.cfg.UseCache {
		if rec := p.fromCache(t); rec != nil {
			return rec
		}
	}
	job := scan.Job{Target: t, RunID: p.cfg.RunID, Options: p.cfg.Options[p.info.Name], Inputs: inputs}
	start := time.Now()
	res, err := p.s.Scan(ctx, job)
	end := time.Now()
	var rec2 *scan.Record
	switch {
	case err != nil:
		rec2 = p.failure(ctx, t, err)
	case res == nil:
		rec2 = p.failure(ctx, t, errors.New(errNothing))
	default:
		rec2 = p.decode(t, res)
	}
	rec2.Start, rec2.End = start, end
	return rec2
}

// failure classifies an error: the deadline passed (timeout), the run was
// aborted (interrupted), or the scan failed.
func (p *pipeline) failure(ctx context.Context, t scan.Target, err error) *scan.Record {
	rec := &scan.Record{Scanner: p.info.Name, Target: t, Status: scan.StatusFailed, Source: scan.SourceLocal}
	switch {
	case p.base.Err() != nil:
		rec.Status = scan.StatusInterrupted
		rec.Errors = []string{"interrupted: " + err.Error()}
	case ctx.Err() != nil:
		rec.Status = scan.StatusTimeout
		rec.Errors = []string{fmt.Sprintf("scan timed out after %s: %v", p.cfg.ScanTimeout, err)}
	default:
		rec.Errors = []string{err.Error()}
	}
	return rec
}

// decode gives the result a JSON round trip, so that rows are built from
// exactly what is cached, as they are for cache hits and remote results.
func (p *pipeline) decode(t scan.Target, res scan.Result) *scan.Record {
	raw, err := json.Marshal(res)
	if err != nil {
		return p.failure(context.Background(), t, fmt.Errorf("encode result: %w", err))
	}
	data, err := pyjson.Reformat(raw)
	if err != nil {
		return p.failure(context.Background(), t, fmt.Errorf("format result: %w", err))
	}
	fresh := p.s.NewResult()
	if err := json.Unmarshal(raw, fresh); err != nil {
		return p.failure(context.Background(), t, fmt.Errorf("decode result: %w", err))
	}
	return &scan.Record{Scanner: p.info.Name, Target: t, Status: scan.StatusOK, Source: scan.SourceLocal,
		Result: fresh, Data: data}
}

// fromCache returns the cached record, or nil to scan.
func (p *pipeline) fromCache(t scan.Target) *scan.Record {
	data, ok, err := p.cfg.Cache.Read(p.info.Name, t.Domain)
	if err != nil {
		p.log.Warn("cache unreadable, scanning again", "scanner", p.info.Name, "domain", t.Domain, "error", err)
		return nil
	}
	if !ok {
		return nil
	}
	rec := &scan.Record{Scanner: p.info.Name, Target: t, Source: scan.SourceCache}
	if cache.IsInvalid(data) {
		rec.Status = scan.StatusFailed
		rec.Errors = []string{errNothing}
		return rec
	}
	res := p.s.NewResult()
	if err := json.Unmarshal(data, res); err != nil {
		p.log.Warn("cached result does not decode, scanning again", "scanner", p.info.Name, "domain", t.Domain, "error", err)
		return nil
	}
	rec.Status, rec.Result, rec.Data = scan.StatusOK, res, data
	return rec
}

// finish feeds the observer and writes the cache. Interrupted scans leave no
// cache file, so that a resumed run scans them again.
func (p *pipeline) finish(rec *scan.Record) {
	if rec.Status == scan.StatusSkipped {
		p.log.Info("skipped", "scanner", p.info.Name, "domain", rec.Domain)
		return
	}
	if o, ok := p.s.(scan.Observer); ok {
		o.Observe(rec.Target, rec.Result)
	}
	if rec.Source != scan.SourceCache {
		var err error
		switch rec.Status {
		case scan.StatusOK:
			err = p.cfg.Cache.Write(p.info.Name, rec.Domain, rec.Data)
		case scan.StatusFailed, scan.StatusTimeout:
			err = p.cfg.Cache.WriteInvalid(p.info.Name, rec.Domain)
		}
		if err != nil {
			rec.Errors = append(rec.Errors, "cache write: "+err.Error())
			p.log.Warn("cache write failed", "scanner", p.info.Name, "domain", rec.Domain, "error", err)
		}
	}
	if len(rec.Errors) > 0 {
		p.log.Warn("scan "+string(rec.Status), "scanner", p.info.Name, "domain", rec.Domain, "error", joinErrors(rec.Errors))
	}
}

func joinErrors(errs []string) string {
	s := ""
	for i, e := range errs {
		if i > 0 {
			s += " "
		}
		s += e
	}
	return s
}
