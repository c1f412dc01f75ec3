package pshtt

import (
	"context"
	"encoding/json"
	"flag"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/domainscan/domain-scan/internal/domains"
	"github.com/domainscan/domain-scan/internal/lab"
	"github.com/domainscan/domain-scan/internal/lab/labtest"
	"github.com/domainscan/domain-scan/internal/output"
	"github.com/domainscan/domain-scan/internal/pyjson"
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

// TestCacheJSON: the cached result keeps pshtt's names, which other
// scanners read (Canonical URL, Live, Redirect, endpoints.https.live), and
// the per-endpoint details, HTTPS-only fields only on HTTPS endpoints.
func TestCacheJSON(t *testing.T) {
	l := labtest.Start(t, l0(t, "enforced.test")...)
	s := newLabScanner(t, l)
	res, err := s.Scan(context.Background(), scan.Job{Target: scan.Target{Domain: "www.enforced.test"}})
	if err != nil {
		t.Fatal(err)
	}
	data, err := pyjson.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range pshttOrder {
		if _, ok := m[k]; !ok {
			t.Errorf("cache lacks %q", k)
		}
	}
	if m["Domain"] != "enforced.test" || m["Canonical URL"] != "https://enforced.test" || m["Live"] != true || m["Redirect"] != false {
		t.Errorf("Domain/Canonical URL/Live/Redirect = %v/%v/%v/%v", m["Domain"], m["Canonical URL"], m["Live"], m["Redirect"])
	}
	eps := m["endpoints"].(map[string]any)
	https := eps["https"].(map[string]any)
	http := eps["http"].(map[string]any)
	if https["live"] != true || https["hsts"] != true || https["https_cert_chain_len"] != float64(2) {
		t.Errorf("https endpoint: %v", https)
	}
	if _, ok := http["hsts"]; ok {
		t.Errorf("http endpoint has HTTPS fields: %v", http)
	}
	if http["redirect_immediately_to"] != "https://enforced.test/" || http["status"] != float64(301) {
		t.Errorf("http endpoint: %v", http)
	}
	back := s.NewResult()
	if err := json.Unmarshal(data, back); err != nil {
		t.Fatal(err)
	}
	if r := back.(*Result); !is(r.Endpoints["https"].Live) || !r.Endpoints["https"].https || r.Endpoints["httpwww"].host != "www" {
		t.Errorf("decoded endpoints lost their identity: %+v", r.Endpoints["https"])
	}
}

func l0(t *testing.T, domain string) []*lab.Scenario {
	for _, sc := range lab.Catalogue() {
		if sc.Domain == domain {
			return []*lab.Scenario{sc}
		}
	}
	t.Fatalf("no scenario %s", domain)
	return nil
}
