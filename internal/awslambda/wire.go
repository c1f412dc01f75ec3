// Package awslambda runs scans in AWS Lambda: the wire format shared by
// both sides, the handler that the binary serves as a Lambda bootstrap, the
// invoker that sends jobs from `scan --lambda`, and deployment. It is the
// only package besides the S3 sink that talks to AWS.
package awslambda

import (
	"encoding/json"
)

// Request is the invocation event. Its keys are the original's
// (`{scanner, domain, environment, options}`), so the original's console
// test events still work; `domains` and `inputs` extend it for batches.
type Request struct {
	Scanner string `json:"scanner"`
	// Domain is one domain (the original's form).
	Domain string `json:"domain,omitempty"`
	// Domains is a batch of domains for the same scanner, scanned
	// concurrently inside the function.
	Domains []string `json:"domains,omitempty"`
	// Environment carries the run's scan_uuid and scan_method as the
	// original did, and for the original's events the init/init_domain
	// values (such as noop's "constant" and "variable").
	Environment map[string]any `json:"environment,omitempty"`
	// Options are the flag values that apply to this scanner: its own
	// flags and the general network flags (dns, ca_file, port-map), by
	// flag name. Not the whole option set, as the original sent.
	Options map[string]any `json:"options,omitempty"`
	// Inputs holds, per domain, what the scanner's Prepare computed
	// locally. A domain without inputs is prepared in the function.
	Inputs map[string]json.RawMessage `json:"inputs,omitempty"`
	// Version is the client's build, so a stale deployment is noticed.
	Version string `json:"version,omitempty"`
	// Output, for asynchronous runs, is where the function writes the
	// batch's results: s3://bucket/key of one JSON-lines object (BatchLine
	// per domain). Writing it again (a retried or duplicated delivery)
	// replaces it, so a batch is never counted twice.
	Output string `json:"output,omitempty"`
	// Skip lists domains of Domains that the client's Prepare skipped
	// (their status is "skipped", with no scan).
	Skip []string `json:"skip,omitempty"`
	// Fail gives domains of Domains whose preparation failed on the
	// client, with the error: they get failed results, with no scan.
	Fail map[string]string `json:"fail,omitempty"`
	// Coordinate, instead of scanning, makes this invocation the
	// coordinator of an asynchronous run: it sends the run's batches and
	// collects its results itself, so the client can go offline.
	Coordinate *Coordination `json:"coordinate,omitempty"`
	// S3PathStyle asks for path-style S3 addressing (local S3 servers).
	S3PathStyle bool `json:"s3_path_style,omitempty"`
}

// Coordination names the asynchronous run a coordinator invocation serves.
type Coordination struct {
	// Store is the run's --output, s3://bucket/prefix.
	Store string `json:"store"`
	RunID string `json:"run_id"`
	// Generation counts the coordinator invocations of the run: each one
	// works until shortly before its deadline and then invokes the next.
	Generation int `json:"generation"`
	// Until (epoch seconds) is when the run stops waiting for batches and
	// collects what it has.
	Until float64 `json:"until"`
}

// BatchLine is one line of an asynchronous batch's result object.
type BatchLine struct {
	Scanner string `json:"scanner"`
	Result
	Lambda  Meta   `json:"lambda"`
	Version string `json:"version,omitempty"`
}

// Meta is the original's "lambda" object of a response.
type Meta struct {
	LogGroupName     string  `json:"log_group_name"`
	LogStreamName    string  `json:"log_stream_name"`
	RequestID        string  `json:"request_id"`
	MemoryLimit      string  `json:"memory_limit"`
	StartTime        float64 `json:"start_time"`
	EndTime          float64 `json:"end_time"`
	MeasuredDuration float64 `json:"measured_duration"`
}

// Result is the outcome for one domain of a batch.
type Result struct {
	Domain string          `json:"domain"`
	Status string          `json:"status"` // scan.Status values
	Data   json.RawMessage `json:"data"`
	Error  string          `json:"error,omitempty"`
	// Start and End are epoch seconds of this domain's scan.
	Start float64 `json:"start_time,omitempty"`
	End   float64 `json:"end_time,omitempty"`
}

// Response is what the function answers. For a single-domain event it has
// the original's keys (`lambda`, `data`, `error`); for a batch, `results`
// holds one entry per domain of the event, in order.
type Response struct {
	Lambda  Meta            `json:"lambda"`
	Data    json.RawMessage `json:"data"`
	Error   string          `json:"error,omitempty"`
	Status  string          `json:"status,omitempty"`
	Results []Result        `json:"results,omitempty"`
	Version string          `json:"version,omitempty"`
}
