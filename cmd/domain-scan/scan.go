package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/domainscan/domain-scan/internal/asyncrun"
	"github.com/domainscan/domain-scan/internal/awslambda"
	"github.com/domainscan/domain-scan/internal/cache"
	"github.com/domainscan/domain-scan/internal/domains"
	"github.com/domainscan/domain-scan/internal/engine"
	"github.com/domainscan/domain-scan/internal/netx"
	"github.com/domainscan/domain-scan/internal/objstore"
	"github.com/domainscan/domain-scan/internal/output"
	"github.com/domainscan/domain-scan/internal/progress"
	"github.com/domainscan/domain-scan/internal/scan"
	"github.com/domainscan/domain-scan/internal/scanners/all"
)

// scanFlags are the general flags of `scan`, named as in the original.
type scanFlags struct {
	scan        string
	cache       bool
	debug       bool
	meta        bool
	sort        bool
	serial      bool
	suffix      string
	output      string
	workers     int
	noFastCache bool
	scanTimeout secondsOrDuration
	s3PathStyle bool
	format      string
	json        bool
	quiet       bool
	dns         string
	caFile      string
	portMap     string

	// Reserved for the Lambda executor.
	lambda         bool
	lambdaProfile  string
	lambdaRetries  int
	lambdaFunction string
	lambdaBatch    int
	async          bool
	coordinator    bool
	detach         bool
	asyncDeadline  secondsOrDuration
	asyncRate      float64
}

