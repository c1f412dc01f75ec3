package awslambda

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/domainscan/domain-scan/internal/atomicfile"
	"github.com/domainscan/domain-scan/internal/domains"
	"github.com/domainscan/domain-scan/internal/netx"
	"github.com/domainscan/domain-scan/internal/objstore"
	"github.com/domainscan/domain-scan/internal/pyjson"
	"github.com/domainscan/domain-scan/internal/scan"
)

// NetworkOptions are the general flags that travel with a scanner's own;
// the CA file travels as its PEM text.
var NetworkOptions = []string{"dns", "ca_file_pem", "port-map"}

// Handler serves invocations for every Lambda-capable scanner of one
// binary. It is safe for concurrent use (the runtime may run several invoke
// loops in one process) and keeps no per-invocation state.
type Handler struct {
	newScanners func() []scan.Scanner
	version     string
	log         *slog.Logger

	mu     sync.Mutex
	ready  map[string]*readyScanner // by scanner, options and run
	stores map[string]objstore.Store

	// Coordinator serves coordinator events (Request.Coordinate); set by
	// the binary, since the asynchronous-run code depends on this package.
	Coordinator func(ctx context.Context, req Request) error
}

// readyScanner is an initialised scanner instance, reused across
// invocations with the same options (Init can be costly).
type readyScanner struct {
	mu sync.Mutex
	s  scan.Scanner
}

// maxReady bounds the initialised scanners kept per process.
const maxReady = 32

// NewHandler returns a handler over fresh scanners from newScanners.
func NewHandler(newScanners func() []scan.Scanner, version string, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Handler{newScanners: newScanners, version: version, log: log, ready: map[string]*readyScanner{}}
}

// errorMargin is how long before the function's deadline the handler stops
// scanning, so that it can still answer with what it has.
func errorMargin(remaining time.Duration) time.Duration {
	return max(2*time.Second, remaining/20)
}

// Handle serves one event. Scan failures are data (error, status), never a
// function error; only a malformed event or an unknown scanner is.
func (h *Handler) Handle(ctx context.Context, req Request) (Response, error) {
	start := time.Now()
	resp := Response{Version: h.version}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		resp.Lambda.RequestID = lc.AwsRequestID
	}
	resp.Lambda.LogGroupName = lambdacontext.LogGroupName
	resp.Lambda.LogStreamName = lambdacontext.LogStreamName
	resp.Lambda.MemoryLimit = fmt.Sprint(lambdacontext.MemoryLimitInMB)
	resp.Lambda.StartTime = epoch(start)

	if req.Coordinate != nil {
		if h.Coordinator == nil {
			return resp, errors.New("this function cannot coordinate asynchronous runs")
		}
		// An error makes Lambda retry the event; a retried coordinator
		// resumes from what the run's objects say.
		return resp, h.Coordinator(ctx, req)
	}
	s, err := h.scanner(ctx, req)
	if err != nil {
		return resp, err
	}
	list := req.Domains
	single := len(list) == 0
	if single {
		if req.Domain == "" {
			return resp, errors.New("event has neither domain nor domains")
		}
		list = []string{req.Domain}
	}
	scanCtx := ctx
	if d, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		scanCtx, cancel = context.WithDeadline(ctx, d.Add(-errorMargin(time.Until(d))))
		defer cancel()
	}
	// Each domain answers on its own slot; whatever has not answered when
	// the scan deadline passes (a scanner ignoring its context) is
	// reported as timed out, so the finished ones are never lost.
	slots := make([]chan Result, len(list))
	sem := make(chan struct{}, 256)
	for i, d := range list {
		slots[i] = make(chan Result, 1)
		go func() {
			select {
			case sem <- struct{}{}:
			case <-scanCtx.Done():
				slots[i] <- Result{Domain: d, Status: string(scan.StatusTimeout), Error: "not started before the function's deadline"}
				return
			}
			defer func() { <-sem }()
			slots[i] <- h.scanOne(scanCtx, s, req, d)
		}()
	}
	results := make([]Result, len(list))
	// After the scan deadline, the scans that have not answered share one
	// short grace period (not one each), so the batch is still answered.
	var grace <-chan struct{}
	for i, slot := range slots {
		select {
		case results[i] = <-slot:
			continue
		case <-scanCtx.Done():
		}
		if grace == nil {
			gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 500*time.Millisecond)
			defer cancel()
			grace = gctx.Done()
		}
		select {
		case results[i] = <-slot:
		case <-grace:
			results[i] = Result{Domain: list[i], Status: string(scan.StatusTimeout),
				Error: "stopped before the function's deadline: the scan did not return"}
		}
	}
	end := time.Now()
	resp.Lambda.EndTime = epoch(end)
	resp.Lambda.MeasuredDuration = end.Sub(start).Seconds()
	if single {
		r := results[0]
		resp.Data, resp.Error, resp.Status = r.Data, r.Error, r.Status
		if resp.Data == nil {
			resp.Data = json.RawMessage("null")
		}
		return resp, nil
	}
	resp.Data = json.RawMessage("null")
	resp.Results = results
	if req.Output != "" {
		if err := h.writeBatch(ctx, req, resp); err != nil {
			// A function error: Lambda's asynchronous retries and the
			// on-failure destination take over.
			return resp, err
		}
		resp.Results = nil // the answer of an Event invocation is discarded
	}
	return resp, nil
}

