package trustymail

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/domainscan/domain-scan/internal/cache"
	"github.com/domainscan/domain-scan/internal/engine"
	"github.com/domainscan/domain-scan/internal/lab/labtest"
	"github.com/domainscan/domain-scan/internal/scan"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestSMTPCache: two domains on one mail server, scanned at the same time,
// cost one probe per host:port; without the cache, one per domain.
func TestSMTPCache(t *testing.T) {
	l := labtest.Start(t, labtest.Scenarios(t, "shared-mx-a.test", "shared-mx-b.test")...)
	for _, tc := range []struct {
		name      string
		flags     []string
		noFast    bool
		accepted  int64
		wantDials int64 // 25 (open), 587 and 465 (refused), per probe round
	}{
		{name: "cache", wantDials: 3, accepted: 1},
		{name: "no-smtp-cache", flags: []string{"--no-smtp-cache=true"}, wantDials: 6, accepted: 2},
		{name: "no-fast-cache", noFast: true, wantDials: 6, accepted: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New()
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			s.DefineFlags(fs)
			if err := fs.Parse(append([]string{"--smtp-timeout=2"}, tc.flags...)); err != nil {
				t.Fatal(err)
			}
			if err := s.Init(context.Background(), scan.Run{Net: l.Network(), CAFile: l.CAFile, NoFastCache: tc.noFast}); err != nil {
				t.Fatal(err)
			}
			before := l.SMTPAccepted()
			var wg sync.WaitGroup
			cells := make([]map[string]string, 2)
			for i, d := range []string{"shared-mx-a.test", "shared-mx-b.test"} {
				wg.Go(func() { cells[i], _ = scanCells(t, s, d) })
			}
			wg.Wait()
			for i := range cells {
				if got := cells[i]["Domain Supports STARTTLS Results"]; got != "mx.shared-mail.test:25" {
					t.Errorf("domain %d: STARTTLS results %q", i, got)
				}
			}
			if got := s.SMTPConnections(); got != tc.wantDials {
				t.Errorf("%d connections attempted, want %d", got, tc.wantDials)
			}
			if got := l.SMTPAccepted() - before; got != tc.accepted {
				t.Errorf("the server accepted %d connections, want %d", got, tc.accepted)
			}
		})
	}
}

// TestScanTypes: --mx, --spf, --dmarc and --starttls select checks; the
// columns of checks that did not run are None. --starttls implies --mx
// (it crashed the original).
func TestScanTypes(t *testing.T) {
	l := labtest.Start(t, labtest.Scenarios(t, "mail-perfect.test")...)
	for _, tc := range []struct {
		flag string
		want map[string]string
	}{
		{"--starttls", map[string]string{"MX Record": "True", "Domain Supports STARTTLS": "True", "SPF Record": "", "DMARC Record": "", "Valid DMARC": ""}},
		{"--mx", map[string]string{"MX Record": "True", "Mail Servers": "mx.mail-perfect.test", "Domain Supports STARTTLS": "", "Mail Server Ports Tested": "", "SPF Record": ""}},
		{"--spf", map[string]string{"MX Record": "", "Mail Servers": "", "SPF Record": "True", "Valid SPF": "True", "DMARC Record": ""}},
		{"--dmarc", map[string]string{"MX Record": "", "SPF Record": "", "Valid SPF": "False", "DMARC Record": "True", "DMARC Policy": "reject"}},
	} {
		t.Run(tc.flag, func(t *testing.T) {
			s := newLabScanner(t, l.Lab, tc.flag)
			got, _ := scanCells(t, s, "mail-perfect.test")
			for h, w := range tc.want {
				if got[h] != w {
					t.Errorf("%s = %q, want %q", h, got[h], w)
				}
			}
		})
	}
}

// TestLambdaFastCache: in a Lambda run, results that came back (Observe)
// travel with later jobs whose domains share the mail server (Prepare),
// and the function then contacts nobody.
func TestLambdaFastCache(t *testing.T) {
	l := labtest.Start(t, labtest.Scenarios(t, "shared-mx-a.test", "shared-mx-b.test")...)
	client := New()
	if err := client.Init(context.Background(), scan.Run{Remote: true, Net: l.Network(), CAFile: l.CAFile}); err != nil {
		t.Fatal(err)
	}
	ta := scan.Target{Domain: "shared-mx-a.test", BaseDomain: "shared-mx-a.test"}
	in, err := client.Prepare(context.Background(), ta, nil)
	if err != nil || in != nil {
		t.Fatalf("first Prepare = %s, %v; want nothing", in, err)
	}
	remote := newLabScanner(t, l.Lab) // the function's instance
	res, err := remote.Scan(context.Background(), scan.Job{Target: ta})
	if err != nil {
		t.Fatal(err)
	}
	// The engine hands Observe a result decoded from JSON.
	data, _ := json.Marshal(res)
	decoded := client.NewResult()
	if err := json.Unmarshal(data, decoded); err != nil {
		t.Fatal(err)
	}
	client.Observe(ta, decoded)

	tb := scan.Target{Domain: "shared-mx-b.test", BaseDomain: "shared-mx-b.test"}
	in, err = client.Prepare(context.Background(), tb, nil)
	if err != nil || !strings.Contains(string(in), "mx.shared-mail.test:25") {
		t.Fatalf("second Prepare = %s, %v; want the cached mail server", in, err)
	}
	fresh := newLabScanner(t, l.Lab) // a cold function instance
	res, err = fresh.Scan(context.Background(), scan.Job{Target: tb, Inputs: in})
	if err != nil {
		t.Fatal(err)
	}
	if n := fresh.SMTPConnections(); n != 0 {
		t.Errorf("the function opened %d SMTP connections, want 0", n)
	}
	if got := res.(*Result).SupportsSTARTTLSResults; got == nil || *got != "mx.shared-mail.test:25" {
		t.Errorf("STARTTLS results from the prepared cache: %v", got)
	}
}