func newScanCmd(command string, stderr io.Writer) *cobra.Command {
	f := &scanFlags{scanTimeout: secondsOrDuration(engine.DefaultScanTimeout)}
	reg, regErr := all.Registry()
	owners := map[string]string{} // scanner flag -> scanner
	cmd := &cobra.Command{
		Use:   "scan <domains> --scan=<scanner>[,<scanner>...] [flags]",
		Short: "Scan domains with one or more scanners",
		Long: `Scan every domain with each scanner and write results/<scanner>.csv,
cache/<scanner>/<domain>.json and results/meta.json under --output.

<domains> is a comma-separated list (a.gov,b.gov), a CSV file whose first
column holds domains, or an http(s) URL of such a CSV.`,
		Example: `  domain-scan scan 'a.gov,b.gov' --scan=noop
  domain-scan scan agencies.csv --scan=noop,analytics --analytics=dap.csv --meta --workers=200
  domain-scan scan https://example.org/domains.csv --scan=noop --output=run1 --cache --sort`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if regErr != nil {
				return regErr
			}
			return runScan(cmd, args, f, reg, owners, command, stderr)
		},
	}
	fl := cmd.Flags()
	fl.SortFlags = false
	fl.StringVar(&f.scan, "scan", "", "comma-separated scanners to run (see: domain-scan scanners)")
	fl.StringVar(&f.output, "output", "./", "directory for cache/ and results/, or s3://bucket/prefix/")
	fl.BoolVar(&f.s3PathStyle, "s3-path-style", false, "path-style S3 addressing (default: only with AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL set)")
	fl.BoolVar(&f.cache, "cache", false, "use cached results from cache/<scanner>/<domain>.json where present (resumes an interrupted run)")
	fl.BoolVar(&f.meta, "meta", false, "append error and timing columns to every row")
	fl.BoolVar(&f.sort, "sort", false, "sort each results CSV by domain when done (every row is kept)")
	fl.StringVar(&f.suffix, "suffix", "", "append this suffix to every domain (\"virginia.gov\": acme -> acme.virginia.gov)")
	fl.IntVar(&f.workers, "workers", 0, "workers per scanner (default: the scanner's own, else 10)")
	fl.BoolVar(&f.serial, "serial", false, "one worker per scanner")
	fl.Var(&f.scanTimeout, "scan-timeout", "absolute time limit of one domain's scan, per scanner (seconds or a duration)")
	fl.BoolVar(&f.noFastCache, "no-fast-cache", false, "do not share per-run results between domains (e.g. mail servers)")
	fl.StringVar(&f.dns, "dns", "", "resolvers to use instead of the system's: IP[,IP…], IP:port, [IPv6]:port")
	fl.StringVar(&f.caFile, "ca_file", "", "PEM file of CA certificates to trust instead of the system's (e.g. the lab's)")
	fl.StringVar(&f.portMap, "port-map", "", "dial other ports than the standard ones: 80=8080,443=8443,…")
	fl.StringVar(&f.format, "format", "csv", "result formats: csv, jsonl or csv,jsonl")
	fl.BoolVar(&f.json, "json", false, "also write results/<scanner>.jsonl (same as --format=csv,jsonl)")
	fl.BoolVar(&f.debug, "debug", false, "log debug details")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no progress display")
	fl.BoolVar(&f.lambda, "lambda", false, "run Lambda-capable scanners in AWS Lambda (task_<scanner>), the others here")
	fl.StringVar(&f.lambdaProfile, "lambda-profile", "", "AWS profile for --lambda")
	fl.IntVar(&f.lambdaRetries, "lambda-retries", 0, "retries of a failed Lambda scan")
	fl.StringVar(&f.lambdaFunction, "lambda-function", "task_{scanner}", "Lambda function name template")
	fl.IntVar(&f.lambdaBatch, "lambda-batch", 1, "domains per Lambda invocation (with --async: default 50)")
	fl.BoolVar(&f.async, "async", false, "with --lambda and an s3:// --output: submit batches as asynchronous invocations that write their results to S3")
	fl.BoolVar(&f.coordinator, "coordinator", false, "with --async: hand the run to a coordinator invocation that sends the batches and collects the results; return at once")
	fl.BoolVar(&f.detach, "detach", false, "with --async: return once the batches that can be sent are submitted; collect --wait finishes the run")
	fl.Var(&f.asyncDeadline, "async-deadline", "with --async: how long to wait for every batch before reporting the missing ones, seconds or a duration (default 2h)")
	fl.Float64Var(&f.asyncRate, "async-rate", 200, "with --async: invocations submitted per second at most (the pool fills to rate × batch duration)")

	// Every scanner's own flags are known up front, so one parse handles all
	// and a typo is an error instead of being ignored.
	if regErr == nil {
		for _, name := range reg.Names() {
			s, _ := reg.Get(name)
			fd, ok := s.(scan.FlagDefiner)
			if !ok {
				continue
			}
			gfs := flag.NewFlagSet(name, flag.ContinueOnError)
			fd.DefineFlags(gfs)
			gfs.VisitAll(func(gf *flag.Flag) {
				if fl.Lookup(gf.Name) != nil && regErr == nil {
					regErr = fmt.Errorf("flag --%s of scanner %s is already defined (by %q)", gf.Name, name, owners[gf.Name])
					return
				}
				owners[gf.Name] = name
				fl.AddGoFlag(gf)
			})
		}
	}
	// Flags of the original's central parser whose scanners are not built
	// yet: accepted (pipelines pass them) and reported as ignored.
	for _, r := range reservedFlags {
		if fl.Lookup(r.name) != nil {
			continue // a built-in scanner owns it now
		}
		if r.boolean {
			fl.Bool(r.name, false, "("+r.scanner+", not built yet) "+r.usage)
		} else {
			fl.String(r.name, "", "("+r.scanner+", not built yet) "+r.usage)
		}
		owners[r.name] = r.scanner
	}
	return cmd
}

// reservedFlags are the original's scanner flags of scanners to come.
var reservedFlags = []struct {
	name, scanner, usage string
	boolean              bool
}{
	{"a11y-config", "a11y", "pa11y JSON config, path or URL", false},
	{"a11y-redirects", "a11y", "YAML redirect/blacklist map, path or URL", false},
}

