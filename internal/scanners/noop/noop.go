// Package noop is the reference scanner: it touches no network and shows
// every hook of the scanner interface. It is also what the engine's tests and
// benchmarks run, and the scanner behind the Lambda guide's test event.
package noop

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"time"

	"github.com/domainscan/domain-scan/internal/scan"
)

// constant is what the original's init put into the environment.
const constant = 12345

// Scanner is the noop scanner.
type Scanner struct {
	delay delay
}

var (
	_ scan.Scanner     = (*Scanner)(nil)
	_ scan.FlagDefiner = (*Scanner)(nil)
	_ scan.Preparer    = (*Scanner)(nil)
)

// New returns a noop scanner with no delay.
func New() *Scanner { return &Scanner{} }

// Info describes the scanner.
func (*Scanner) Info() scan.Info {
	return scan.Info{
		Name:           "noop",
		Summary:        "does nothing but echo its inputs; for testing pipelines, the engine and Lambda",
		Headers:        []string{"Completed", "Constant", "Variable"},
		Workers:        2,
		Lambda:         true,
		LambdaTimeout:  time.Minute,
		LambdaMemoryMB: 128,
	}
}

// DefineFlags adds --noop-delay.
func (s *Scanner) DefineFlags(fs *flag.FlagSet) {
	fs.Var(&s.delay, "noop-delay", "time each noop scan waits: seconds (the original's integer) or a duration such as 250ms")
}

// Inputs is what Prepare hands to Scan: the original's init and init_domain
// environment values.
type Inputs struct {
	Constant int    `json:"constant"`
	Variable string `json:"variable"`
}

// Prepare computes the per-domain inputs locally.
func (*Scanner) Prepare(_ context.Context, t scan.Target, _ scan.Lookup) (json.RawMessage, error) {
	return json.Marshal(Inputs{Constant: constant, Variable: t.Domain})
}

// Result is the original's noop result.
type Result struct {
	Complete bool   `json:"complete"`
	Constant int    `json:"constant"`
	Variable string `json:"variable"`
}

// Rows gives the one row.
func (r *Result) Rows() [][]any { return [][]any{{r.Complete, r.Constant, r.Variable}} }

// NewResult returns an empty result.
func (*Scanner) NewResult() scan.Result { return &Result{} }

// Scan waits for the delay, then echoes the inputs.
func (s *Scanner) Scan(ctx context.Context, job scan.Job) (scan.Result, error) {
	var in Inputs
	if len(job.Inputs) > 0 {
		if err := json.Unmarshal(job.Inputs, &in); err != nil {
			return nil, fmt.Errorf("noop inputs: %w", err)
		}
	}
	if d := time.Duration(s.delay); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return &Result{Complete: true, Constant: in.Constant, Variable: in.Variable}, nil
}

// delay parses whole seconds, as the original's --noop-delay did, or a Go
// duration.
type delay time.Duration

func (d *delay) String() string { return time.Duration(*d).String() }

func (d *delay) Set(v string) error {
	x, err := scan.ParseSeconds(v)
	if err == nil {
		*d = delay(x)
	}
	return err
}
