package awslambda

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmw "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/domainscan/domain-scan/internal/engine"
	"github.com/domainscan/domain-scan/internal/scan"
)

// InvokeAPI is the part of the Lambda client the invoker uses.
type InvokeAPI interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, opts ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// InvokerOptions configure an Invoker.
type InvokerOptions struct {
	// Function is the name template; {scanner} is replaced (task_{scanner}).
	Function string
	// Retries is --lambda-retries: how often a function error or an empty
	// or garbled answer is retried (each retry re-runs the scan).
	Retries int
	// Batch is --lambda-batch: domains per invocation (default 1).
	Batch int
	// Linger is how long a batch waits to fill up (default 20 ms).
	Linger time.Duration
	// ThrottleRetries bounds retries of throttling and transport errors,
	// which are safe (the scan did not run); default 8.
	ThrottleRetries int
	// BackoffBase and BackoffCap shape the jittered exponential backoff.
	BackoffBase, BackoffCap time.Duration
	RunID                   string
	Version                 string
	Log                     *slog.Logger
	// Timeouts are the deployed functions' timeouts by scanner, when
	// known (FunctionTimeouts reads them); otherwise the scanner's own.
	Timeouts map[string]time.Duration
}

// Invoker runs scans in AWS Lambda (engine.Executor). Each in-flight
// invocation is a goroutine blocked on the SDK, nothing more.
type Invoker struct {
	client InvokeAPI
	o      InvokerOptions

	mu          sync.Mutex
	batchers    map[string]*batcher
	closed      bool
	versionOnce sync.Once
	prefixes    sync.Map // scanner -> encoded shared part of its events
}

var _ engine.Executor = (*Invoker)(nil)