func runScan(cmd *cobra.Command, args []string, f *scanFlags, reg *scan.Registry, owners map[string]string, command string, stderr io.Writer) error {
	if len(args) != 1 {
		return usagef("scan takes one <domains> argument (a comma list without spaces, a CSV path or a URL); got %d", len(args))
	}
	if strings.TrimSpace(f.scan) == "" {
		return usagef("--scan is required, e.g. --scan=noop (see `domain-scan scanners`)")
	}
	scanners, err := reg.Order(splitList(f.scan))
	if err != nil {
		return usageError{err}
	}
	toS3 := objstore.IsS3(f.output)
	if f.lambdaProfile != "" && !f.lambda && !toS3 {
		return usagef("--lambda-profile needs --lambda or an s3:// --output")
	}
	if toS3 && f.sort {
		return usagef("--sort needs a local --output (it sorts on disk); S3 results are written in completion order")
	}
	if cmd.Flags().Changed("s3-path-style") && !toS3 {
		return usagef("--s3-path-style needs an s3:// --output")
	}
	if f.async {
		if !f.lambda || !toS3 {
			return usagef("--async needs --lambda and an s3:// --output (the functions write their results there)")
		}
		for _, s := range scanners {
			if !s.Info().Lambda {
				return usagef("--async runs every scanner in Lambda, and %s cannot run there", s.Info().Name)
			}
		}
		if !cmd.Flags().Changed("lambda-batch") {
			f.lambdaBatch = 50
		}
		if f.asyncRate <= 0 {
			return usagef("--async-rate must be positive, got %g", f.asyncRate)
		}
		if f.cache {
			return usagef("--cache does not apply to --async runs")
		}
		if f.coordinator && f.detach {
			return usagef("--coordinator already returns at once; --detach does not apply")
		}
	} else if f.detach || f.coordinator || cmd.Flags().Changed("async-deadline") || cmd.Flags().Changed("async-rate") {
		return usagef("--detach, --coordinator, --async-deadline and --async-rate need --async")
	}
	if f.lambdaBatch < 1 {
		return usagef("--lambda-batch must be at least 1, got %d", f.lambdaBatch)
	}
	if f.lambdaRetries < 0 {
		return usagef("--lambda-retries must not be negative, got %d", f.lambdaRetries)
	}
	if f.workers < 0 {
		return usagef("--workers must be positive, got %d", f.workers)
	}
	csvOut, jsonlOut, err := parseFormats(f.format, f.json)
	if err != nil {
		return err
	}
	network, err := netx.New(f.dns, f.portMap)
	if err != nil {
		return usageError{err}
	}
	if f.caFile != "" {
		if _, err := os.Stat(f.caFile); err != nil {
			return usagef("--ca_file: %v", err)
		}
	}
	selected := map[string]bool{}
	for _, s := range scanners {
		selected[s.Info().Name] = true
	}

	// Logs and progress share stderr; results never go to stdout.
	mode := progress.Plain
	if f.quiet {
		mode = progress.Off
	} else if fd, ok := stderr.(*os.File); ok && term.IsTerminal(int(fd.Fd())) {
		mode = progress.Live
	}
	disp := progress.New(stderr, mode, 5*time.Second)
	defer disp.Close()
	level := slog.LevelWarn
	if f.debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(disp.Writer(), &slog.HandlerOptions{Level: level}))

	options := map[string]map[string]string{}
	cmd.Flags().Visit(func(pf *pflag.Flag) {
		owner, ok := owners[pf.Name]
		if !ok {
			return
		}
		if !selected[owner] {
			log.Warn("flag ignored: its scanner is not in --scan", "flag", "--"+pf.Name, "scanner", owner)
			return
		}
		if options[owner] == nil {
			options[owner] = map[string]string{}
		}
		options[owner][pf.Name] = pf.Value.String()
	})

	start := time.Now()
	runID := uuid.NewString()
	cacheDir := filepath.Join(f.output, "cache")
	resultsDir := filepath.Join(f.output, "results")
	var obj objstore.Store
	if toS3 {
		// Results, cache objects and meta.json go to S3; only the input
		// spool and downloads use a private work directory.
		var pathStyle *bool
		if cmd.Flags().Changed("s3-path-style") {
			pathStyle = &f.s3PathStyle
		}
		if obj, err = objstore.NewS3(cmd.Context(), f.output, objstore.S3Options{Profile: f.lambdaProfile, PathStyle: pathStyle}); err != nil {
			return usageError{err}
		}
		work, err := os.MkdirTemp("", "domain-scan-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(work)
		cacheDir, resultsDir = work, ""
	} else {
		for _, d := range []string{cacheDir, resultsDir} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return fmt.Errorf("create output directory: %w", err)
			}
		}
	}
	out := outputs{obj: obj, resultsDir: resultsDir}

	// First signal: stop starting scans. Second: abort the ones in flight.
	ctx, abort, signalled, stopSignals := interrupts(cmd.Context(), log)
	defer stopSignals()
	// interrupted turns an error caused by the first signal into the
	// interrupt it is.
	interrupted := func(err error) error {
		if sig := signalled(); sig != nil && ctx.Err() != nil {
			return interruptedError{sig}
		}
		return err
	}

	list, err := domains.Prepare(ctx, args[0], domains.Options{
		Suffix:      f.suffix,
		SpoolDir:    cacheDir,
		DownloadDir: cacheDir,
		OnInvalid: func(i domains.Issue) {
			log.Warn("invalid domain skipped", "where", i.String())
		},
		OnDuplicate: func(i domains.Issue) {
			log.Debug("duplicate domain dropped", "where", i.String())
		},
	})
	if err != nil {
		return interrupted(fmt.Errorf("read domains: %w", err))
	}
	defer list.Close()
	st := list.Stats()
	// An interrupt before scanning still leaves a meta.json that says so.
	notStarted := func(err error) error {
		err = interrupted(err)
		var ie interruptedError
		if errors.As(err, &ie) {
			sum := engine.Summary{Interrupted: true}
			for _, s := range scanners {
				sum.Scanners = append(sum.Scanners, engine.ScannerSummary{Name: s.Info().Name,
					Counts: engine.Counts{Total: list.Len(), NotStarted: list.Len()}})
			}
			if merr := writeMeta(out, command, runID, start, st, sum); merr != nil {
				return merr
			}
		}
		return err
	}
	if st.Invalid > 0 || st.Duplicates > 0 {
		log.Warn("input summary", "entries", st.Entries, "valid", st.Valid, "invalid_skipped", st.Invalid, "duplicates_dropped", st.Duplicates)
	}
	if list.Len() == 0 {
		return fmt.Errorf("no valid domains in %q", args[0])
	}

	store := cache.New(cacheDir)
	if obj != nil {
		store = cache.NewObjects(obj)
	}
	for _, s := range scanners {
		ini, ok := s.(scan.Initializer)
		if !ok {
			continue
		}
		err := ini.Init(ctx, scan.Run{
			ID: runID, Method: "local", Workers: engine.WorkersFor(s.Info(), f.workers, f.serial),
			CacheDir: cacheDir, Prior: store, Log: log.With("scanner", s.Info().Name), NoFastCache: f.noFastCache,
			Net: network, CAFile: f.caFile, Remote: f.lambda && s.Info().Lambda,
		})
		if err != nil {
			return notStarted(fmt.Errorf("init %s: %w", s.Info().Name, err))
		}
	}

	var remote engine.Executor
	var lambdaClient asyncrun.InvokeAPI
	if f.lambda {
		inFlight := f.workers
		if inFlight == 0 {
			inFlight = engine.DefaultWorkers
		}
		client, err := awslambda.NewClient(ctx, f.lambdaProfile, inFlight)
		if err != nil {
			return err
		}
		lambdaClient = client
		var lambdaScanners []string
		for _, s := range scanners {
			if s.Info().Lambda {
				lambdaScanners = append(lambdaScanners, s.Info().Name)
			}
		}
		inv := awslambda.NewInvoker(client, awslambda.InvokerOptions{
			Function: f.lambdaFunction, Retries: f.lambdaRetries, Batch: f.lambdaBatch,
			RunID: runID, Version: version, Log: log,
			Timeouts: awslambda.FunctionTimeouts(ctx, client, f.lambdaFunction, lambdaScanners),
		})
		defer inv.Close()
		remote = inv
		// The general network flags travel with every Lambda scanner's own;
		// the CA file as its contents, since the function cannot read a
		// path of this machine.
		var caPEM string
		if f.caFile != "" {
			b, err := os.ReadFile(f.caFile)
			if err != nil || len(b) > 1<<20 {
				return usagef("--ca_file %s: unreadable or over 1 MiB for --lambda: %v", f.caFile, err)
			}
			caPEM = string(b)
		}
		if (f.dns != "" || f.portMap != "") && !loopbackEndpoint(os.Getenv("AWS_ENDPOINT_URL_LAMBDA")) {
			log.Warn("--dns and --port-map travel to the Lambda functions: resolvers and ports of this network are not reachable from AWS")
		}
		for _, s := range scanners {
			if !s.Info().Lambda {
				continue
			}
			name := s.Info().Name
			for flagName, v := range map[string]string{"dns": f.dns, "ca_file_pem": caPEM, "port-map": f.portMap} {
				if v == "" {
					continue
				}
				if options[name] == nil {
					options[name] = map[string]string{}
				}
				options[name][flagName] = v
			}
		}
	}

	if f.async {
		return interrupted(runAsync(ctx, cmd, f, asyncSetup{
			command: command, runID: runID, start: start, scanners: scanners, options: options,
			store: obj, client: lambdaClient, log: log, disp: disp, list: list, stderr: stderr,
		}))
	}
	if err := out.removeStale(ctx); err != nil {
		return fmt.Errorf("remove old results in %s: %w", obj, err)
	}
	eng, err := engine.New(engine.Config{
		ResultsDir: resultsDir, Create: out.create(ctx), Cache: store, UseCache: f.cache, Meta: f.meta,
		CSV: csvOut, JSONL: jsonlOut, Workers: f.workers, Serial: f.serial,
		ScanTimeout: time.Duration(f.scanTimeout), RunID: runID, Options: options,
		Abort: abort, Logger: log, Progress: progressAdapter{disp}, Remote: remote,
	})
	if err != nil {
		return err
	}
	sum, runErr := eng.Run(ctx, scanners, list)
	if runErr == nil && f.sort && csvOut {
		for _, ss := range sum.Scanners {
			if !ss.Ran {
				continue
			}
			p := filepath.Join(resultsDir, ss.Name+".csv")
			if err := output.SortCSV(p, cacheDir, 0); err != nil {
				runErr = fmt.Errorf("sort %s: %w", p, err)
				break
			}
		}
	}
	if err := writeMeta(out, command, runID, start, st, sum); err != nil && runErr == nil {
		runErr = err
	}
	if !f.quiet {
		disp.Close()
		for _, ss := range sum.Scanners {
			c := ss.Counts
			fmt.Fprintf(stderr, "%s: %d domains: %d ok, %d failed, %d timed out, %d skipped, %d from cache",
				ss.Name, c.Total, c.OK, c.Failed, c.Timeout, c.Skipped, c.Cached)
			if c.Interrupted+c.NotStarted > 0 {
				fmt.Fprintf(stderr, ", %d interrupted, %d not started", c.Interrupted, c.NotStarted)
			}
			fmt.Fprintln(stderr)
		}
	}
	if runErr != nil {
		return runErr
	}
	if sum.Interrupted {
		if sig := signalled(); sig != nil {
			return interruptedError{sig}
		}
		return interruptedError{os.Interrupt}
	}
	return nil
}

