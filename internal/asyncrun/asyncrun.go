// Package asyncrun moves a run's parallelism into AWS: the client writes
// the run's manifest and domain batches to S3, submits each batch as an
// asynchronous (Event) Lambda invocation, and the function writes the
// batch's results to S3 as one JSON-lines object. Lambda's own queue,
// retries and the function's reserved concurrency run the pool; the client
// holds no connection per scan. It follows progress by listing result
// objects, prepares dependent scanners' batches from their dependencies'
// results, and Collect assembles the usual CSV files.
//
// Layout under the run's store (the --output prefix):
//
//	<run>/manifest.json
//	<run>/batches/000001.txt       the domains of batch 1, one per line
//	<run>/<scanner>/000001.jsonl   batch 1's results (awslambda.BatchLine)
package asyncrun

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"golang.org/x/time/rate"

	"github.com/domainscan/domain-scan/internal/awslambda"
	"github.com/domainscan/domain-scan/internal/domains"
	"github.com/domainscan/domain-scan/internal/objstore"
	"github.com/domainscan/domain-scan/internal/scan"
)

// Manifest describes an asynchronous run; collect and resubmit read it.
type Manifest struct {
	RunID     string        `json:"run_id"`
	Created   time.Time     `json:"created"`
	Command   string        `json:"command"`
	Scanners  []ScannerSpec `json:"scanners"`
	BatchSize int           `json:"batch_size"`
	Batches   int           `json:"batches"`
	Domains   int64         `json:"domains"`
	// Bucket and Prefix locate the run's store, for the functions.
	Bucket      string `json:"bucket"`
	Prefix      string `json:"prefix"`
	S3PathStyle bool   `json:"s3_path_style,omitempty"`
	// Rate and Submitters are the submitting client's settings, which a
	// coordinator uses too.
	Rate float64 `json:"rate,omitempty"`
	// Coordinated: a coordinator invocation sends the batches; clients
	// only watch (unless resubmitting).
	Coordinated bool   `json:"coordinated,omitempty"`
	Submitters  int    `json:"submitters,omitempty"`
	Meta        bool   `json:"meta,omitempty"`
	CSV         bool   `json:"csv"`
	JSONL       bool   `json:"jsonl,omitempty"`
	Version     string `json:"version,omitempty"`
}

// ScannerSpec is one scanner of the run.
type ScannerSpec struct {
	Name      string            `json:"name"`
	Function  string            `json:"function"`
	DependsOn []string          `json:"depends_on,omitempty"` // those of the run
	Options   map[string]string `json:"options,omitempty"`
}

// Keys of the layout.
func manifestKey(run string) string { return run + "/manifest.json" }
func batchKey(run string, n int) string {
	return fmt.Sprintf("%s/batches/%06d.txt", run, n)
}
func resultKey(run, scanner string, n int) string {
	return fmt.Sprintf("%s/%s/%06d.jsonl", run, scanner, n)
}

// sentKey marks a batch as submitted, so that a later client (collect
// --wait, after --detach or an interrupt) knows which batches still need
// sending.
func sentKey(run, scanner string, n int) string {
	return fmt.Sprintf("%s/sent/%s/%06d", run, scanner, n)
}

// maxObject bounds what is read back of one batch object.
const maxObject = 256 << 20

// InvokeAPI is the part of the Lambda client asynchronous runs use.
type InvokeAPI interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, opts ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// Client runs asynchronous scans.
type Client struct {
	Store  objstore.Store // the --output prefix
	Lambda InvokeAPI
	// Scanners by name: Prepare for dependent batches, NewResult and Info
	// for Collect.
	Scanners map[string]scan.Scanner
	Log      *slog.Logger
	// Rate bounds submitted invocations per second; Submitters how many
	// are sent at once.
	Rate       float64
	Submitters int
	// Poll is how often results are listed.
	Poll time.Duration
	// OnBatch is told of every batch that arrives (progress).
	OnBatch func(scanner string, domains int)
}

