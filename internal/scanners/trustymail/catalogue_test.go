package trustymail

import (
	"context"
	"flag"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/domainscan/domain-scan/internal/domains"
	"github.com/domainscan/domain-scan/internal/lab"
	"github.com/domainscan/domain-scan/internal/lab/labtest"
	"github.com/domainscan/domain-scan/internal/output"
	"github.com/domainscan/domain-scan/internal/scan"
	"github.com/domainscan/domain-scan/internal/scanners/scannertest"
)

// newLabScanner returns a trustymail scanner initialised against the lab,
// as `scan --dns=… --ca_file=… --port-map=…` would make it, with short
// timeouts so that the scenarios that time out cost seconds.
func newLabScanner(t testing.TB, l *lab.Lab, extra ...string) *Scanner {
	t.Helper()
	s := New()
	fs := flag.NewFlagSet("trustymail", flag.ContinueOnError)
	s.DefineFlags(fs)
	args := append([]string{"--timeout=2", "--smtp-timeout=1"}, extra...)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	if err := s.Init(context.Background(), scan.Run{Method: "local", Net: l.Network(), CAFile: l.CAFile}); err != nil {
		t.Fatal(err)
	}
	return s
}

func scanCells(t testing.TB, s *Scanner, domain string) (map[string]string, *Result) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := s.Scan(ctx, scan.Job{Target: scan.Target{Domain: domain, BaseDomain: domains.BaseDomain(domain)}})
	if err != nil {
		t.Fatal(err)
	}
	row := res.Rows()[0]
	if len(row) != len(Headers) {
		t.Fatalf("row of %d cells for %d headers", len(row), len(Headers))
	}
	got := map[string]string{}
	for i, h := range Headers {
		got[h] = output.Cell(row[i])
	}
	return got, res.(*Result)
}

// TestCatalogue: for every lab scenario with trustymail expectations, the
// scanner's cells equal the expected ones, field by field.
func TestCatalogue(t *testing.T) {
	if testing.Short() {
		t.Skip("scans the whole lab")
	}
	l := labtest.Start(t)
	s := newLabScanner(t, l.Lab)
	for _, sc := range l.Scenarios {
		want := sc.Expect["trustymail"]
		if len(want) == 0 {
			continue
		}
		t.Run(sc.Domain, func(t *testing.T) {
			t.Parallel()
			got, _ := scanCells(t, s, sc.Domain)
			var diffs []string
			keys := make([]string, 0, len(want))
			for k := range want {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, h := range keys {
				if _, ok := got[h]; !ok {
					diffs = append(diffs, h+": no such column")
				} else if got[h] != want[h] {
					diffs = append(diffs, h+": got "+quote(got[h])+", want "+quote(want[h]))
				}
			}
			if len(diffs) > 0 {
				t.Errorf("%s (%s):\n  %s\n  Debug Info: %s\n  Syntax Errors: %s", sc.Domain, sc.Summary, strings.Join(diffs, "\n  "), got["Debug Info"], got["Syntax Errors"])
			}
		})
	}
}

func quote(s string) string { return "\"" + s + "\"" }

func TestConformance(t *testing.T) {
	l := labtest.Start(t)
	s := newLabScanner(t, l.Lab)
	scannertest.Run(t, s, []scannertest.Case{{Target: scan.Target{Domain: "mail-perfect.test", BaseDomain: "mail-perfect.test"}}})
}

// TestHeadersMatchLab: the scanner writes the columns the lab's
// expectations are written against (kept apart on purpose: the lab is the
// independent specification).
func TestHeadersMatchLab(t *testing.T) {
	if strings.Join(Headers, "|") != strings.Join(lab.TrustymailHeaders, "|") {
		t.Errorf("Headers\n%v\nlab.TrustymailHeaders\n%v", Headers, lab.TrustymailHeaders)
	}
}
