package sslyze

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/domainscan/domain-scan/internal/cache"
	"github.com/domainscan/domain-scan/internal/engine"
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

// TestMailCache: two domains on one mail server, scanned at the same time,
// cost one scan of it.
func TestMailCache(t *testing.T) {
	l := labtest.Start(t, labtest.Scenarios(t, "shared-mx-a.test", "shared-mx-b.test")...)
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
	l := labtest.Start(t, labtest.Scenarios(t, "stalled-handshake.test")...)
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
	l := labtest.Start(t, labtest.Scenarios(t, "tls-modern.test")...)
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
	l := labtest.Start(t, labtest.Scenarios(t, names...)...)
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

// faultyProxy forwards connections to upstream, except those fault picks
// (by their number, from 1): "drop" closes them at once, "stall" holds
// them without forwarding until the test ends.
type faultyProxy struct {
	ln    net.Listener
	n     atomic.Int64
	fault func(n int64) string
}

func startFaultyProxy(t *testing.T, upstream func(ctx context.Context) (net.Conn, error), fault func(n int64) string) *faultyProxy {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultyProxy{ln: ln, fault: fault}
	done := make(chan struct{})
	var wg sync.WaitGroup
	t.Cleanup(func() { close(done); ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n := p.n.Add(1)
			wg.Go(func() {
				defer c.Close()
				switch p.fault(n) {
				case "drop":
					return
				case "stall":
					<-done
					return
				}
				u, err := upstream(context.Background())
				if err != nil {
					return
				}
				defer u.Close()
				go func() { io.Copy(u, c); u.Close() }()
				io.Copy(c, u)
			})
		}
	})
	return p
}

func (p *faultyProxy) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	return (&net.Dialer{}).DialContext(ctx, "tcp4", p.ln.Addr().String())
}

// TestIncompleteProtocolScan: a version whose enumeration ends because
// connections time out (after one retry) leaves the protocol and suite
// columns empty with an error, as sslyze left them when a protocol scan
// failed; certificates are still reported. Single dropped connections are
// retried and change nothing.
func TestIncompleteProtocolScan(t *testing.T) {
	l := labtest.Start(t, labtest.Scenarios(t, "tls-modern.test")...)
	nw := l.Network()
	upstream := func(ctx context.Context) (net.Conn, error) { return nw.DialContext(ctx, "tcp", "tls-modern.test:443") }
	job := scan.Job{Target: scan.Target{Domain: "tls-modern.test"}}
	scanVia := func(t *testing.T, fault func(int64) string, args ...string) Row {
		t.Helper()
		s := New()
		initScanner(t, s, l.Lab, append([]string{"--sslyze-timeout=400ms", "--sslyze-deadline=10s"}, args...)...)
		if fault != nil {
			s.dial = startFaultyProxy(t, upstream, fault).dial
		}
		res, err := s.Scan(context.Background(), job)
		if err != nil {
			t.Fatal(err)
		}
		return (*res.(*Result))[0]
	}
	direct := scanVia(t, nil)
	if direct.Errors != nil || direct.TLS12 == nil || !*direct.TLS12 || direct.Ciphers == nil {
		t.Fatalf("direct scan: %+v", direct)
	}
	same := func(t *testing.T, got Row) {
		t.Helper()
		got.Connections, direct.Connections = 0, 0
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(direct)
		if string(g) != string(w) {
			t.Errorf("row\n%s\nwant the direct scan's\n%s", g, w)
		}
	}

	t.Run("clean proxy", func(t *testing.T) {
		same(t, scanVia(t, func(int64) string { return "" }))
	})
	t.Run("every third connection dropped", func(t *testing.T) {
		// One connection at a time, so that a retry is the next
		// connection.
		same(t, scanVia(t, func(n int64) string {
			if n%3 == 0 {
				return "drop"
			}
			return ""
		}, "--sslyze-serial=true"))
	})
	t.Run("stalls after the first hellos", func(t *testing.T) {
		// 1: the connectivity test; 2-7: the first hello of each version
		// (six at once); later hellos (TLS 1.2's and 1.3's second suites)
		// and their retries time out.
		row := scanVia(t, func(n int64) string {
			if n > 7 {
				return "stall"
			}
			return ""
		})
		for name, v := range map[string]*bool{"SSLv2": row.SSLv2, "SSLv3": row.SSLv3, "TLSv1.0": row.TLS10, "TLSv1.1": row.TLS11,
			"TLSv1.2": row.TLS12, "TLSv1.3": row.TLS13, "Any Forward Secrecy": row.AnyFS, "All Forward Secrecy": row.AllFS,
			"Any RC4": row.AnyRC4, "All RC4": row.AllRC4, "Any 3DES": row.Any3DES, "Any Export": row.AnyExport,
			"Any NULL": row.AnyNULL, "Any MD5": row.AnyMD5, "Any Less Than 128 Bits": row.AnyLessThan} {
			if v != nil {
				t.Errorf("%s = %v, want empty", name, *v)
			}
		}
		if row.Ciphers != nil {
			t.Errorf("Accepted Ciphers = %q, want empty", *row.Ciphers)
		}
		if row.Errors == nil || !strings.HasPrefix(*row.Errors, "Protocol scan incomplete: ") ||
			!strings.Contains(*row.Errors, "TLSv1.2 timed out") || !strings.Contains(*row.Errors, "TLSv1.3 timed out") {
			t.Errorf("Errors = %v", row.Errors)
		}
		if row.KeyType == nil || *row.KeyType != "RSA" || row.Incomplete {
			t.Errorf("certificates not reported: Key Type %v, incomplete %v", row.KeyType, row.Incomplete)
		}
	})
}