func (c *Client) log() *slog.Logger {
	if c.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Log
}

// Source is the run's domain list.
type Source interface {
	Len() int64
	Range(fn func(string) bool) error
}

// batchWriters is how many batch objects Start writes at once.
const batchWriters = 16

// Start writes the batches and the manifest of a new run.
func (c *Client) Start(ctx context.Context, m *Manifest, src Source) error {
	if m.BatchSize < 1 {
		return errors.New("asyncrun: batch size must be at least 1")
	}
	// Batches go up batchWriters at a time: a million domains are 20,000
	// objects.
	type put struct {
		n    int
		data []byte
	}
	puts := make(chan put)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var putErr error
	for range batchWriters {
		wg.Go(func() {
			for p := range puts {
				if err := c.Store.Put(ctx, batchKey(m.RunID, p.n), p.data); err != nil {
					mu.Lock()
					putErr = errors.Join(putErr, err)
					mu.Unlock()
				}
			}
		})
	}
	failed := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return putErr != nil
	}
	n := 0
	var buf bytes.Buffer
	flush := func() {
		if buf.Len() == 0 {
			return
		}
		n++
		puts <- put{n, bytes.Clone(buf.Bytes())}
		buf.Reset()
	}
	count := 0
	err := src.Range(func(d string) bool {
		buf.WriteString(d)
		buf.WriteByte('\n')
		if count++; count%m.BatchSize == 0 {
			flush()
		}
		return !failed() && ctx.Err() == nil
	})
	flush()
	close(puts)
	wg.Wait()
	if err = errors.Join(err, putErr, ctx.Err()); err != nil {
		return fmt.Errorf("write the run's batches: %w", err)
	}
	m.Batches, m.Domains = n, int64(count)
	return c.putManifest(ctx, m)
}

// PutManifest rewrites the run's manifest.
func (c *Client) PutManifest(ctx context.Context, m *Manifest) error { return c.putManifest(ctx, m) }

func (c *Client) putManifest(ctx context.Context, m *Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := c.Store.Put(ctx, manifestKey(m.RunID), b); err != nil {
		return fmt.Errorf("write the run's manifest: %w", err)
	}
	return nil
}

// ReadManifest reads a run's manifest.
func ReadManifest(ctx context.Context, st objstore.Store, run string) (*Manifest, error) {
	b, err := st.Get(ctx, manifestKey(run), 16<<20)
	if errors.Is(err, objstore.ErrNotExist) {
		return nil, fmt.Errorf("no asynchronous run %s in %s (no %s)", run, st, manifestKey(run))
	}
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", manifestKey(run), err)
	}
	return &m, nil
}

