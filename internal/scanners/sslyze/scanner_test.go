package sslyze

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/domainscan/domain-scan/internal/cache"
	"github.com/domainscan/domain-scan/internal/engine"
	"github.com/domainscan/domain-scan/internal/lab"
	"github.com/domainscan/domain-scan/internal/lab/labtest"
	"github.com/domainscan/domain-scan/internal/scan"
	"github.com/domainscan/domain-scan/internal/scanners/pshtt"
	"github.com/domainscan/domain-scan/internal/scanners/trustymail"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

type fakePrior map[string]string

func (p fakePrior) Lookup(scanner, domain string) ([]byte, bool, error) {
	d, ok := p[scanner+"/"+domain]
	return []byte(d), ok, nil
}

// TestPrepareTargets: the endpoints come from the pshtt and trustymail
// caches as the original's init_domain chose them.
func TestPrepareTargets(t *testing.T) {
	live := `{"Canonical URL": "https://x.test", "endpoints": {"https": {"live": true}, "httpswww": {"live": false}}}`
	www := `{"Canonical URL": "https://www.x.test", "endpoints": {"https": {"live": false}, "httpswww": {"live": true}}}`
	dead := `{"Canonical URL": "http://x.test", "endpoints": {"https": {"live": false}, "httpswww": {"live": false}}}`
	legacy := `{"Canonical URL": "http://x.test", "endpoints": {"https": {"live": false, "https_handshake_failed": true}, "httpswww": {"live": false}}}`
	mail := `{"Domain Supports STARTTLS Results": "mx.x.test:25, mx.x.test:465, mx2.x.test:587", "smtp_results": {"mx.x.test:465": {"implicit_tls": true}}}`
	for _, tc := range []struct {
		name  string
		prior fakePrior
		want  []target
	}{
		{"no caches: the domain itself", nil, []target{{Host: "x.test", Port: 443}}},
		{"https live", fakePrior{"pshtt/x.test": live}, []target{{Host: "x.test", Port: 443}}},
		{"canonical www", fakePrior{"pshtt/x.test": www}, []target{{Host: "www.x.test", Port: 443}}},
		{"no https, mail servers", fakePrior{"pshtt/x.test": dead, "trustymail/x.test": mail}, []target{
			{Host: "mx.x.test", Port: 25, STARTTLS: true, Mail: true},
			{Host: "mx.x.test", Port: 465, Mail: true}, // implicit TLS: scanned directly
			{Host: "mx2.x.test", Port: 587, STARTTLS: true, Mail: true},
		}},
		{"a server pshtt could not talk to", fakePrior{"pshtt/x.test": legacy}, []target{{Host: "x.test", Port: 443}}},
		{"nothing", fakePrior{"pshtt/x.test": dead, "trustymail/x.test": `{"Domain Supports STARTTLS Results": null}`}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New()
			var prior scan.Lookup
			if tc.prior != nil {
				prior = tc.prior
			}
			raw, err := s.Prepare(context.Background(), scan.Target{Domain: "x.test", BaseDomain: "x.test"}, prior)
			if tc.want == nil {
				if !errors.Is(err, scan.ErrSkip) {
					t.Fatalf("got %s, %v; want a skip", raw, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var in inputs
			if err := json.Unmarshal(raw, &in); err != nil {
				t.Fatal(err)
			}
			if len(in.Targets) != len(tc.want) {
				t.Fatalf("targets %+v, want %+v", in.Targets, tc.want)
			}
			for i := range tc.want {
				if in.Targets[i] != tc.want[i] {
					t.Errorf("target %d = %+v, want %+v", i, in.Targets[i], tc.want[i])
				}
			}
		})
	}
}

func scenarios(t *testing.T, names ...string) []*lab.Scenario {
	t.Helper()
	var out []*lab.Scenario
	for _, sc := range lab.Catalogue() {
		for _, n := range names {
			if sc.Domain == n {
				out = append(out, sc)
			}
		}
	}
	if len(out) != len(names) {
		t.Fatalf("found %d of %v", len(out), names)
	}
	return out
}

// TestMailCache: two domains on one mail server, scanned at the same time,
// cost one scan of it.
func TestMailCache(t *testing.T) {
	l := labtest.Start(t, scenarios(t, "shared-mx-a.test", "shared-mx-b.test")...)
	s := New()
	initScanner(t, s, l.Lab)
	in, _ := json.Marshal(inputs{Targets: []target{{Host: "mx.shared-mail.test", Port: 25, STARTTLS: true, Mail: true}}})
	var wg sync.WaitGroup
	rows := make([]Row, 2)
	for i, d := range []string{"shared-mx-a.test", "shared-mx-b.test"} {
		wg.Go(func() {
			res, err := s.Scan(context.Background(), scan.Job{Target: scan.Target{Domain: d}, Inputs: in})
			if err != nil {
				t.Error(err)
				return
			}
			rows[i] = (*res.(*Result))[0]
		})
	}
	wg.Wait()
	if rows[0].TLS12 == nil || !*rows[0].TLS12 || rows[0].Connections == 0 {
		t.Fatalf("row %+v", rows[0])
	}
	if got := s.Connections(); got != int64(rows[0].Connections) {
		t.Errorf("%d connections for two domains, want one scan's %d", got, rows[0].Connections)
	}
}

// TestStalledServer: a server that accepts and never answers costs one
// endpoint deadline at most, and gets its row.
func TestStalledServer(t *testing.T) {
	l := labtest.Start(t, scenarios(t, "stalled-handshake.test")...)
	s := New()
	initScanner(t, s, l.Lab, "--sslyze-timeout=500ms", "--sslyze-deadline=3s")
	start := time.Now()
	res, err := s.Scan(context.Background(), scan.Job{Target: scan.Target{Domain: "stalled-handshake.test"}})
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 4*time.Second {
		t.Errorf("took %s", el)
	}
	row := (*res.(*Result))[0]
	if row.Errors == nil || *row.Errors != "Connectivity not established." {
		t.Errorf("row %+v", row)
	}
}

// TestFlags: --sslyze-certs=false and --sslyze-reneg=false leave those
// columns empty; values are required and checked.
func TestFlags(t *testing.T) {
	l := labtest.Start(t, scenarios(t, "tls-modern.test")...)
	s := New()
	initScanner(t, s, l.Lab, "--sslyze-certs=false", "--sslyze-reneg=no", "--sslyze-serial=true")
	res, err := s.Scan(context.Background(), scan.Job{Target: scan.Target{Domain: "tls-modern.test"}})
	if err != nil {
		t.Fatal(err)
	}
	row := (*res.(*Result))[0]
	if row.KeyType != nil || row.InsecureReneg != nil || row.TLS13 == nil || !*row.TLS13 {
		t.Errorf("row %+v", row)
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	New().DefineFlags(fs)
	if err := fs.Parse([]string{"--sslyze-certs=maybe"}); err == nil {
		t.Error("--sslyze-certs=maybe accepted")
	}
}

type listSource []string

func (l listSource) Len() int64 { return int64(len(l)) }
func (l listSource) Range(fn func(string) bool) error {
	for _, d := range l {
		if !fn(d) {
			break
		}
	}
	return nil
}

// Lab addresses, ports and certificate dates differ between runs.
var volatile = regexp.MustCompile(`127\.\d+\.\d+\.\d+(:\d+)?|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d`)

// TestGoldenCSV: results/sslyze.csv of pshtt, trustymail and sslyze run
// through the engine in dependency order, byte for byte.
func TestGoldenCSV(t *testing.T) {
	names := []string{"tls-modern.test", "www-canonical.test", "sslv3.test", "rc4.test", "expired.test",
		"mail-starttls.test", "smtp-timeouts.test", "ecdsa-p256.test", "no-mx.test"}
	l := labtest.Start(t, scenarios(t, names...)...)
	ps, tm, ss := pshtt.New(), trustymail.New(), New()
	initScanner(t, ps, l.Lab, "--hsts-preload-list="+l.PreloadURL, "--hsts-preload-pending="+l.PendingURL)
	initScanner(t, tm, l.Lab, "--timeout=2", "--smtp-timeout=1")
	initScanner(t, ss, l.Lab)
	dir := t.TempDir()
	e, err := engine.New(engine.Config{ResultsDir: filepath.Join(dir, "results"), Cache: cache.New(filepath.Join(dir, "cache")),
		Serial: true, RunID: "golden"})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := e.Run(context.Background(), []scan.Scanner{ps, tm, ss}, listSource(names))
	if err != nil {
		t.Fatal(err)
	}
	if c := sum.Scanners[2].Counts; c.Skipped != 1 {
		t.Errorf("sslyze counts %+v: want no-mx.test skipped (no HTTPS, no mail)", c)
	}
	got, err := os.ReadFile(filepath.Join(dir, "results", "sslyze.csv"))
	if err != nil {
		t.Fatal(err)
	}
	got = volatile.ReplaceAll(got, []byte("X"))
	golden := filepath.Join("testdata", "sslyze.csv")
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("results/sslyze.csv differs from %s (go test -run TestGoldenCSV -update to accept):\n%s", golden, got)
	}
}