// writeBatch puts the batch's results where the event says, as JSON lines.
func (h *Handler) writeBatch(ctx context.Context, req Request, resp Response) error {
	bucket, key, err := objstore.ParseS3(req.Output)
	if err != nil || key == "" {
		return fmt.Errorf("event output %q: want s3://bucket/key", req.Output)
	}
	st, err := h.s3(ctx, bucket, req.S3PathStyle)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, r := range resp.Results {
		if err := enc.Encode(BatchLine{Scanner: req.Scanner, Result: r, Lambda: resp.Lambda, Version: h.version}); err != nil {
			return fmt.Errorf("encode results: %w", err)
		}
	}
	// The write may use the margin kept before the deadline.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if d, ok := ctx.Deadline(); ok {
		wctx, cancel = context.WithDeadline(wctx, d)
		defer cancel()
	}
	return st.Put(wctx, key, buf.Bytes())
}

// s3 returns a store on bucket, made once per bucket and addressing style.
func (h *Handler) s3(ctx context.Context, bucket string, pathStyle bool) (objstore.Store, error) {
	k := bucket + fmt.Sprint(pathStyle)
	h.mu.Lock()
	defer h.mu.Unlock()
	if st, ok := h.stores[k]; ok {
		return st, nil
	}
	var ps *bool
	if pathStyle {
		ps = &pathStyle
	}
	st, err := objstore.NewS3(ctx, "s3://"+bucket, objstore.S3Options{PathStyle: ps})
	if err != nil {
		return nil, err
	}
	if h.stores == nil {
		h.stores = map[string]objstore.Store{}
	}
	h.stores[k] = st
	return st, nil
}

