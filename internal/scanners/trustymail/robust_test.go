package trustymail

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/domainscan/domain-scan/internal/netx"
	"github.com/domainscan/domain-scan/internal/runcache"
	"github.com/domainscan/domain-scan/internal/scan"
)

// zoneScanner is a scanner asking the DNS server at addr, with flags.
func zoneScanner(t *testing.T, addr string, flags ...string) *Scanner {
	t.Helper()
	s := New()
	fs := flag.NewFlagSet("trustymail", flag.ContinueOnError)
	s.DefineFlags(fs)
	if err := fs.Parse(flags); err != nil {
		t.Fatal(err)
	}
	if err := s.Init(context.Background(), scan.Run{Method: "local", Net: &netx.Network{Resolvers: []string{addr}}}); err != nil {
		t.Fatal(err)
	}
	return s
}

// dropping answers from z except for the names in drop, which get no
// answer at all.
func dropping(z *testZone, drop ...string) dns.Handler {
	return dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		if len(req.Question) == 1 {
			for _, d := range drop {
				if strings.EqualFold(req.Question[0].Name, d) {
					return
				}
			}
		}
		z.ServeDNS(w, req)
	})
}

// TestBaseDMARCNotInTime: when the base domain's DMARC lookup has not
// finished by a subdomain's deadline, the "on Base Domain" cells are None
// (not the subdomain's own record), nothing is inherited, and Debug Info
// says so.
func TestBaseDMARCNotInTime(t *testing.T) {
	z := newTestZone(t,
		`_dmarc.sub.slowbase.test. TXT "v=DMARC1; p=quarantine; rua=mailto:d@slowbase.test"`,
		`slowbase.test. TXT "v=spf1 -all"`,
		`sub.slowbase.test. TXT "v=spf1 -all"`,
		`other.slowbase.test. TXT "v=spf1 -all"`,
	)
	addr := startDNS(t, dropping(z, "_dmarc.slowbase.test."))
	s := zoneScanner(t, addr, "--timeout=5", "--dmarc")
	for _, tc := range []struct {
		domain     string
		own        bool
		wantPolicy string
	}{
		{"sub.slowbase.test", true, "quarantine"},
		{"other.slowbase.test", false, ""},
	} {
		t.Run(tc.domain, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			res, err := s.Scan(ctx, scan.Job{Target: scan.Target{Domain: tc.domain, BaseDomain: "slowbase.test"}})
			if err != nil {
				t.Fatal(err)
			}
			r := res.(*Result)
			if r.DMARCRecord == nil || *r.DMARCRecord != tc.own {
				t.Errorf("DMARC Record = %v, want %v", r.DMARCRecord, tc.own)
			}
			if r.DMARCOnBase != nil || r.DMARCOnBaseDNSSEC != nil || r.ValidDMARCOnBase != nil || r.DMARCResultsOnBase != nil {
				t.Errorf("on Base Domain: %v, %v, %v, %v; want all None", r.DMARCOnBase, r.DMARCOnBaseDNSSEC, r.ValidDMARCOnBase, r.DMARCResultsOnBase)
			}
			if got := showStr(r.DMARCPolicy); got != showStr(optStr(tc.wantPolicy)) {
				t.Errorf("DMARC Policy = %s, want %q", got, tc.wantPolicy)
			}
			if !tc.own && (r.DMARCSubdomainPolicy != nil || r.DMARCPct != nil || r.DMARCAggregateURIs != nil || r.DMARCHasAggregateURI) {
				t.Errorf("inherited from an unknown base: sp %v, pct %v, rua %v", r.DMARCSubdomainPolicy, r.DMARCPct, r.DMARCAggregateURIs)
			}
			if r.DebugInfo == nil || !strings.Contains(*r.DebugInfo, baseNotChecked) {
				t.Errorf("Debug Info = %v", showStr(r.DebugInfo))
			}
		})
	}
}