// interrupts wires SIGINT and SIGTERM: the first cancels the returned
// context (no new scans), the second cancels abort (scans in flight stop).
// signalled reports the first signal received, or nil.
func interrupts(parent context.Context, log *slog.Logger) (ctx, abort context.Context, signalled func() os.Signal, stop func()) {
	ctx, cancel := context.WithCancel(parent)
	abort, abortNow := context.WithCancel(context.Background())
	var first atomic.Value
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-sigs:
			first.Store(sig)
		case <-done:
			return
		}
		log.Warn("interrupt: finishing the scans in flight; interrupt again to abort them")
		cancel()
		select {
		case <-sigs:
			log.Warn("second interrupt: aborting the scans in flight")
			abortNow()
		case <-done:
		}
	}()
	signalled = func() os.Signal {
		if v := first.Load(); v != nil {
			return v.(os.Signal)
		}
		return nil
	}
	stop = func() {
		signal.Stop(sigs)
		close(done)
		cancel()
		abortNow()
	}
	return ctx, abort, signalled, stop
}

// writeMeta writes results/meta.json for a run that ended now.
// outputs is where results and meta.json go: a local results directory, or
// an object store (S3).
type outputs struct {
	obj        objstore.Store
	resultsDir string
}

// create is the engine's results-file seam: nil for a directory.
func (o outputs) create(ctx context.Context) func(string) (io.WriteCloser, error) {
	if o.obj == nil {
		return nil
	}
	return func(name string) (io.WriteCloser, error) {
		return o.obj.Create(context.WithoutCancel(ctx), "results/"+name)
	}
}

