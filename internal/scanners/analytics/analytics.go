// Package analytics reports whether each domain appears in a list of
// participating domains (originally the Digital Analytics Program list).
package analytics

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"

	"github.com/domainscan/domain-scan/internal/domains"
	"github.com/domainscan/domain-scan/internal/scan"
)

// Scanner is the analytics scanner.
type Scanner struct {
	source string
	set    map[string]struct{} // filled once by Init, read-only after
}

var (
	_ scan.Scanner     = (*Scanner)(nil)
	_ scan.FlagDefiner = (*Scanner)(nil)
	_ scan.Initializer = (*Scanner)(nil)
)

// New returns an analytics scanner; --analytics must be set before Init.
func New() *Scanner { return &Scanner{} }

// Info describes the scanner.
func (*Scanner) Info() scan.Info {
	return scan.Info{
		Name:    "analytics",
		Summary: "whether the domain is in the --analytics CSV of participating domains",
		Headers: []string{"Participates in Analytics"},
	}
}

// DefineFlags adds --analytics.
func (s *Scanner) DefineFlags(fs *flag.FlagSet) {
	fs.StringVar(&s.source, "analytics", "", "CSV path or http(s) URL of participating domains (first column)")
}

// Init loads the list once per run. The list is small (thousands of
// domains), so it is held in memory.
func (s *Scanner) Init(ctx context.Context, run scan.Run) error {
	if s.source == "" {
		return errors.New("the analytics scanner needs --analytics=<CSV path or URL of participating domains>")
	}
	log := run.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	list, err := domains.Prepare(ctx, s.source, domains.Options{
		SpoolDir:     run.CacheDir,
		DownloadDir:  run.CacheDir,
		DownloadName: "analytics.csv",
		OnInvalid: func(i domains.Issue) {
			log.Warn("analytics list: invalid entry skipped", "where", i.String())
		},
	})
	if err != nil {
		return fmt.Errorf("load --analytics list: %w", err)
	}
	defer list.Close()
	set := make(map[string]struct{}, list.Len())
	if err := list.Range(func(d string) bool { set[d] = struct{}{}; return true }); err != nil {
		return fmt.Errorf("read --analytics list: %w", err)
	}
	s.set = set
	return nil
}

// Result is the original's analytics result.
type Result struct {
	Participating bool `json:"participating"`
}

// Rows gives the one row.
func (r *Result) Rows() [][]any { return [][]any{{r.Participating}} }

// NewResult returns an empty result.
func (*Scanner) NewResult() scan.Result { return &Result{} }

// Scan looks the domain up.
func (s *Scanner) Scan(_ context.Context, job scan.Job) (scan.Result, error) {
	if s.set == nil {
		return nil, errors.New("analytics list not loaded")
	}
	_, ok := s.set[job.Domain]
	return &Result{Participating: ok}, nil
}
