package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/domainscan/domain-scan/internal/asyncrun"
	"github.com/domainscan/domain-scan/internal/awslambda"
	"github.com/domainscan/domain-scan/internal/objstore"
	"github.com/domainscan/domain-scan/internal/progress"
	"github.com/domainscan/domain-scan/internal/scan"
	"github.com/domainscan/domain-scan/internal/scanners/all"
)

// defaultAsyncDeadline is how long `scan --async` waits for every batch.
const defaultAsyncDeadline = 2 * time.Hour

// asyncSetup is what runScan hands to an asynchronous run.
type asyncSetup struct {
	command, runID string
	start          time.Time
	scanners       []scan.Scanner
	options        map[string]map[string]string
	store          objstore.Store
	client         asyncrun.InvokeAPI
	log            *slog.Logger
	disp           *progress.Display
	list           asyncrun.Source
	stderr         io.Writer
}

// runAsync writes the run's manifest and batches to S3, submits the
// batches as Event invocations, follows them, and collects the CSV files
// (unless detached).
func runAsync(ctx context.Context, cmd *cobra.Command, f *scanFlags, a asyncSetup) error {
	bucket, prefix, err := objstore.ParseS3(f.output)
	if err != nil {
		return usageError{err}
	}
	selected := map[string]bool{}
	byName := map[string]scan.Scanner{}
	for _, s := range a.scanners {
		selected[s.Info().Name] = true
		byName[s.Info().Name] = s
	}
	m := &asyncrun.Manifest{
		RunID: a.runID, Created: a.start, Command: a.command, BatchSize: f.lambdaBatch,
		Bucket: bucket, Prefix: prefix, S3PathStyle: f.s3PathStyle, Meta: f.meta, Version: version,
	}
	if m.CSV, m.JSONL, err = parseFormats(f.format, f.json); err != nil {
		return err
	}
	for _, s := range a.scanners {
		info := s.Info()
		sp := asyncrun.ScannerSpec{Name: info.Name, Options: a.options[info.Name],
			Function: strings.ReplaceAll(f.lambdaFunction, "{scanner}", info.Name)}
		for _, d := range info.DependsOn {
			if selected[d] {
				sp.DependsOn = append(sp.DependsOn, d)
			}
		}
		m.Scanners = append(m.Scanners, sp)
	}
	c := asyncClient(f, a.store, a.client, byName, a.log)
	m.Rate, m.Submitters = c.Rate, c.Submitters
	// As any run: no results file of an earlier run stays next to this
	// run's meta.json.
	if err := (outputs{obj: a.store}).removeStale(ctx); err != nil {
		return fmt.Errorf("remove old results in %s: %w", a.store, err)
	}
	if err := c.Start(ctx, m, a.list); err != nil {
		return err
	}
	runURI := a.store.String() + "/" + m.RunID
	fmt.Fprintf(a.stderr, "asynchronous run %s: %d domains in %d batches of %d, manifest %s/manifest.json\n",
		m.RunID, m.Domains, m.Batches, m.BatchSize, runURI)
	if f.coordinator {
		m.Coordinated = true
		if err := c.PutManifest(ctx, m); err != nil {
			return err
		}
		a.disp.Close()
		fn := m.Scanners[0].Function // every function is the same binary
		if err := asyncrun.SubmitCoordinator(ctx, a.client, fn, m, deadlineOr(time.Duration(f.asyncDeadline))); err != nil {
			return err
		}
		fmt.Fprintf(a.stderr, "handed to a coordinator (%s): it sends the batches and writes %s/results/ when done; wait for it with\n  domain-scan collect %s --wait\n", fn, a.store, runURI)
		return nil
	}
	return follow(ctx, c, m, a.store, a.disp, a.stderr, asyncrun.FollowOptions{Detach: f.detach,
		Deadline: deadlineOr(time.Duration(f.asyncDeadline))}, runURI, f.detach)
}

func deadlineOr(d time.Duration) time.Duration {
	if d <= 0 {
		return defaultAsyncDeadline
	}
	return d
}