// batchDomains reads batch n's domains.
func (c *Client) batchDomains(ctx context.Context, run string, n int) ([]string, error) {
	b, err := c.Store.Get(ctx, batchKey(run, n), maxObject)
	if err != nil {
		return nil, fmt.Errorf("read batch %d: %w", n, err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out, nil
}

// done lists the batches of scanner that have results.
func (c *Client) done(ctx context.Context, run, scanner string) (map[int]bool, error) {
	return c.numbered(ctx, run+"/"+scanner+"/", ".jsonl")
}

// sent lists the batches of scanner marked as submitted.
func (c *Client) sent(ctx context.Context, run, scanner string) (map[int]bool, error) {
	return c.numbered(ctx, run+"/sent/"+scanner+"/", "")
}

func (c *Client) numbered(ctx context.Context, prefix, suffix string) (map[int]bool, error) {
	out := map[int]bool{}
	err := c.Store.List(ctx, prefix, func(k string) error {
		name, ok := strings.CutSuffix(strings.TrimPrefix(k, prefix), suffix)
		if n, err := strconv.Atoi(name); ok && err == nil {
			out[n] = true
		}
		return nil
	})
	return out, err
}

// submit sends batch n of scanner as an Event invocation, with inputs
// prepared from the batch's results of the scanners it depends on.
func (c *Client) submit(ctx context.Context, m *Manifest, sp ScannerSpec, n int) error {
	doms, err := c.batchDomains(ctx, m.RunID, n)
	if err != nil {
		return err
	}
	req := awslambda.Request{
		Scanner:     sp.Name,
		Domains:     doms,
		Environment: map[string]any{"scan_method": "lambda", "scan_uuid": m.RunID},
		Version:     m.Version,
		Output:      "s3://" + m.Bucket + "/" + joinKey(m.Prefix, resultKey(m.RunID, sp.Name, n)),
		S3PathStyle: m.S3PathStyle,
	}
	if len(sp.Options) > 0 {
		req.Options = map[string]any{}
		for k, v := range sp.Options {
			req.Options[k] = v
		}
	}
	// Prepare runs here as in any run with --lambda (pshtt's preload
	// lists, sslyze's endpoints), dependent scanners reading their
	// dependencies' results of the same batch.
	if s, ok := c.Scanners[sp.Name]; ok {
		if pr, ok := s.(scan.Preparer); ok {
			var prior scan.Lookup = lookup{}
			if len(sp.DependsOn) > 0 {
				if prior, err = c.priors(ctx, m, sp, n); err != nil {
					return err
				}
			}
			for _, d := range doms {
				in, err := pr.Prepare(ctx, scan.Target{Domain: d, BaseDomain: domains.BaseDomain(d)}, prior)
				if errors.Is(err, scan.ErrSkip) {
					req.Skip = append(req.Skip, d)
					continue
				} else if err != nil {
					// That domain's failed row, as in a local run; the
					// batch goes on.
					if req.Fail == nil {
						req.Fail = map[string]string{}
					}
					req.Fail[d] = "prepare: " + err.Error()
					continue
				}
				if len(in) > 0 {
					if req.Inputs == nil {
						req.Inputs = map[string]json.RawMessage{}
					}
					req.Inputs[d] = in
				}
			}
		}
	}
	payload, err := json.Marshal(req)
	if err != nil {
		return err
	}
	if len(payload) > maxEventPayload {
		return fmt.Errorf("batch %d of %s is a %d-byte event, over Lambda's %d-byte limit for asynchronous events: use a smaller --lambda-batch",
			n, sp.Name, len(payload), maxEventPayload)
	}
	if err := c.invoke(ctx, sp.Function, payload); err != nil {
		return err
	}
	return c.Store.Put(ctx, sentKey(m.RunID, sp.Name, n), nil)
}

// maxEventPayload is Lambda's limit for an asynchronous event (256 KB).
const maxEventPayload = 256 * 1000

func joinKey(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "/" + key
}

// invoke sends one Event invocation, retrying throttling and failures
// where the invocation surely was not queued, a bounded number of times.
func (c *Client) invoke(ctx context.Context, function string, payload []byte) error {
	var err error
	for attempt := 0; attempt < 10; attempt++ {
		_, err = c.Lambda.Invoke(ctx, &lambda.InvokeInput{FunctionName: &function, Payload: payload,
			InvocationType: types.InvocationTypeEvent})
		if err == nil || !awslambda.SafeToRetry(err) || ctx.Err() != nil {
			break
		}
		d := time.Duration(rand.Int64N(int64(min(10*time.Second, 100*time.Millisecond<<attempt)))) + time.Millisecond
		select {
		case <-time.After(d):
		case <-ctx.Done():
		}
	}
	if err != nil {
		return fmt.Errorf("invoke %s: %w", function, err)
	}
	return nil
}

// priors serves the batch's results of the scanners sp depends on, as
// the cache a local Prepare reads.
func (c *Client) priors(ctx context.Context, m *Manifest, sp ScannerSpec, n int) (scan.Lookup, error) {
	p := lookup{}
	for _, dep := range sp.DependsOn {
		lines, err := c.readBatch(ctx, m.RunID, dep, n)
		if err != nil {
			return nil, err
		}
		for _, l := range lines {
			if l.Status == string(scan.StatusOK) {
				p[dep+"\x00"+l.Domain] = l.Data
			}
		}
	}
	return p, nil
}

type lookup map[string][]byte

func (l lookup) Lookup(scanner, domain string) ([]byte, bool, error) {
	d, ok := l[scanner+"\x00"+domain]
	return d, ok, nil
}

// readBatch reads one result object.
func (c *Client) readBatch(ctx context.Context, run, scanner string, n int) ([]awslambda.BatchLine, error) {
	b, err := c.Store.Get(ctx, resultKey(run, scanner, n), maxObject)
	if err != nil {
		return nil, fmt.Errorf("read %s results of batch %d: %w", scanner, n, err)
	}
	var out []awslambda.BatchLine
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), maxObject)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var l awslambda.BatchLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, fmt.Errorf("%s: %w", resultKey(run, scanner, n), err)
		}
		out = append(out, l)
	}
	return out, sc.Err()
}

