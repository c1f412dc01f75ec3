package pshtt

import (
	"context"
	"flag"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/domainscan/domain-scan/internal/domains"
	"github.com/domainscan/domain-scan/internal/lab/labtest"
	"github.com/domainscan/domain-scan/internal/output"
	"github.com/domainscan/domain-scan/internal/scan"
	"github.com/domainscan/domain-scan/internal/scanners/scannertest"
)

// newLabScanner returns a pshtt scanner initialised against the lab, as
// `scan --dns=… --ca_file=… --hsts-preload-list=… --hsts-preload-pending=…`
// would make it.
func newLabScanner(t *testing.T, l *labtest.Lab, extra ...string) *Scanner {
	t.Helper()
	s := New()
	fs := flag.NewFlagSet("pshtt", flag.ContinueOnError)
	s.DefineFlags(fs)
	args := append([]string{"--hsts-preload-list=" + l.PreloadURL, "--hsts-preload-pending=" + l.PendingURL}, extra...)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	if err := s.Init(context.Background(), scan.Run{Net: l.Network(), CAFile: l.CAFile}); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestCatalogue: for every lab scenario with pshtt expectations, the
// scanner's cells equal the expected ones, field by field.
func TestCatalogue(t *testing.T) {
	if testing.Short() {
		t.Skip("scans the whole lab")
	}
	l := labtest.Start(t)
	s := newLabScanner(t, l)
	if len(s.preload) == 0 || len(s.pending) == 0 {
		t.Fatalf("the lab's preload lists did not load: %d preloaded, %d pending", len(s.preload), len(s.pending))
	}
	for _, sc := range l.Scenarios {
		want := sc.Expect["pshtt"]
		if len(want) == 0 {
			continue
		}
		t.Run(sc.Domain, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			target := scan.Target{Domain: sc.Domain, BaseDomain: domains.BaseDomain(sc.Domain)}
			inputs, err := s.Prepare(ctx, target, nil)
			if err != nil {
				t.Fatal(err)
			}
			res, err := s.Scan(ctx, scan.Job{Target: target, Inputs: inputs})
			if err != nil {
				t.Fatal(err)
			}
			row := res.Rows()[0]
			got := map[string]string{}
			for i, h := range Headers {
				got[h] = output.Cell(row[i])
			}
			var diffs []string
			keys := make([]string, 0, len(want))
			for k := range want {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, h := range keys {
				if got[h] != want[h] {
					diffs = append(diffs, h+": got "+quote(got[h])+", want "+quote(want[h]))
				}
			}
			if len(diffs) > 0 {
				t.Errorf("%s (%s):\n  %s", sc.Domain, sc.Summary, strings.Join(diffs, "\n  "))
			}
		})
	}
}

func quote(s string) string { return "\"" + s + "\"" }

func TestConformance(t *testing.T) {
	l := labtest.Start(t)
	s := newLabScanner(t, l)
	scannertest.Run(t, s, []scannertest.Case{{Target: scan.Target{Domain: "enforced.test", BaseDomain: "enforced.test"}}})
}
