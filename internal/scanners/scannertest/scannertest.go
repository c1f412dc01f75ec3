// Package scannertest is the conformance suite every scanner package runs:
// valid name and headers, rows as wide as the headers, results that survive
// the engine's JSON round trip, and prompt return after cancellation.
package scannertest

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/domainscan/domain-scan/internal/output"
	"github.com/domainscan/domain-scan/internal/scan"
)

// Case is one domain to scan with the expected first row, or nil to only
// check the shape.
type Case struct {
	Target scan.Target
	Inputs json.RawMessage
	Want   []any
}

// Run checks s against the contract of scan.Scanner. s must be ready to scan
// (flags set, Init done).
func Run(t *testing.T, s scan.Scanner, cases []Case) {
	t.Helper()
	info := s.Info()
	if _, err := scan.NewRegistry(s); err != nil && len(info.DependsOn) == 0 {
		t.Fatalf("registry rejects the scanner: %v", err)
	}
	if info.Summary == "" {
		t.Errorf("%s: empty Summary", info.Name)
	}
	seen := map[string]bool{}
	for _, h := range info.Headers {
		if h == "" || seen[h] || h == "Domain" || h == "Base Domain" {
			t.Errorf("%s: bad or repeated header %q", info.Name, h)
		}
		seen[h] = true
	}
	for _, c := range cases {
		t.Run(c.Target.Domain, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			inputs := c.Inputs
			if pr, ok := s.(scan.Preparer); ok && inputs == nil {
				in, err := pr.Prepare(ctx, c.Target, emptyLookup{})
				if err != nil {
					t.Fatalf("Prepare: %v", err)
				}
				inputs = in
			}
			res, err := s.Scan(ctx, scan.Job{Target: c.Target, RunID: "test", Inputs: inputs})
			if err != nil {
				t.Fatalf("Scan: %v", err)
			}
			raw, err := json.Marshal(res)
			if err != nil {
				t.Fatalf("result does not encode: %v", err)
			}
			back := s.NewResult()
			if err := json.Unmarshal(raw, back); err != nil {
				t.Fatalf("result does not decode into NewResult(): %v", err)
			}
			// What must survive is the CSV text (1 and json.Number("1")
			// are the same cell).
			if a, b := cells(res.Rows()), cells(back.Rows()); !reflect.DeepEqual(a, b) {
				t.Errorf("rows change in the JSON round trip:\n%q\n%q", a, b)
			}
			rows := back.Rows()
			for i, r := range rows {
				if len(r) != len(info.Headers) {
					t.Errorf("row %d has %d cells for %d headers", i, len(r), len(info.Headers))
				}
			}
			if c.Want != nil {
				if len(rows) == 0 || !reflect.DeepEqual(rows[0], c.Want) {
					t.Errorf("first row = %#v, want %#v", rows, c.Want)
				}
			}
		})
	}
}

// Cancellation checks that Scan returns within 100 ms of its context ending.
func Cancellation(t *testing.T, s scan.Scanner, job scan.Job) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = s.Scan(ctx, job)
	}()
	time.Sleep(20 * time.Millisecond)
	select {
	case <-done:
		t.Fatalf("%s: Scan returned before its context was cancelled; give it a job that blocks", s.Info().Name)
	default:
	}
	cancel()
	select {
	case <-done:
	case <-time.After(100 * time.Millisecond):
		t.Errorf("%s: Scan did not return within 100ms of cancellation", s.Info().Name)
	}
}

func cells(rows [][]any) [][]string {
	out := make([][]string, len(rows))
	for i, r := range rows {
		for _, c := range r {
			out[i] = append(out[i], output.Cell(c))
		}
	}
	return out
}

type emptyLookup struct{}

func (emptyLookup) Lookup(string, string) ([]byte, bool, error) { return nil, false, nil }