func asyncClient(f *scanFlags, store objstore.Store, client asyncrun.InvokeAPI, scanners map[string]scan.Scanner, log *slog.Logger) *asyncrun.Client {
	subs := 8
	if f.workers > 0 {
		subs = min(f.workers, 64)
	}
	if f.serial {
		subs = 1
	}
	poll := 5 * time.Second
	if v := os.Getenv("DOMAIN_SCAN_ASYNC_POLL"); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			poll = d
		}
	}
	return &asyncrun.Client{Store: store, Lambda: client, Scanners: scanners, Log: log,
		Rate: f.asyncRate, Submitters: subs, Poll: poll}
}

// follow waits for the run (with progress), then collects, or tells how
// to collect later.
func follow(ctx context.Context, c *asyncrun.Client, m *asyncrun.Manifest, store objstore.Store, disp *progress.Display,
	stderr io.Writer, o asyncrun.FollowOptions, runURI string, detach bool) error {
	counters := map[string]*progress.Counter{}
	for _, sp := range m.Scanners {
		counters[sp.Name] = disp.Begin(sp.Name, m.Domains)
	}
	c.OnBatch = func(scanner string, b int) {
		n := int64(m.BatchSize)
		if last := m.Domains - int64(b-1)*int64(m.BatchSize); last < n {
			n = last
		}
		for range n {
			counters[scanner].Add(scan.StatusOK)
		}
	}
	missing, err := c.Follow(ctx, m, o)
	for _, ct := range counters {
		ct.End()
	}
	disp.Close()
	if err != nil {
		// The batches already queued go on in Lambda without us; sent ones
		// are marked, so a later collect sends exactly the rest.
		fmt.Fprintf(stderr, "stopped following (%v); continue later with\n  domain-scan collect %s --wait\n", err, runURI)
		return err
	}
	if detach {
		notSent := 0
		for _, ms := range missing {
			if strings.HasPrefix(ms.Reason, "not sent") {
				notSent++
			}
		}
		fmt.Fprintf(stderr, "detached: the batches are queued in Lambda (%d more are sent by collect once their inputs are in); collect the results with\n  domain-scan collect %s --wait\n", notSent, runURI)
		return nil
	}
	got, err := c.Collect(ctx, m, store)
	if err != nil {
		return err
	}
	for _, sp := range m.Scanners {
		ct := got.Counts[sp.Name]
		fmt.Fprintf(stderr, "%s: %d domains: %d ok, %d failed, %d timed out, %d skipped, %d in missing batches\n",
			sp.Name, ct.Domains, ct.OK, ct.Failed, ct.Timeout, ct.Skipped, ct.Missing)
	}
	fmt.Fprintf(stderr, "results in %s/results/\n", store)
	if len(got.Missing) == 0 {
		return nil
	}
	// Collect's view decides (a batch may have arrived since Follow
	// returned); Follow's says why the others are missing.
	why := map[string]string{}
	for _, ms := range missing {
		why[fmt.Sprint(ms.Scanner, ms.Batch)] = ms.Reason
	}
	for i, ms := range got.Missing {
		if i == 10 {
			fmt.Fprintf(stderr, "… and %d more missing batches\n", len(got.Missing)-i)
			break
		}
		doms, _ := c.BatchDomains(ctx, m.RunID, ms.Batch)
		reason := why[fmt.Sprint(ms.Scanner, ms.Batch)]
		if reason == "" {
			reason = ms.Reason
		}
		fmt.Fprintf(stderr, "missing: %s batch %d (%s; %d domains: %s)\n", ms.Scanner, ms.Batch, reason, len(doms), preview(doms))
	}
	return fmt.Errorf("%d batches have no results (their domains have failed rows); resubmit them with: domain-scan collect %s --resubmit --wait", len(got.Missing), runURI)
}

func preview(d []string) string {
	if len(d) <= 5 {
		return strings.Join(d, ", ")
	}
	return strings.Join(d[:5], ", ") + ", …"
}