// TestPlaceholdersNotCached: rows without a finished scan (the deadline
// placeholder, an internal error) never enter the run's cache of mail
// server rows, whether they come back from Lambda (Observe) or travel with
// a job (Prepare's inputs); a host:port scanned with STARTTLS and without
// are different rows.
func TestPlaceholdersNotCached(t *testing.T) {
	s := New()
	s.useCache, s.remote = true, true
	s.dial = func(context.Context, string, string) (net.Conn, error) { return nil, errors.New("refused") }
	s.mailSem = make(chan struct{}, mailConcurrency)
	stls := target{Host: "mx.x.test", Port: 465, STARTTLS: true, Mail: true}
	implicit := target{Host: "mx.x.test", Port: 465, Mail: true}
	other := target{Host: "mx2.x.test", Port: 25, STARTTLS: true, Mail: true}
	full := Row{Hostname: "mx.x.test", Port: 465, Mail: true, TLS12: ptr(true)}
	s.Observe(scan.Target{Domain: "x.test"}, &Result{
		incompleteRow(stls, errNotFinished),
		internalErrorRow(other, "boom"),
		full, // implicit TLS
	})
	if _, ok := s.mail.Peek(stls.key()); ok {
		t.Error("the deadline placeholder was cached")
	}
	if _, ok := s.mail.Peek(other.key()); ok {
		t.Error("an internal error row was cached")
	}
	if r, ok := s.mail.Peek(implicit.key()); !ok || r.TLS12 == nil {
		t.Errorf("the finished row was not cached: %+v, %v", r, ok)
	}
	if stls.key() == implicit.key() {
		t.Errorf("STARTTLS and implicit TLS share the key %q", stls.key())
	}

	// Prepare sends only finished rows.
	tm := `{"Domain Supports STARTTLS Results": "mx.x.test:465, mx2.x.test:25", "smtp_results": {"mx.x.test:465": {"implicit_tls": true}}}`
	raw, err := s.Prepare(context.Background(), scan.Target{Domain: "x.test"}, fakePrior{"trustymail/x.test": tm})
	if err != nil {
		t.Fatal(err)
	}
	var in inputs
	if err := json.Unmarshal(raw, &in); err != nil {
		t.Fatal(err)
	}
	if len(in.Cached) != 1 || in.Cached[implicit.key()].TLS12 == nil {
		t.Errorf("cached inputs %+v, want the implicit TLS row only", in.Cached)
	}

	// A placeholder sent with a job is not taken for a result: the server
	// is scanned (here: refused).
	in = inputs{Targets: []target{other}, Cached: map[string]Row{other.key(): incompleteRow(other, errNotFinished)}}
	raw, _ = json.Marshal(in)
	res, err := s.Scan(context.Background(), scan.Job{Target: scan.Target{Domain: "x.test"}, Inputs: raw})
	if err != nil {
		t.Fatal(err)
	}
	if row := (*res.(*Result))[0]; row.Incomplete || row.Errors == nil || *row.Errors != "Connectivity not established." {
		t.Errorf("row %+v, want a scan's (connectivity not established)", row)
	}
	if r, ok := s.mail.Peek(other.key()); !ok || r.Incomplete {
		t.Errorf("the scan's row was not cached: %+v, %v", r, ok)
	}
}

// TestScanAfterDeadline: targets not started because the domain's
// deadline passed get the incomplete placeholder, and no scan is started.
func TestScanAfterDeadline(t *testing.T) {
	s := New()
	s.useCache = true
	var dials atomic.Int64
	s.dial = func(context.Context, string, string) (net.Conn, error) {
		dials.Add(1)
		return nil, errors.New("refused")
	}
	s.mailSem = make(chan struct{}, mailConcurrency)
	in, _ := json.Marshal(inputs{Targets: []target{{Host: "x.test", Port: 443}, {Host: "mx.x.test", Port: 25, STARTTLS: true, Mail: true}}})
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	res, err := s.Scan(ctx, scan.Job{Target: scan.Target{Domain: "x.test"}, Inputs: in})
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range *res.(*Result) {
		if !row.Incomplete || row.Errors == nil || *row.Errors != errNotFinished {
			t.Errorf("row %+v", row)
		}
	}
	if n := dials.Load(); n != 0 {
		t.Errorf("%d connections", n)
	}
}

// TestParseChain: a served certificate that does not parse is skipped; a
// leaf that does not parse means no chain.
func TestParseChain(t *testing.T) {
	k := ecKey(t)
	ca := testCert(t, 1, "CA", &k.PublicKey, nil, k, true, x509.ECDSAWithSHA256)
	leaf := testCert(t, 2, "leaf", &k.PublicKey, ca, k, false, x509.ECDSAWithSHA256)
	junk := []byte{0x30, 0x03, 0x02, 0x01, 0x01}
	if got := parseChain([][]byte{leaf.Raw, junk, ca.Raw}); len(got) != 2 || !got[1].Equal(ca) {
		t.Errorf("got %d certificates, want leaf and CA", len(got))
	}
	if got := parseChain([][]byte{junk, ca.Raw}); got != nil {
		t.Errorf("got %d certificates without a leaf", len(got))
	}
}