// removeStale deletes the previous run's result files, as the original
// did, so that no file mixes runs.
func (o outputs) removeStale(ctx context.Context) error {
	if o.obj == nil {
		return nil // the engine cleans a directory itself
	}
	var stale []string
	err := o.obj.List(ctx, "results/", func(k string) error {
		if strings.HasSuffix(k, ".csv") || strings.HasSuffix(k, ".jsonl") {
			stale = append(stale, k)
		}
		return nil
	})
	for _, k := range stale {
		if err == nil {
			err = o.obj.Delete(ctx, k)
		}
	}
	return err
}

func writeMeta(out outputs, command, runID string, start time.Time, st domains.Stats, sum engine.Summary) error {
	meta := output.Meta{
		Command:     command,
		ScanUUID:    runID,
		Start:       start,
		End:         time.Now(),
		Durations:   map[string]output.Timing{},
		Interrupted: sum.Interrupted,
		Extra:       map[string]any{"counts": countsFor(st, sum)},
	}
	for _, ss := range sum.Scanners {
		if ss.Ran {
			meta.Durations[ss.Name] = output.Timing{Start: ss.Start, End: ss.End}
		}
	}
	if out.obj != nil {
		data, err := output.MarshalMeta(meta)
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			err = out.obj.Put(ctx, "results/meta.json", data)
		}
		if err != nil {
			return fmt.Errorf("write meta.json: %w", err)
		}
		return nil
	}
	if err := output.WriteMeta(out.resultsDir, meta); err != nil {
		return fmt.Errorf("write meta.json: %w", err)
	}
	return nil
}