func optStr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// TestSMTPPlaceholders: probes that did not finish never enter the run's
// cache (from Lambda results, from a job's inputs, or from the
// computation), and count as unknown in the columns.
func TestSMTPPlaceholders(t *testing.T) {
	z := newTestZone(t, `x.test. TXT "v=spf1 -all"`)
	s := zoneScanner(t, startDNS(t, z), "--timeout=2", "--dmarc")
	placeholder := SMTPResult{Incomplete: true, Errors: []string{"not finished before the scan's deadline"}}
	done := SMTPResult{Listening: true, SMTP: true, STARTTLS: true}

	s.Observe(scan.Target{Domain: "x.test"}, &Result{SMTP: map[string]SMTPResult{"mx1.x.test:25": placeholder, "mx2.x.test:25": done}})
	if _, ok := s.smtp.Peek("mx1.x.test:25"); ok {
		t.Error("Observe cached a placeholder")
	}
	if _, ok := s.smtp.Peek("mx2.x.test:25"); !ok {
		t.Error("Observe did not cache a finished probe")
	}

	in := []byte(`{"smtp": {"mx3.x.test:25": {"is_listening": false, "supports_smtp": false, "starttls": false, "tls_negotiated": false, "certificate_valid": false, "incomplete": true}}}`)
	if _, err := s.Scan(context.Background(), scan.Job{Target: scan.Target{Domain: "x.test", BaseDomain: "x.test"}, Inputs: in}); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.smtp.Peek("mx3.x.test:25"); ok {
		t.Error("a job's inputs cached a placeholder")
	}

	// A computation that could not finish is given to its caller and not
	// kept; the next caller computes again.
	if r, ok := s.smtp.Get(context.Background(), "mx4.x.test:25", func() SMTPResult { return placeholder }, nil); !ok || !r.Incomplete {
		t.Errorf("get = %+v, %v", r, ok)
	}
	if _, ok := s.smtp.Peek("mx4.x.test:25"); ok {
		t.Error("an incomplete computation was kept")
	}
	if r, _ := s.smtp.Get(context.Background(), "mx4.x.test:25", func() SMTPResult { return done }, nil); !r.SMTP {
		t.Errorf("second get = %+v, want a new computation", r)
	}

	// Columns: incomplete host:ports are unknown.
	st := &domainState{name: "x.test", base: "x.test", isBase: true, live: true, ports: []int{25},
		smtpKeys: []string{"mx1.x.test:25", "mx2.x.test:25"},
		smtp:     map[string]SMTPResult{"mx1.x.test:25": placeholder, "mx2.x.test:25": done}}
	r := st.result(nil, false)
	if showBool(r.SupportsSMTP) != "true" || showStr(r.SupportsSMTPResults) != `"mx2.x.test:25"` || showBool(r.SupportsSTARTTLS) != "true" {
		t.Errorf("one of two unknown: SMTP %s (%s), STARTTLS %s", showBool(r.SupportsSMTP), showStr(r.SupportsSMTPResults), showBool(r.SupportsSTARTTLS))
	}
	st.smtp["mx2.x.test:25"] = placeholder
	r = st.result(nil, false)
	if r.SupportsSMTP != nil || r.SupportsSTARTTLS != nil || r.SupportsSMTPResults != nil || r.NegotiatesSTARTTLS != nil || r.CertificatesValid != nil {
		t.Errorf("all unknown: SMTP %s, STARTTLS %s, negotiates %s; want None", showBool(r.SupportsSMTP), showBool(r.SupportsSTARTTLS), showBool(r.NegotiatesSTARTTLS))
	}
}

func showBool(p *bool) string {
	if p == nil {
		return "None"
	}
	return strconv.FormatBool(*p)
}

// TestMemoGuards: a caller whose context has ended starts nothing; a
// computation that panics gives the failure value, is not kept, and does
// not take the process down.
func TestMemoGuards(t *testing.T) {
	var m runcache.Memo[SMTPResult]
	dead, cancel := context.WithCancel(context.Background())
	cancel()
	started := false
	if _, ok := m.Get(dead, "k", func() SMTPResult { started = true; return SMTPResult{} }, nil); ok || started {
		t.Errorf("ended context: ok %v, started %v", ok, started)
	}
	failed := func(v any) SMTPResult {
		return SMTPResult{Incomplete: true, Errors: []string{fmt.Sprint("internal error: ", v)}}
	}
	r, ok := m.Get(context.Background(), "k", func() SMTPResult { panic("boom") }, failed)
	if !ok || !r.Incomplete || len(r.Errors) != 1 || r.Errors[0] != "internal error: boom" {
		t.Errorf("after a panic: %+v, %v", r, ok)
	}
	if _, ok := m.Peek("k"); ok {
		t.Error("the failure was kept")
	}
	var b runcache.Memo[*domainState]
	if st, ok := b.Get(context.Background(), "base.test", func() *domainState { panic("boom") }, nil); !ok || st != nil {
		t.Errorf("base after a panic: %v, %v", st, ok)
	}
}