// FollowOptions control Follow.
type FollowOptions struct {
	// NoSubmit only looks: nothing is sent (plain collect).
	NoSubmit bool
	// Resubmit sends every batch that has no results yet once more, even
	// if it was sent before.
	Resubmit bool
	// Detach returns once every batch that can be sent now has been tried.
	Detach bool
	// Deadline bounds the wait for results (0: look once).
	Deadline time.Duration
}

// Missing is a batch without results. Its domains are in its batch object
// (BatchDomains).
type Missing struct {
	Scanner string
	Batch   int
	// Reason is why: not arrived by the deadline, not sent (and why), or
	// waiting for a dependency's batch.
	Reason string
}

// maxSubmitFailures bounds the attempts to send one batch.
const maxSubmitFailures = 5

// maxListFailures bounds consecutive failed polls before Follow gives up.
const maxListFailures = 10

// batchState is what the client knows of one scanner's batch.
type batchState struct {
	sent, arrived bool
	failures      int
	lastErr       string
}

// Follow submits the batches not yet sent (a batch is marked sent in S3
// once Lambda has queued it, so a later client resumes exactly), and waits
// for results, submitting a dependent scanner's batch as soon as its
// dependencies' results for the same batch are in. It returns when every
// batch has arrived, when nothing more can arrive (batches given up after
// repeated send failures), at the deadline, or — detached — after one
// round of sending; it returns the batches without results.
func (c *Client) Follow(ctx context.Context, m *Manifest, o FollowOptions) ([]Missing, error) {
	if c.Lambda == nil {
		o.NoSubmit = true
	}
	limiter := rate.NewLimiter(rate.Limit(max(c.Rate, 0.1)), max(1, int(c.Rate)))
	subs := max(c.Submitters, 1)
	state := map[string][]batchState{}
	for _, sp := range m.Scanners {
		state[sp.Name] = make([]batchState, m.Batches+1)
		if o.Resubmit {
			continue
		}
		sent, err := c.sent(ctx, m.RunID, sp.Name)
		if err != nil {
			return nil, err
		}
		for b := range sent {
			if b >= 1 && b <= m.Batches {
				state[sp.Name][b].sent = true
			}
		}
	}
	deadline := time.Now().Add(o.Deadline)
	poll := c.Poll
	if poll <= 0 {
		poll = 5 * time.Second
	}
	type job struct {
		sp ScannerSpec
		n  int
	}
	listFailures := 0
	for {
		// What arrived; scanners already complete, or with nothing sent,
		// are not listed again.
		var listErr error
		for _, sp := range m.Scanners {
			st := state[sp.Name]
			complete, anySent := true, false
			for b := 1; b <= m.Batches; b++ {
				complete = complete && st[b].arrived
				anySent = anySent || st[b].sent
			}
			if complete || (!anySent && len(sp.DependsOn) > 0 && !o.NoSubmit) {
				continue
			}
			got, err := c.done(ctx, m.RunID, sp.Name)
			if err != nil {
				listErr = err
				break
			}
			for b := range got {
				if b >= 1 && b <= m.Batches && !st[b].arrived {
					st[b].arrived, st[b].sent = true, true
					if c.OnBatch != nil {
						c.OnBatch(sp.Name, b)
					}
				}
			}
		}
		if listErr != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if listFailures++; listFailures >= maxListFailures {
				return nil, fmt.Errorf("list results %d times in a row: %w", listFailures, listErr)
			}
			c.log().Warn("listing results failed; trying again", "error", listErr)
		} else {
			listFailures = 0
		}
		var jobs []job
		if !o.NoSubmit {
			for _, sp := range m.Scanners {
				st := state[sp.Name]
				for b := 1; b <= m.Batches; b++ {
					if st[b].sent || st[b].arrived || st[b].failures >= maxSubmitFailures {
						continue
					}
					ready := true
					for _, dep := range sp.DependsOn {
						ready = ready && state[dep][b].arrived
					}
					if ready {
						jobs = append(jobs, job{sp, b})
					}
				}
			}
		}
		if len(jobs) > 0 {
			var wg sync.WaitGroup
			var mu sync.Mutex
			ch := make(chan job)
			for range subs {
				wg.Go(func() {
					for j := range ch {
						if limiter.Wait(ctx) != nil {
							continue
						}
						err := c.submit(ctx, m, j.sp, j.n)
						mu.Lock()
						st := &state[j.sp.Name][j.n]
						if err == nil {
							st.sent = true
						} else {
							st.failures++
							st.lastErr = err.Error()
						}
						attempt := st.failures
						mu.Unlock()
						if err != nil && ctx.Err() == nil {
							c.log().Warn("batch not submitted", "scanner", j.sp.Name, "batch", j.n, "attempt", attempt, "error", err)
						}
					}
				})
			}
		feed:
			for _, j := range jobs {
				select {
				case ch <- j:
				case <-ctx.Done():
					break feed
				}
			}
			close(ch)
			wg.Wait()
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		missing, settled := missingBatches(m, state, o.NoSubmit)
		if len(missing) == 0 || o.Detach || settled {
			return missing, nil
		}
		if time.Now().After(deadline) {
			return missing, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(min(poll, time.Until(deadline)+time.Millisecond)):
		}
	}
}

