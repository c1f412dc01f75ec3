package sslyze

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/domainscan/domain-scan/internal/domains"
	"github.com/domainscan/domain-scan/internal/lab"
	"github.com/domainscan/domain-scan/internal/lab/labtest"
	"github.com/domainscan/domain-scan/internal/output"
	"github.com/domainscan/domain-scan/internal/scan"
	"github.com/domainscan/domain-scan/internal/scanners/pshtt"
	"github.com/domainscan/domain-scan/internal/scanners/trustymail"
)

// initScanner parses args into a scanner's flags and initialises it
// against the lab.
func initScanner(t testing.TB, s scan.Scanner, l *lab.Lab, args ...string) {
	t.Helper()
	if fd, ok := s.(scan.FlagDefiner); ok {
		fs := flag.NewFlagSet(s.Info().Name, flag.ContinueOnError)
		fd.DefineFlags(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.(scan.Initializer).Init(context.Background(), scan.Run{Method: "local", Net: l.Network(), CAFile: l.CAFile}); err != nil {
		t.Fatal(err)
	}
}

// priors scans domains with pshtt and trustymail, as the run before sslyze
// would, and serves their results as the cache.
type priors struct {
	mu   sync.Mutex
	data map[string][]byte
}

func (p *priors) Lookup(scanner, domain string) ([]byte, bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	d, ok := p.data[scanner+"/"+domain]
	return d, ok, nil
}

func (p *priors) scan(t testing.TB, ctx context.Context, s scan.Scanner, domain string) {
	t.Helper()
	target := scan.Target{Domain: domain, BaseDomain: domains.BaseDomain(domain)}
	var inputs json.RawMessage
	if pr, ok := s.(scan.Preparer); ok {
		var err error
		if inputs, err = pr.Prepare(ctx, target, p); err != nil && !errors.Is(err, scan.ErrSkip) {
			t.Fatal(err)
		}
	}
	res, err := s.Scan(ctx, scan.Job{Target: target, Inputs: inputs})
	if err != nil {
		t.Fatalf("%s %s: %v", s.Info().Name, domain, err)
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	if p.data == nil {
		p.data = map[string][]byte{}
	}
	p.data[s.Info().Name+"/"+domain] = b
	p.mu.Unlock()
}

type labScanners struct {
	pshtt, trustymail scan.Scanner
	sslyze            *Scanner
}

func newLabScanners(t testing.TB, l *lab.Lab) labScanners {
	ps, tm, ss := pshtt.New(), trustymail.New(), New()
	initScanner(t, ps, l, "--hsts-preload-list="+l.PreloadURL, "--hsts-preload-pending="+l.PendingURL, "--pshtt-timeout=2")
	initScanner(t, tm, l, "--timeout=2", "--smtp-timeout=2")
	initScanner(t, ss, l, "--sslyze-timeout=2")
	return labScanners{ps, tm, ss}
}

// scanDomain runs pshtt, trustymail and sslyze on domain, in that order.
func (ls labScanners) scanDomain(t testing.TB, domain string) (*Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p := &priors{}
	p.scan(t, ctx, ls.pshtt, domain)
	p.scan(t, ctx, ls.trustymail, domain)
	target := scan.Target{Domain: domain, BaseDomain: domains.BaseDomain(domain)}
	in, err := ls.sslyze.Prepare(ctx, target, p)
	if err != nil {
		return nil, err
	}
	res, err := ls.sslyze.Scan(ctx, scan.Job{Target: target, Inputs: in})
	if err != nil {
		t.Fatal(err)
	}
	return res.(*Result), nil
}

func cellsOf(row []any) map[string]string {
	got := map[string]string{}
	for i, h := range Headers {
		got[h] = output.Cell(row[i])
	}
	return got
}

// TestCatalogue: for every lab scenario with sslyze expectations, the first
// row's cells equal the expected ones, field by field.
func TestCatalogue(t *testing.T) {
	if testing.Short() {
		t.Skip("scans the whole lab")
	}
	l := labtest.Start(t)
	ls := newLabScanners(t, l.Lab)
	for _, sc := range l.Scenarios {
		want := sc.Expect["sslyze"]
		if len(want) == 0 {
			continue
		}
		t.Run(sc.Domain, func(t *testing.T) {
			t.Parallel()
			res, err := ls.scanDomain(t, sc.Domain)
			if err != nil {
				t.Fatalf("Prepare: %v", err)
			}
			rows := res.Rows()
			if len(rows) == 0 {
				t.Fatal("no row")
			}
			got := cellsOf(rows[0])
			var diffs []string
			keys := make([]string, 0, len(want))
			for k := range want {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, h := range keys {
				if got[h] != want[h] {
					diffs = append(diffs, h+": got \""+got[h]+"\", want \""+want[h]+"\"")
				}
			}
			if len(diffs) > 0 {
				t.Errorf("%s (%s):\n  %s\n  Errors: %s\n  Accepted Ciphers: %s", sc.Domain, sc.Summary, strings.Join(diffs, "\n  "), got["Errors"], got["Accepted Ciphers"])
			}
		})
	}
}

// TestHeadersMatchLab: the scanner writes the columns the lab's
// expectations are written against (kept apart on purpose: the lab is the
// independent specification).
func TestHeadersMatchLab(t *testing.T) {
	if strings.Join(Headers, "|") != strings.Join(lab.SslyzeHeaders, "|") {
		t.Errorf("Headers\n%v\nlab.SslyzeHeaders\n%v", Headers, lab.SslyzeHeaders)
	}
}