// loopbackEndpoint reports a Lambda endpoint on this machine (the
// emulator), where local resolvers and files are reachable.
func loopbackEndpoint(u string) bool {
	for _, p := range []string{"http://127.", "https://127.", "http://localhost", "http://[::1]"} {
		if strings.HasPrefix(u, p) {
			return true
		}
	}
	return false
}

func countsFor(st domains.Stats, sum engine.Summary) map[string]any {
	per := map[string]any{}
	for _, ss := range sum.Scanners {
		per[ss.Name] = ss.Counts
	}
	return map[string]any{
		"input": map[string]int64{
			"entries": st.Entries, "valid": st.Valid, "invalid": st.Invalid, "duplicates": st.Duplicates,
		},
		"scanners": per,
	}
}

// progressAdapter gives the display the engine's interface.
type progressAdapter struct{ d *progress.Display }

func (a progressAdapter) Begin(name string, total int64) engine.Counter {
	return a.d.Begin(name, total)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func parseFormats(format string, jsonFlag bool) (csvOut, jsonlOut bool, err error) {
	for _, f := range splitList(strings.ToLower(format)) {
		switch f {
		case "csv":
			csvOut = true
		case "jsonl", "ndjson", "json":
			jsonlOut = true
		default:
			return false, false, usagef("--format: unknown format %q (csv, jsonl)", f)
		}
	}
	if jsonFlag {
		csvOut, jsonlOut = true, true
	}
	if !csvOut && !jsonlOut {
		csvOut = true
	}
	return csvOut, jsonlOut, nil
}

// secondsOrDuration accepts the original's plain seconds ("60") or a Go
// duration ("90s", "2m").
type secondsOrDuration time.Duration

func (d *secondsOrDuration) String() string {
	if *d == 0 {
		return "" // no default shown in --help
	}
	return time.Duration(*d).String()
}
func (d *secondsOrDuration) Type() string { return "duration" }
func (d *secondsOrDuration) Set(v string) error {
	x, err := scan.ParseSeconds(v)
	if err == nil && x == 0 {
		err = fmt.Errorf("%q: the time limit must be positive", v)
	}
	if err == nil {
		*d = secondsOrDuration(x)
	}
	return err
}
