// Package scan holds the domain types shared by the engine, the scanners,
// the outputs and (later) the Lambda handler: what a scanner is, what a job
// and a record are, and the registry of built-in scanners.
//
// It imports nothing of this module, so every other package can depend on it.
package scan

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"log/slog"
	"net"
	"time"
)

// Info is the static description of a scanner.
type Info struct {
	// Name is the --scan value, the results/<name>.csv and cache/<name>/
	// names, and the suffix of the Lambda function (task_<name>).
	Name string
	// Summary is one line for `domain-scan scanners`.
	Summary string
	// Headers are this scanner's CSV columns. The framework adds
	// "Domain" and "Base Domain" before them and meta columns after them.
	Headers []string
	// DependsOn names scanners whose cached results this one reads. It only
	// orders a run: they run first when they are part of the same --scan.
	DependsOn []string
	// Workers is the default pool size; 0 means the global default (10).
	// --workers and --serial always win.
	Workers int
	// Lambda says the scan step may run in AWS Lambda.
	Lambda bool
	// Browser says the scanner needs headless Chromium.
	Browser bool
	// LambdaTimeout and LambdaMemoryMB configure the scanner's Lambda
	// function (0: 60 s and 256 MB).
	LambdaTimeout  time.Duration
	LambdaMemoryMB int
}

// Target is one domain to scan.
type Target struct {
	Domain     string `json:"domain"`
	BaseDomain string `json:"base_domain"`
}

// Job is the unit of work handed to Scanner.Scan. It is plain data so that
// the same job can travel to a remote executor.
type Job struct {
	Target
	// RunID is the scan_uuid of the run.
	RunID string `json:"run_id"`
	// Options are this scanner's own flag values that were set, by flag
	// name. Each job has its own copy.
	Options map[string]string `json:"options,omitempty"`
	// Inputs is what the scanner's Prepare computed locally for this target.
	Inputs json.RawMessage `json:"inputs,omitempty"`
}

// Result is one scanner's output for one domain. It must survive a JSON
// round trip: the engine caches its JSON and builds rows from a copy decoded
// into Scanner.NewResult, exactly as it does for cached or remote results.
type Result interface {
	// Rows returns zero or more rows of cells, each len(Info().Headers) long.
	// Cells are nil, bool, string, numbers, or JSON-like lists and maps;
	// the output package formats them as the original (Python) tool did.
	Rows() [][]any
}

// Scanner checks one domain. Implementations must be safe for concurrent use
// and must return soon after ctx is done.
type Scanner interface {
	Info() Info
	// NewResult returns an empty value to decode cached or remote JSON into.
	NewResult() Result
	// Scan runs the checks. A non-nil error makes a failed record (a row of
	// blank cells with the error under --meta); it never stops the run.
	Scan(ctx context.Context, job Job) (Result, error)
}

// FlagDefiner is implemented by scanners that own command-line flags. Flag
// names should start with the scanner's name unless the original tool used
// another name.
type FlagDefiner interface {
	DefineFlags(fs *flag.FlagSet)
}

// Initializer is implemented by scanners that need set-up once per run,
// before any domain (the original's init). An error aborts the run before
// anything is scanned.
type Initializer interface {
	Init(ctx context.Context, run Run) error
}

// Preparer is implemented by scanners that compute per-domain inputs locally
// before the scan (the original's init_domain), usually from the cached
// results of the scanners they depend on. Returning ErrSkip skips the domain
// for this scanner: no row, no cache file, counted and logged.
type Preparer interface {
	Prepare(ctx context.Context, t Target, prior Lookup) (json.RawMessage, error)
}

// Observer is implemented by scanners that keep per-run state from results
// (the original's post_scan, used for the SMTP "fast cache"). Observe is
// called after every attempt, including cache hits; r is nil on failure.
type Observer interface {
	Observe(t Target, r Result)
}

// Lookup reads the cached result of another scanner for a domain.
type Lookup interface {
	// Lookup returns the cached JSON, or ok == false when there is none.
	// A cached failure ({"invalid": true}) is returned as it is.
	Lookup(scanner, domain string) (data []byte, ok bool, err error)
}

// Run describes the run to Initializer.Init.
type Run struct {
	ID     string // scan_uuid
	Method string // "local", or "lambda" inside the Lambda function
	// Remote: this run sends the scanner's jobs to Lambda (--lambda); its
	// Prepare and Observe run here, its Scan in the function.
	Remote   bool
	Workers  int
	CacheDir string // <output>/cache: where downloads such as analytics.csv go
	Prior    Lookup
	Log      *slog.Logger
	// NoFastCache is --no-fast-cache: per-run caches shared between
	// domains (such as the SMTP results of trustymail) are off.
	NoFastCache bool
	// Net resolves and dials as --dns and --port-map say.
	Net Network
	// CAFile is --ca_file: a PEM trust store to verify certificates with
	// ("" means the system's).
	CAFile string
}

// Network is how network scanners resolve names and open connections
// (implemented by the netx package), so that --dns and --port-map apply to
// all of them alike.
type Network interface {
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
	Resolver() *net.Resolver
}

// ErrSkip is returned by Prepare to skip a domain.
var ErrSkip = errors.New("skipped by scanner")

// Status is the outcome of one (scanner, domain) pair.
type Status string

// The statuses. Every status but StatusSkipped gives at least one row.
const (
	StatusOK          Status = "ok"
	StatusFailed      Status = "failed"
	StatusTimeout     Status = "timeout"
	StatusInterrupted Status = "interrupted"
	StatusSkipped     Status = "skipped"
)

// Source says where a record's data came from.
type Source string

// The sources.
const (
	SourceLocal  Source = "local"
	SourceLambda Source = "lambda"
	SourceCache  Source = "cache"
)

// Record is one (scanner, domain) outcome: the CSV rows and the JSON-lines
// record are both made from it.
type Record struct {
	Scanner string
	Target
	Status Status
	Errors []string
	Source Source
	// Result is nil unless Status is StatusOK.
	Result Result
	// Data is Result's JSON as it is cached.
	Data json.RawMessage
	// Start and End are zero for cache hits (the original left them blank).
	Start, End time.Time
	// Lambda describes the invocation that scanned this record, when it
	// ran in AWS Lambda.
	Lambda *LambdaMeta
}

// LambdaMeta is the original's --meta Lambda columns of a record.
type LambdaMeta struct {
	RequestID        string
	LogGroupName     string
	LogStreamName    string
	Start, End       time.Time
	MemoryLimit      string
	MeasuredDuration time.Duration
}

// Duration is End - Start.
func (r *Record) Duration() time.Duration { return r.End.Sub(r.Start) }

// Opt is a result cell from an optional value: *p, or nil (the original's
// None) when p is nil.
func Opt[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}