func epoch(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// scanOne scans one domain with the pipeline's guarantees: a deadline, a
// recovered panic, the JSON the engine would cache.
func (h *Handler) scanOne(ctx context.Context, s scan.Scanner, req Request, domain string) (r Result) {
	r = Result{Domain: domain, Status: string(scan.StatusFailed)}
	start := time.Now()
	defer func() {
		if v := recover(); v != nil {
			r = Result{Domain: domain, Status: string(scan.StatusFailed), Error: fmt.Sprintf("panic: %v", v)}
		}
		r.Start, r.End = epoch(start), epoch(time.Now())
	}()
	t := scan.Target{Domain: domain, BaseDomain: domains.BaseDomain(domain)}
	if slices.Contains(req.Skip, domain) {
		r.Status = string(scan.StatusSkipped)
		return r
	}
	if msg, ok := req.Fail[domain]; ok {
		r.Error = msg
		return r
	}
	inputs, ok := req.Inputs[domain]
	if !ok {
		if pr, isPrep := s.(scan.Preparer); isPrep {
			in, err := pr.Prepare(ctx, t, noLookup{})
			if errors.Is(err, scan.ErrSkip) {
				r.Status = string(scan.StatusSkipped)
				return r
			}
			if err != nil {
				r.Error = "prepare: " + err.Error()
				return r
			}
			inputs = in
		}
	}
	runID, _ := req.Environment["scan_uuid"].(string)
	res, err := s.Scan(ctx, scan.Job{Target: t, RunID: runID, Inputs: inputs})
	switch {
	case err != nil && ctx.Err() != nil:
		r.Status, r.Error = string(scan.StatusTimeout), "stopped before the function's deadline: "+err.Error()
	case err != nil:
		r.Error = err.Error()
	case res == nil:
		r.Error = "Scan returned nothing."
	default:
		data, merr := pyjson.Marshal(res)
		if merr != nil {
			r.Error = "encode result: " + merr.Error()
			return r
		}
		r.Status, r.Data = string(scan.StatusOK), data
	}
	return r
}

type noLookup struct{}

func (noLookup) Lookup(string, string) ([]byte, bool, error) { return nil, false, nil }

// scanner returns an initialised instance for the event's scanner and
// options, made once per distinct options.
func (h *Handler) scanner(ctx context.Context, req Request) (scan.Scanner, error) {
	opts := stringOptions(req.Options)
	// Per run too: the scanners' per-run caches (mail servers) must not
	// outlive their run in a warm function.
	runID, _ := req.Environment["scan_uuid"].(string)
	key := req.Scanner + "\x00" + canonical(opts) + "\x00" + runID
	h.mu.Lock()
	rs, ok := h.ready[key]
	if !ok {
		if len(h.ready) >= maxReady {
			h.ready = map[string]*readyScanner{}
		}
		rs = &readyScanner{}
		h.ready[key] = rs
	}
	h.mu.Unlock()
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.s != nil {
		return rs.s, nil
	}
	// First use of these options: a fresh instance, initialised not under
	// the invocation's context (the scanner outlives it). A failure is not
	// kept, so the next invocation tries again.
	var s scan.Scanner
	for _, c := range h.newScanners() {
		if c.Info().Name == req.Scanner {
			s = c
		}
	}
	if s == nil {
		return nil, fmt.Errorf("unknown scanner %q", req.Scanner)
	}
	if !s.Info().Lambda {
		return nil, fmt.Errorf("scanner %q does not run in Lambda", req.Scanner)
	}
	ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	s, err := h.initScanner(ictx, s, opts)
	if err != nil {
		return nil, err
	}
	rs.s = s
	return s, nil
}

func (h *Handler) initScanner(ctx context.Context, s scan.Scanner, opts map[string]string) (_ scan.Scanner, err error) {
	name := s.Info().Name
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("init %s: panic: %v", name, v)
		}
	}()
	if fd, ok := s.(scan.FlagDefiner); ok {
		fs := flag.NewFlagSet(name, flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		fd.DefineFlags(fs)
		for k, v := range opts {
			if fs.Lookup(k) == nil {
				continue // the original sent every option; ignore the others
			}
			if err := fs.Set(k, v); err != nil {
				return nil, fmt.Errorf("option %s=%q for %s: %w", k, v, name, err)
			}
		}
	}
	network, err := netx.New(opts["dns"], opts["port-map"])
	if err != nil {
		return nil, err
	}
	caFile := opts["ca_file"]
	if pem := opts["ca_file_pem"]; pem != "" {
		if caFile, err = writeCAFile(pem); err != nil {
			return nil, err
		}
	}
	if ini, ok := s.(scan.Initializer); ok {
		run := scan.Run{Method: "lambda", Net: network, CAFile: caFile, Log: h.log.With("scanner", name)}
		if err := ini.Init(ctx, run); err != nil {
			return nil, fmt.Errorf("init %s: %w", name, err)
		}
	}
	return s, nil
}

// writeCAFile puts a CA bundle that came with the event where scanners
// read --ca_file from (/tmp is the function's writable place), named by its
// hash so that concurrent invocations share one file.
func writeCAFile(pem string) (string, error) {
	sum := sha256.Sum256([]byte(pem))
	path := filepath.Join(os.TempDir(), "domain-scan-ca-"+hex.EncodeToString(sum[:8])+".pem")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	if err := atomicfile.WriteBytes(path, []byte(pem), 0o644); err != nil {
		return "", fmt.Errorf("write the CA file: %w", err)
	}
	return path, nil
}

// stringOptions keeps the string-valued options (the original's events
// also carried booleans such as "debug", which no flag here takes).
func stringOptions(m map[string]any) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		switch v := v.(type) {
		case string:
			out[k] = v
		case float64, bool:
			out[k] = fmt.Sprint(v)
		}
	}
	return out
}

func canonical(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "=" + m[k] + "\x00")
	}
	return b.String()
}