// missingBatches lists the batches without results, and whether that can
// still change by waiting (settled: everything left was given up, or
// waits on a batch that was).
func missingBatches(m *Manifest, state map[string][]batchState, noSubmit bool) (out []Missing, settled bool) {
	settled = true
	dead := map[string]map[int]bool{} // given up, directly or through a dependency
	for _, sp := range m.Scanners {
		dead[sp.Name] = map[int]bool{}
		st := state[sp.Name]
		for b := 1; b <= m.Batches; b++ {
			if st[b].arrived {
				continue
			}
			deadDep := ""
			for _, dep := range sp.DependsOn {
				if dead[dep][b] {
					deadDep = dep
				}
			}
			switch {
			case st[b].failures >= maxSubmitFailures:
				dead[sp.Name][b] = true
				out = append(out, Missing{sp.Name, b, "not sent: " + st[b].lastErr})
			case deadDep != "":
				dead[sp.Name][b] = true
				out = append(out, Missing{sp.Name, b, "its " + deadDep + " batch has no results"})
			case !st[b].sent && noSubmit && len(sp.DependsOn) > 0:
				out = append(out, Missing{sp.Name, b, "not sent yet: waits for its dependencies (collect --wait sends it)"})
			case !st[b].sent:
				settled = false
				out = append(out, Missing{sp.Name, b, "not sent yet"})
			default:
				settled = false
				out = append(out, Missing{sp.Name, b, "sent, no results yet"})
			}
		}
	}
	if noSubmit {
		settled = false // only the deadline ends a look
	}
	return out, settled
}

// BatchDomains reads batch n's domains.
func (c *Client) BatchDomains(ctx context.Context, run string, n int) ([]string, error) {
	return c.batchDomains(ctx, run, n)
}