// TestMailServerBounds: at most 32 mail servers of a domain are probed,
// each host's addresses are looked up once for all its ports, and a probe
// waiting for a slot of the run-wide bound gives up with the domain's
// deadline without poisoning the cache.
func TestMailServerBounds(t *testing.T) {
	var records []string
	var mx []string
	for i := range 40 {
		h := fmt.Sprintf("mx%02d.many.test", i)
		records = append(records, h+". AAAA ::1")
		mx = append(mx, h)
	}
	z := newTestZone(t, records...)
	s := zoneScanner(t, startDNS(t, z), "--timeout=2", "--smtp-timeout=1")
	p := s.starttlsCheck(context.Background(), mx)
	if got, want := len(p.smtpKeys), 32*len(DefaultPorts); got != want {
		t.Errorf("%d host:ports probed, want %d", got, want)
	}
	if !strings.Contains(strings.Join(p.debug, "\n"), "[STARTTLS] 8 more mail servers not tested") {
		t.Errorf("debug %q", p.debug)
	}
	lookups := map[string]int{}
	for _, q := range z.queried() {
		lookups[q]++
	}
	for q, n := range lookups {
		if n != 1 {
			t.Errorf("%s asked %d times", q, n)
		}
	}
	if lookups["mx00.many.test A"] != 1 || lookups["mx35.many.test A"] != 0 {
		t.Errorf("lookups %v", lookups)
	}

	// Every slot taken: the domain's deadline ends its wait; the probes
	// it started wait on for one probe's time (here 2×100 ms + 8×100 ms),
	// give up, and are not kept.
	s = zoneScanner(t, startDNS(t, z), "--timeout=200ms", "--smtp-timeout=100ms")
	for range cap(s.smtpSem) {
		s.smtpSem <- struct{}{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	p = s.starttlsCheck(ctx, []string{"mx.busy.test"})
	if el := time.Since(start); el > time.Second {
		t.Errorf("took %s", el)
	}
	for k, r := range p.smtp {
		if !r.Incomplete {
			t.Errorf("%s: %+v, want incomplete", k, r)
		}
	}
	time.Sleep(1500 * time.Millisecond)
	for range cap(s.smtpSem) {
		<-s.smtpSem
	}
	for _, port := range DefaultPorts {
		key := "mx.busy.test:" + strconv.Itoa(port)
		if r, ok := s.smtp.Get(context.Background(), key, func() SMTPResult { return SMTPResult{Listening: true} }, nil); !ok || !r.Listening {
			t.Errorf("%s: %+v, %v; want a fresh computation", key, r, ok)
		}
	}
}

// smtpListener serves a minimal SMTP server (greeting, EHLO without
// STARTTLS, QUIT) on 127.0.0.1 and returns its port.
func smtpListener(t *testing.T, greeting string) (int, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	addr := hostile(t, func(c net.Conn) {
		n.Add(1)
		c.SetDeadline(time.Now().Add(5 * time.Second))
		r := bufio.NewReader(c)
		c.Write([]byte(greeting + "\r\n"))
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			switch strings.ToUpper(strings.Fields(line + " x")[0]) {
			case "EHLO":
				c.Write([]byte("250-mx.test\r\n250 8BITMIME\r\n"))
			case "QUIT":
				c.Write([]byte("221 bye\r\n"))
				return
			default:
				c.Write([]byte("500 no\r\n"))
			}
		}
	})
	_, portStr, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portStr)
	return port, &n
}

