package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/domainscan/domain-scan/internal/cache"
	"github.com/domainscan/domain-scan/internal/domains"
	"github.com/domainscan/domain-scan/internal/output"
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

	// Scans abandoned at their deadline keep a goroutine until they return;
	// past maxAbandoned of them the run stops, so memory stays bounded even
	// with a scanner that never honours its context.
	abandoned    atomic.Int64
	maxAbandoned int64
	stopFeed     context.CancelCauseFunc
}

// outcome is what a worker hands the writer: the record and its CSV rows,
// formatted in the worker so that scanner code (Rows) never runs, or
// panics, in the writer.
type outcome struct {
	rec  *scan.Record
	rows [][]string
}

func (p *pipeline) process(domain string) outcome {
	t := scan.Target{Domain: domain, BaseDomain: domains.BaseDomain(domain)}
	ctx, cancel := context.WithTimeout(p.base, p.cfg.ScanTimeout)
	defer cancel()

	if p.cfg.remote(p.info) {
		// A remote scan is an SDK call that honours its context: no guard
		// goroutine (and its stack) per in-flight invocation.
		rec := p.run(ctx, t)
		p.finish(rec)
		return outcome{rec: rec, rows: p.rows(rec)}
	}
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
			p.abandon(domain, out)
		}
	}
	p.finish(rec)
	return outcome{rec: rec, rows: p.rows(rec)}
}

func (p *pipeline) abandon(domain string, out <-chan *scan.Record) {
	n := p.abandoned.Add(1)
	go func() {
		<-out
		p.abandoned.Add(-1)
	}()
	p.log.Warn("abandoned a scan that ignored its deadline", "scanner", p.info.Name, "domain", domain, "still_running", n)
	if n > p.maxAbandoned {
		p.stopFeed(fmt.Errorf("scanner %s: %d scans ignored their deadline and are still running; stopping the run to keep memory bounded", p.info.Name, n))
	}
}

// rows formats the record's CSV rows. A result whose Rows panics becomes a
// failed record with the blank row.
func (p *pipeline) rows(rec *scan.Record) (rows [][]string) {
	defer func() {
		if v := recover(); v != nil {
			rec.Status, rec.Result, rec.Data = scan.StatusFailed, nil, nil
			rec.Errors = append(rec.Errors, fmt.Sprintf("rows: panic: %v", v))
			p.log.Warn("scanner rows panicked", "scanner", p.info.Name, "domain", rec.Domain, "panic", v)
			rows, _ = output.RecordRows(p.info, rec, p.cfg.Meta, p.cfg.remote(p.info))
		}
	}()
	rows, err := output.RecordRows(p.info, rec, p.cfg.Meta, p.cfg.remote(p.info))
	if err != nil {
		p.log.Warn("scanner returned malformed rows", "scanner", p.info.Name, "domain", rec.Domain, "error", err)
	}
	return rows
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
	job := scan.Job{Target: t, RunID: p.cfg.RunID, Options: maps.Clone(p.cfg.Options[p.info.Name]), Inputs: inputs}
	if p.cfg.remote(p.info) {
		return p.fromRemote(ctx, t, job)
	}
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
// The JSON is written as the original wrote it (floats keep their ".0").
func (p *pipeline) decode(t scan.Target, res scan.Result) *scan.Record {
	data, err := pyjson.Marshal(res)
	if err != nil {
		return p.failure(context.Background(), t, fmt.Errorf("encode result: %w", err))
	}
	if isNull(data) {
		return p.failure(context.Background(), t, errors.New(errNothing))
	}
	fresh := p.s.NewResult()
	if err := decodeJSON(data, fresh); err != nil {
		return p.failure(context.Background(), t, fmt.Errorf("decode result: %w", err))
	}
	return &scan.Record{Scanner: p.info.Name, Target: t, Status: scan.StatusOK, Source: scan.SourceLocal,
		Result: fresh, Data: data}
}

// decodeJSON keeps numbers in untyped fields as json.Number, so that a
// cell shows 1 where the original showed 1, not 1.0.
func decodeJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return dec.Decode(v)
}

// isNull reports a result that encodes to JSON null, which the original
// treated as no result.
func isNull(data []byte) bool { return bytes.Equal(bytes.TrimSpace(data), []byte("null")) }

// fromRemote runs the job on the remote executor and decodes its result
// as a cached one is decoded.
func (p *pipeline) fromRemote(ctx context.Context, t scan.Target, job scan.Job) *scan.Record {
	out := p.cfg.Remote.Execute(ctx, p.info, job)
	rec := &scan.Record{Scanner: p.info.Name, Target: t, Source: scan.SourceLambda, Status: out.Status,
		Errors: out.Errors, Start: out.Start, End: out.End, Lambda: out.Lambda}
	if out.Status == scan.StatusSkipped {
		return rec
	}
	if out.Status != scan.StatusOK {
		if p.base.Err() != nil {
			rec.Status = scan.StatusInterrupted
		}
		if len(rec.Errors) == 0 {
			rec.Errors = []string{errNothing}
		}
		return rec
	}
	if isNull(out.Data) || len(out.Data) == 0 {
		rec.Status, rec.Errors = scan.StatusFailed, append(rec.Errors, errNothing)
		return rec
	}
	data, err := pyjson.Reformat(out.Data)
	res := p.s.NewResult()
	if err == nil {
		err = decodeJSON(data, res)
	}
	if err != nil {
		rec.Status, rec.Errors = scan.StatusFailed, append(rec.Errors, "decode Lambda result: "+err.Error())
		return rec
	}
	rec.Result, rec.Data = res, data
	return rec
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
	if cache.IsInvalid(data) || isNull(data) {
		rec.Status = scan.StatusFailed
		rec.Errors = []string{errNothing}
		return rec
	}
	res := p.s.NewResult()
	if err := decodeJSON(data, res); err != nil {
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
		p.observe(o, rec)
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

// observe runs the scanner's Observe hook; a panic there is recorded on
// the domain, not allowed to stop the run.
func (p *pipeline) observe(o scan.Observer, rec *scan.Record) {
	defer func() {
		if v := recover(); v != nil {
			rec.Errors = append(rec.Errors, fmt.Sprintf("observe: panic: %v", v))
		}
	}()
	o.Observe(rec.Target, rec.Result)
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