// NewInvoker returns an invoker over client.
func NewInvoker(client InvokeAPI, o InvokerOptions) *Invoker {
	if o.Function == "" {
		o.Function = "task_{scanner}"
	}
	if o.Batch < 1 {
		o.Batch = 1
	}
	if o.Linger <= 0 {
		o.Linger = 20 * time.Millisecond
	}
	if o.ThrottleRetries <= 0 {
		// With the 10 s cap, minutes of retrying: a reserved-concurrency
		// limit can hold that long, and the job's deadline still bounds it.
		o.ThrottleRetries = 40
	}
	if o.BackoffBase <= 0 {
		o.BackoffBase = 100 * time.Millisecond
	}
	if o.BackoffCap <= 0 {
		o.BackoffCap = 10 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Invoker{client: client, o: o, batchers: map[string]*batcher{}}
}

// attemptTimeout is how long one invocation may take: the function's
// timeout (as deployed, when known) and some slack for the round trip.
func (iv *Invoker) attemptTimeout(info scan.Info) time.Duration {
	t, ok := iv.o.Timeouts[info.Name]
	if !ok || t <= 0 {
		t = info.LambdaTimeout
	}
	if t <= 0 {
		t = 60 * time.Second
	}
	return t + 30*time.Second
}

// Budget is the whole time a job may take here: every attempt its full
// time, plus backoff. The engine sets its deadline from it.
func (iv *Invoker) Budget(info scan.Info) time.Duration {
	return time.Duration(1+iv.o.Retries)*iv.attemptTimeout(info) + 2*time.Minute
}

// ConfigAPI reads a function's configuration.
type ConfigAPI interface {
	GetFunctionConfiguration(ctx context.Context, in *lambda.GetFunctionConfigurationInput, opts ...func(*lambda.Options)) (*lambda.GetFunctionConfigurationOutput, error)
}

// FunctionTimeouts reads the deployed timeout of each scanner's function.
// A function that cannot be read (no permission, the emulator) is left
// out, and its scanner's declared timeout applies.
func FunctionTimeouts(ctx context.Context, c ConfigAPI, template string, scanners []string) map[string]time.Duration {
	out := map[string]time.Duration{}
	for _, s := range scanners {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		cfg, err := c.GetFunctionConfiguration(cctx, &lambda.GetFunctionConfigurationInput{
			FunctionName: aws.String(strings.ReplaceAll(template, "{scanner}", s))})
		cancel()
		if err == nil && cfg.Timeout != nil && *cfg.Timeout > 0 {
			out[s] = time.Duration(*cfg.Timeout) * time.Second
		}
	}
	return out
}

// FunctionName is the function of a scanner.
func (iv *Invoker) FunctionName(scanner string) string {
	return strings.ReplaceAll(iv.o.Function, "{scanner}", scanner)
}

// Execute runs one job, alone or in a batch with other jobs of the same
// scanner.
func (iv *Invoker) Execute(ctx context.Context, info scan.Info, job scan.Job) engine.Outcome {
	if iv.o.Batch == 1 {
		outs := iv.invoke(ctx, info, []scan.Job{job})
		return outs[0]
	}
	return iv.batcherFor(info).submit(ctx, job)
}

// request builds the event for jobs of one scanner.
func (iv *Invoker) request(scanner string, jobs []scan.Job) Request {
	req := Request{
		Scanner:     scanner,
		Environment: map[string]any{"scan_method": "lambda", "scan_uuid": iv.o.RunID},
		Version:     iv.o.Version,
	}
	if len(jobs) == 1 {
		req.Domain = jobs[0].Domain
	} else {
		for _, j := range jobs {
			req.Domains = append(req.Domains, j.Domain)
		}
	}
	if opts := jobs[0].Options; len(opts) > 0 {
		req.Options = map[string]any{}
		for k, v := range opts {
			req.Options[k] = v
		}
	}
	for _, j := range jobs {
		if len(j.Inputs) > 0 {
			if req.Inputs == nil {
				req.Inputs = map[string]json.RawMessage{}
			}
			req.Inputs[j.Domain] = j.Inputs
		}
	}
	return req
}

// payload encodes the event: the part shared by every job of a scanner
// (scanner, environment, options, version) is encoded once per run.
func (iv *Invoker) payload(scanner string, jobs []scan.Job) ([]byte, error) {
	key := scanner
	prefix, ok := iv.prefixes.Load(key)
	if !ok {
		head := iv.request(scanner, jobs[:1])
		head.Domain, head.Domains, head.Inputs = "", nil, nil
		b, err := json.Marshal(head)
		if err != nil {
			return nil, err
		}
		prefix, _ = iv.prefixes.LoadOrStore(key, b[:len(b)-1]) // without the closing brace
	}
	buf := bytes.NewBuffer(make([]byte, 0, len(prefix.([]byte))+64*len(jobs)))
	buf.Write(prefix.([]byte))
	if len(jobs) == 1 {
		buf.WriteString(`,"domain":`)
		writeJSONString(buf, jobs[0].Domain)
	} else {
		buf.WriteString(`,"domains":[`)
		for i, j := range jobs {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeJSONString(buf, j.Domain)
		}
		buf.WriteByte(']')
	}
	first := true
	for _, j := range jobs {
		if len(j.Inputs) == 0 {
			continue
		}
		if first {
			buf.WriteString(`,"inputs":{`)
			first = false
		} else {
			buf.WriteByte(',')
		}
		if !json.Valid(j.Inputs) {
			return nil, fmt.Errorf("inputs of %s are not JSON", j.Domain)
		}
		writeJSONString(buf, j.Domain)
		buf.WriteByte(':')
		buf.Write(j.Inputs)
	}
	if !first {
		buf.WriteByte('}')
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

func writeJSONString(buf *bytes.Buffer, s string) {
	b, _ := json.Marshal(s)
	buf.Write(b)
}

// invoke runs jobs in one invocation, with the bounded retries, and gives
// one outcome per job, in order.
func (iv *Invoker) invoke(ctx context.Context, info scan.Info, jobs []scan.Job) []engine.Outcome {
	scanner := info.Name
	payload, err := iv.payload(scanner, jobs)
	began := time.Now()
	fail := func(status scan.Status, errs []string, meta *scan.LambdaMeta) []engine.Outcome {
		outs := make([]engine.Outcome, len(jobs))
		for i := range outs {
			// Each record gets its own slice: workers append to it.
			outs[i] = engine.Outcome{Status: status, Errors: slices.Clone(errs), Lambda: meta,
				Start: began, End: time.Now()}
		}
		return outs
	}
	if err != nil {
		return fail(scan.StatusFailed, []string{"encode Lambda event: " + err.Error()}, nil)
	}
	name := iv.FunctionName(scanner)
	var errs []string
	throttled, retried := 0, 0
	for {
		start := time.Now()
		actx, cancel := context.WithTimeout(ctx, iv.attemptTimeout(info))
		out, err := iv.client.Invoke(actx, &lambda.InvokeInput{
			FunctionName: aws.String(name), Payload: payload, InvocationType: types.InvocationTypeRequestResponse,
		})
		attemptTimedOut := actx.Err() != nil && ctx.Err() == nil
		cancel()
		if err != nil && attemptTimedOut {
			return fail(scan.StatusTimeout, append(errs, "Lambda invocation did not answer within the function's timeout"), nil)
		}
		if err != nil && ctx.Err() != nil {
			return fail(scan.StatusTimeout, append(errs, "Lambda invocation did not answer in time"), nil)
		}
		if err != nil {
			if safeToRetry(err) {
				// The scan did not run: retrying is safe, until the job's
				// own deadline (a capacity limit can last minutes).
				if throttled < iv.o.ThrottleRetries {
					throttled++
					iv.sleep(ctx, throttled)
					continue
				}
				return fail(scan.StatusFailed, append(errs, fmt.Sprintf("Lambda error after %d retries: %v", throttled, err)),
					errorMeta(err, start))
			}
			errs = append(errs, "Lambda error: "+err.Error())
			if retried >= iv.o.Retries {
				return fail(scan.StatusFailed, errs, errorMeta(err, start))
			}
			retried++
			iv.sleep(ctx, retried)
			continue
		}
		iv.checkVersion(out)
		resp, problem := parseResponse(out)
		meta := lambdaMeta(out, resp.Lambda, start)
		if problem == "" {
			return iv.outcomes(jobs, resp, meta, errs)
		}
		errs = append(errs, problem)
		if isFunctionTimeout(problem) {
			// Running it again would time out again.
			return fail(scan.StatusTimeout, errs, meta)
		}
		if retried >= iv.o.Retries {
			return fail(scan.StatusFailed, errs, meta)
		}
		retried++
		iv.o.Log.Info("retrying Lambda scan", "function", name, "attempt", retried, "problem", problem)
	}
}

// isFunctionTimeout recognises Lambda's and the emulator's answers for a
// function killed at its timeout.
func isFunctionTimeout(problem string) bool {
	return strings.Contains(problem, "Task timed out") || strings.Contains(problem, "Sandbox.Timedout")
}

// errorMeta keeps the request id of a failed call for the --meta columns.
func errorMeta(err error, start time.Time) *scan.LambdaMeta {
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.ServiceRequestID() != "" {
		end := time.Now()
		return &scan.LambdaMeta{RequestID: re.ServiceRequestID(), Start: start, End: end, MeasuredDuration: end.Sub(start)}
	}
	return nil
}

// checkVersion warns once when the function runs another build.
func (iv *Invoker) checkVersion(out *lambda.InvokeOutput) {
	var v struct {
		Version string `json:"version"`
	}
	if iv.o.Version == "" || json.Unmarshal(out.Payload, &v) != nil || v.Version == "" || v.Version == iv.o.Version {
		return
	}
	iv.versionOnce.Do(func() {
		iv.o.Log.Warn("the Lambda function runs another build; deploy again (domain-scan lambda deploy)",
			"function_version", v.Version, "client_version", iv.o.Version)
	})
}

// outcomes maps a good response to the jobs.
func (iv *Invoker) outcomes(jobs []scan.Job, resp Response, meta *scan.LambdaMeta, errs []string) []engine.Outcome {
	outs := make([]engine.Outcome, len(jobs))
	if len(jobs) == 1 && resp.Results == nil {
		o := engine.Outcome{Status: scan.Status(resp.Status), Data: resp.Data, Errors: slices.Clone(errs), Lambda: meta,
			Start: meta.Start, End: meta.End}
		if o.Status == "" { // the original's handlers sent no status
			o.Status = scan.StatusOK
			if resp.Error != "" || len(resp.Data) == 0 || string(resp.Data) == "null" {
				o.Status = scan.StatusFailed
			}
		} else {
			o.Status = knownStatus(resp.Status)
		}
		if resp.Error != "" {
			o.Errors = append(append([]string(nil), errs...), "Error or exception during scan: "+resp.Error)
		}
		outs[0] = o
		return outs
	}
	byDomain := map[string]Result{}
	for _, r := range resp.Results {
		byDomain[r.Domain] = r
	}
	for i, j := range jobs {
		r, ok := byDomain[j.Domain]
		o := engine.Outcome{Status: knownStatus(r.Status), Data: r.Data, Errors: slices.Clone(errs), Lambda: meta,
			Start: fromEpoch(r.Start), End: fromEpoch(r.End)}
		switch {
		case !ok:
			o.Status, o.Errors = scan.StatusFailed, append(append([]string(nil), errs...), "Lambda response lacks this domain")
		case r.Error != "":
			o.Errors = append(append([]string(nil), errs...), "Error or exception during scan: "+r.Error)
		}
		outs[i] = o
	}
	return outs
}

// knownStatus maps a status from the function (maybe another build) to
// ours; anything unknown is a failure.
func knownStatus(s string) scan.Status {
	switch st := scan.Status(s); st {
	case scan.StatusOK, scan.StatusFailed, scan.StatusTimeout, scan.StatusSkipped:
		return st
	}
	return scan.StatusFailed
}

// sleep waits a jittered exponential backoff (full jitter), or until ctx
// ends.
func (iv *Invoker) sleep(ctx context.Context, attempt int) {
	d := min(iv.o.BackoffCap, iv.o.BackoffBase<<min(attempt, 20))
	d = time.Duration(rand.Int64N(int64(d)) + 1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// safeToRetry: throttling, a busy or unavailable service, or a transport
// failure before any answer — the scan did not run, so retrying is safe.
func safeToRetry(err error) bool { return SafeToRetry(err) }

// SafeToRetry reports an invocation error after which the scan surely did
// not run: throttling, a busy service, or a transport failure before any
// answer.
func SafeToRetry(err error) bool {
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "TooManyRequestsException", "ThrottlingException", "EC2ThrottledException",
			"ServiceException", "ResourceNotReadyException", "ResourceConflictException":
			return true
		}
	}
	// The request never left: dial, DNS or TLS failures.
	var send *smithyhttp.RequestSendError
	if errors.As(err, &send) {
		var oe *net.OpError
		var de *net.DNSError
		return (errors.As(err, &oe) && oe.Op == "dial") || errors.As(err, &de)
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		// The managed emulator says it is busy this way.
		if re.Response != nil && re.Response.Header.Get("Error-Type") == "Runtime.Unavailable" {
			return true
		}
		code := re.HTTPStatusCode()
		return code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable
	}
	return false
}

// parseResponse checks an invocation's answer: "" when it is a response
// of ours, else what was wrong (a function error, a timeout text, garbage).
func parseResponse(out *lambda.InvokeOutput) (Response, string) {
	body := bytes.TrimSpace(out.Payload)
	if out.FunctionError != nil {
		return Response{}, fmt.Sprintf("Lambda error (%s): %s", *out.FunctionError, truncate(body))
	}
	if raw, ok := awsmw.GetRawResponse(out.ResultMetadata).(*smithyhttp.Response); ok {
		if et := raw.Header.Get("Error-Type"); et != "" {
			return Response{}, fmt.Sprintf("Lambda error (%s): %s", et, truncate(body))
		}
	}
	if len(body) == 0 || string(body) == "null" {
		return Response{}, "Response came back empty."
	}
	// One parse: our response, or the runtime's error object.
	var resp struct {
		Response
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return Response{}, "Response came back garbled: " + truncate(body)
	}
	if resp.ErrorType != "" || resp.ErrorMessage != "" {
		return Response{}, fmt.Sprintf("Lambda error (%s): %s", resp.ErrorType, resp.ErrorMessage)
	}
	if resp.Data == nil && resp.Results == nil && resp.Error == "" {
		return Response{}, "Response object lacked 'data' field: " + truncate(body)
	}
	return resp.Response, ""
}

func truncate(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

// lambdaMeta reads the "lambda" object, with the API's request id when the
// function did not say.
func lambdaMeta(out *lambda.InvokeOutput, l Meta, start time.Time) *scan.LambdaMeta {
	m := &scan.LambdaMeta{
		RequestID: l.RequestID, LogGroupName: l.LogGroupName, LogStreamName: l.LogStreamName,
		MemoryLimit: l.MemoryLimit, Start: fromEpoch(l.StartTime), End: fromEpoch(l.EndTime),
		MeasuredDuration: time.Duration(l.MeasuredDuration * float64(time.Second)),
	}
	if m.RequestID == "" {
		m.RequestID, _ = awsmw.GetRequestIDMetadata(out.ResultMetadata)
	}
	if m.Start.IsZero() {
		m.Start, m.End = start, time.Now()
	}
	return m
}

func fromEpoch(s float64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(s*1e9))
}

// Close stops the batchers once the run is over. Execute must not be
// running or called afterwards.
func (iv *Invoker) Close() {
	iv.mu.Lock()
	defer iv.mu.Unlock()
	if iv.closed {
		return
	}
	iv.closed = true
	for _, b := range iv.batchers {
		close(b.in)
	}
}

// batcher packs jobs of one scanner into invocations of up to Batch
// domains, waiting at most Linger for a batch to fill.
type batcher struct {
	iv   *Invoker
	info scan.Info
	in   chan pending
}

type pending struct {
	ctx   context.Context
	job   scan.Job
	reply chan engine.Outcome
}

func (iv *Invoker) batcherFor(info scan.Info) *batcher {
	scanner := info.Name
	iv.mu.Lock()
	defer iv.mu.Unlock()
	if iv.closed {
		return nil
	}
	b, ok := iv.batchers[scanner]
	if !ok {
		b = &batcher{iv: iv, info: info, in: make(chan pending)}
		iv.batchers[scanner] = b
		go b.loop()
	}
	return b
}

func (b *batcher) submit(ctx context.Context, job scan.Job) engine.Outcome {
	if b == nil {
		return engine.Outcome{Status: scan.StatusFailed, Errors: []string{"Lambda invoker closed"}}
	}
	p := pending{ctx: ctx, job: job, reply: make(chan engine.Outcome, 1)}
	select {
	case b.in <- p:
	case <-ctx.Done():
		return engine.Outcome{Status: scan.StatusTimeout, Errors: []string{"not sent to Lambda in time"}}
	}
	select {
	case o := <-p.reply:
		return o
	case <-ctx.Done():
		return engine.Outcome{Status: scan.StatusTimeout, Errors: []string{"Lambda batch did not answer in time"}}
	}
}

// loop collects batches for ever (one goroutine per scanner of a run).
func (b *batcher) loop() {
	for first := range b.in {
		batch := []pending{first}
		timer := time.NewTimer(b.iv.o.Linger)
	fill:
		for len(batch) < b.iv.o.Batch {
			select {
			case p := <-b.in:
				batch = append(batch, p)
			case <-timer.C:
				break fill
			}
		}
		timer.Stop()
		go b.send(batch)
	}
}

func (b *batcher) send(batch []pending) {
	jobs := make([]scan.Job, len(batch))
	// The batch lives as long as its longest-lived job.
	ctx := batch[0].ctx
	for i, p := range batch {
		jobs[i] = p.job
		if d1, ok1 := p.ctx.Deadline(); ok1 {
			if d0, ok0 := ctx.Deadline(); ok0 && d1.After(d0) {
				ctx = p.ctx
			}
		}
	}
	outs := b.iv.invoke(ctx, b.info, jobs)
	for i, p := range batch {
		p.reply <- outs[i]
	}
}