// newCollectCmd is `domain-scan collect s3://bucket/prefix/<run-id>`.
func newCollectCmd(stderr io.Writer) *cobra.Command {
	var wait, resubmit, quiet, pathStyle, serial bool
	var deadline secondsOrDuration
	var profile, outFlag string
	var rateFlag float64
	cmd := &cobra.Command{
		Use:   "collect s3://bucket/prefix/<run-id>",
		Short: "Assemble the results of an asynchronous run (scan --lambda --async) into the usual CSV files",
		Long: `collect reads an asynchronous run's manifest and batch results from S3 and
writes results/<scanner>.csv (and .jsonl) and results/meta.json next to the
run (under the same prefix). With --wait it first waits for missing
batches (submitting dependent scanners' batches as their inputs arrive); with
--resubmit it sends every batch that has no results yet again (results are
written idempotently, so nothing is ever counted twice).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			loc := strings.TrimSuffix(args[0], "/")
			i := strings.LastIndex(loc, "/")
			if !objstore.IsS3(loc) || i < len("s3://") {
				return usagef("collect wants s3://bucket/prefix/<run-id>, got %q", args[0])
			}
			base, runID := loc[:i], loc[i+1:]
			var ps *bool
			if cmd.Flags().Changed("s3-path-style") {
				ps = &pathStyle
			}
			if rateFlag <= 0 {
				return usagef("--async-rate must be positive, got %g", rateFlag)
			}
			ctx := cmd.Context()
			store, err := objstore.NewS3(ctx, base, objstore.S3Options{Profile: profile, PathStyle: ps})
			if err != nil {
				return usageError{err}
			}
			m, err := asyncrun.ReadManifest(ctx, store, runID)
			if err != nil {
				return err
			}
			byName := map[string]scan.Scanner{}
			for _, s := range all.Scanners() {
				byName[s.Info().Name] = s
			}
			// Dependent batches are prepared here: the scanners need their
			// flags and set-up, as in the run.
			for _, sp := range m.Scanners {
				if len(sp.DependsOn) == 0 && !resubmit {
					continue // its batches were all sent by the run's client
				}
				if err := asyncrun.PrepareScanner(ctx, byName[sp.Name], sp.Options); err != nil {
					return err
				}
			}
			var client asyncrun.InvokeAPI // nil: collect sends nothing
			if wait || resubmit {
				lc, err := awslambda.NewClient(ctx, profile, 16)
				if err != nil {
					return err
				}
				client = lc
			}
			log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
			f := &scanFlags{asyncRate: rateFlag, serial: serial}
			c := asyncClient(f, store, client, byName, log)
			mode := progress.Plain
			if quiet {
				mode = progress.Off
			}
			disp := progress.New(stderr, mode, 5*time.Second)
			// A coordinated run is sent by its coordinator: watch it.
			o := asyncrun.FollowOptions{Resubmit: resubmit, NoSubmit: (!wait || m.Coordinated) && !resubmit}
			if wait {
				o.Deadline = deadlineOr(time.Duration(deadline))
			}
			out := objstore.Store(store)
			if outFlag != "" {
				if out, err = objstore.Open(ctx, outFlag, objstore.S3Options{Profile: profile, PathStyle: ps}); err != nil {
					return usageError{err}
				}
			}
			return follow(ctx, c, m, out, disp, stderr, o, loc, false)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&wait, "wait", false, "wait for missing batches (up to --deadline), submitting dependent batches as their inputs arrive")
	fl.BoolVar(&resubmit, "resubmit", false, "send every batch that has no results yet again (then look once, or wait with --wait)")
	fl.StringVar(&outFlag, "output", "", "where results/ go: a directory or s3://bucket/prefix/ (default: next to the run)")
	fl.Var(&deadline, "deadline", "how long --wait waits, seconds or a duration (default 2h)")
	fl.StringVar(&profile, "lambda-profile", "", "AWS profile for S3 and Lambda")
	fl.BoolVar(&pathStyle, "s3-path-style", false, "path-style S3 addressing")
	fl.Float64Var(&rateFlag, "async-rate", 200, "invocations submitted per second at most")
	fl.BoolVarP(&quiet, "quiet", "q", false, "no progress")
	fl.BoolVar(&serial, "serial", false, "send one invocation at a time")
	return cmd
}