// TestIPLiteralMX: an MX host that is an IPv4 literal is probed at that
// address (the original connected to it); an IPv6 literal has no IPv4
// address and is credited as IPv6-only hosts are.
func TestIPLiteralMX(t *testing.T) {
	port, accepted := smtpListener(t, "220 mx.test ESMTP")
	z := newTestZone(t, `literal.test. MX 10 127.0.0.1.`)
	s := zoneScanner(t, startDNS(t, z), "--timeout=2", "--smtp-timeout=2", "--starttls", "--smtp-ports="+strconv.Itoa(port))
	res, err := s.Scan(context.Background(), scan.Job{Target: scan.Target{Domain: "literal.test", BaseDomain: "literal.test"}})
	if err != nil {
		t.Fatal(err)
	}
	r := res.(*Result)
	key := "127.0.0.1:" + strconv.Itoa(port)
	if showStr(r.MailServers) != `"127.0.0.1"` || showBool(r.SupportsSMTP) != "true" || showStr(r.SupportsSMTPResults) != strconv.Quote(key) {
		t.Errorf("Mail Servers %s, SMTP %s (%s); debug %s", showStr(r.MailServers), showBool(r.SupportsSMTP), showStr(r.SupportsSMTPResults), showStr(r.DebugInfo))
	}
	if accepted.Load() != 1 {
		t.Errorf("the server accepted %d connections, want 1", accepted.Load())
	}
	for _, q := range z.queried() {
		if strings.HasPrefix(q, "127.0.0.1 ") {
			t.Errorf("looked up %q", q)
		}
	}

	p := &smtpProber{dial: (&net.Dialer{}).DialContext, timeout: time.Second}
	for _, host := range []string{"[2001:db8::1]", "2001:db8::1"} {
		r := p.probe(context.Background(), host, 25)
		if !r.Credited || !r.SMTP || !r.STARTTLS || len(r.Errors) != 1 || !strings.Contains(r.Errors[0], "does not have an IPv4 address") {
			t.Errorf("%s: %+v", host, r)
		}
	}
}

// TestServerTextClipped: what a server says is quoted in errors at most
// 200 bytes long.
func TestServerTextClipped(t *testing.T) {
	long := strings.Repeat("é", 300) // two bytes each
	for _, greeting := range []string{"554 " + long, "220-" + long + "\r\n220 ok"} {
		port, _ := smtpListener(t, greeting)
		p := &smtpProber{dial: (&net.Dialer{}).DialContext, timeout: time.Second}
		r := p.plain(context.Background(), "mx.test", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		for _, e := range r.Errors {
			if len(e) > 240 || !strings.Contains(e, "é") {
				t.Errorf("error of %d bytes: %.80q…", len(e), e)
			}
		}
	}
	if got := firstLine("250 " + strings.Repeat("x", 1000)); len(got) > maxServerText+len("…") {
		t.Errorf("firstLine kept %d bytes", len(got))
	}
}

// TestNullMX: a null MX (RFC 7505: the domain accepts no mail) is listed
// but not probed, and credits nothing (the original looked up the empty
// name, failed, and credited it like an IPv6-only server).
func TestNullMX(t *testing.T) {
	z := newTestZone(t, `nullmx.test. MX 0 .`)
	s := zoneScanner(t, startDNS(t, z), "--timeout=2", "--starttls")
	res, err := s.Scan(context.Background(), scan.Job{Target: scan.Target{Domain: "nullmx.test", BaseDomain: "nullmx.test"}})
	if err != nil {
		t.Fatal(err)
	}
	r := res.(*Result)
	if showBool(r.MXRecord) != "true" || r.PortsTested != nil || r.SupportsSMTP != nil || r.SupportsSTARTTLS != nil || r.SupportsSTARTTLSResults != nil {
		t.Errorf("MX %s, ports %s, SMTP %s, STARTTLS %s (%s)", showBool(r.MXRecord), showStr(r.PortsTested),
			showBool(r.SupportsSMTP), showBool(r.SupportsSTARTTLS), showStr(r.SupportsSTARTTLSResults))
	}
	if n := s.SMTPConnections(); n != 0 {
		t.Errorf("%d SMTP connections", n)
	}
}