// TestDeadline: a domain whose DNS never answers still gets its row before
// the scan's deadline, with the lookups recorded as timed out.
func TestDeadline(t *testing.T) {
	l := labtest.Start(t, labtest.Scenarios(t, "dns-timeout.test")...)
	s := newLabScanner(t, l.Lab, "--timeout=30")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	res, err := s.Scan(ctx, scan.Job{Target: scan.Target{Domain: "dns-timeout.test", BaseDomain: "dns-timeout.test"}})
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("took %s, past the 2 s deadline", el)
	}
	r := res.(*Result)
	if !r.Live || r.MXRecord == nil || *r.MXRecord || r.DebugInfo == nil || !strings.Contains(*r.DebugInfo, "timed out") {
		t.Errorf("Live %v, MX Record %v, Debug Info %v", r.Live, r.MXRecord, r.DebugInfo)
	}
}

// hostile serves one misbehaving SMTP server on loopback.
func hostile(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); serve(c) }()
		}
	}()
	return ln.Addr().String()
}

// TestHostileServers: floods, endless replies and trickles cost a probe
// bounded time and memory, and never count as SMTP.
func TestHostileServers(t *testing.T) {
	const timeout = 500 * time.Millisecond
	junk := strings.Repeat("x", 4096)
	for _, tc := range []struct {
		name  string
		serve func(net.Conn)
	}{
		{"endless greeting", func(c net.Conn) {
			w := bufio.NewWriter(c)
			for {
				if _, err := w.WriteString("220-" + junk + "\r\n"); err != nil {
					return
				}
			}
		}},
		{"line without end", func(c net.Conn) {
			for {
				if _, err := c.Write([]byte(junk)); err != nil {
					return
				}
			}
		}},
		{"trickle", func(c net.Conn) {
			for {
				if _, err := c.Write([]byte("2")); err != nil {
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
		}},
		{"endless EHLO reply", func(c net.Conn) {
			c.Write([]byte("220 ok\r\n"))
			bufio.NewReader(c).ReadString('\n')
			w := bufio.NewWriter(c)
			for {
				if _, err := w.WriteString("250-" + junk + "\r\n"); err != nil {
					return
				}
			}
		}},
		{"garbage TLS after STARTTLS", func(c net.Conn) {
			r := bufio.NewReader(c)
			c.Write([]byte("220 ok\r\n"))
			r.ReadString('\n')
			c.Write([]byte("250-ok\r\n250 STARTTLS\r\n"))
			r.ReadString('\n')
			c.Write([]byte("220 go ahead\r\n"))
			for {
				if _, err := c.Write([]byte(junk)); err != nil {
					return
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := hostile(t, tc.serve)
			p := &smtpProber{dial: (&net.Dialer{}).DialContext, timeout: timeout}
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			start := time.Now()
			r := p.plain(context.Background(), "mx.hostile.test", addr)
			el := time.Since(start)
			runtime.ReadMemStats(&m1)
			if el > 6*timeout {
				t.Errorf("took %s", el)
			}
			if r.Negotiated || len(r.Errors) == 0 {
				t.Errorf("result %+v", r)
			}
			if alloc := m1.TotalAlloc - m0.TotalAlloc; alloc > 8<<20 {
				t.Errorf("allocated %d MiB", alloc>>20)
			}
		})
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

// lab addresses and ports differ between runs; the golden file has them
// replaced.
var volatile = regexp.MustCompile(`127\.\d+\.\d+\.\d+(:\d+)?`)

// TestGoldenCSV: results/trustymail.csv of a run through the engine, byte
// for byte (with the lab's random addresses masked).
func TestGoldenCSV(t *testing.T) {
	names := []string{"mail-perfect.test", "mail-starttls.test", "nxdomain.test", "servfail.test",
		"smtp-554-close.test", "spf-redirect.test", "dmarc-warnings.test", "dmarc-ext-noauth.test",
		"dmarc-base.test", "sub.dmarc-base.test", "starttls-expired.test", "mx-ipv6-only.test"}
	l := labtest.Start(t, labtest.Scenarios(t, names...)...)
	s := newLabScanner(t, l.Lab)
	dir := t.TempDir()
	e, err := engine.New(engine.Config{ResultsDir: filepath.Join(dir, "results"), Cache: cache.New(filepath.Join(dir, "cache")),
		Serial: true, RunID: "golden"})
	if err != nil {
		t.Fatal(err)
	}
	var list listSource
	for _, n := range names {
		list = append(list, n)
	}
	if _, err := e.Run(context.Background(), []scan.Scanner{s}, list); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "results", "trustymail.csv"))
	if err != nil {
		t.Fatal(err)
	}
	got = volatile.ReplaceAll(got, []byte("ADDR"))
	golden := filepath.Join("testdata", "trustymail.csv")
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
		t.Errorf("results/trustymail.csv differs from %s (go test -run TestGoldenCSV -update to accept):\n%s", golden, got)
	}
}
