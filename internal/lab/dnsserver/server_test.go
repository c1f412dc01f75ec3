package dnsserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

const bigTXTCount = 40

func testZone(t testing.TB) *Zone {
	t.Helper()
	z := NewZone()
	lines := []string{
		"lab.gov. 300 IN SOA ns1.lab.gov. hostmaster.lab.gov. 7 3600 600 86400 60",
		"lab.gov. 300 IN NS ns1.lab.gov.",
		`lab.gov. 300 IN TXT "v=spf1 " "ip4:127.1.0.0/16" " -all"`,
		`_dmarc.lab.gov. 300 IN TXT "v=DMARC1; p=reject"`,
		"a.lab.gov. 300 IN A 127.1.0.2",
		"a.lab.gov. 300 IN AAAA fd00::2",
		"mail.lab.gov. 300 IN MX 10 mx1.lab.gov.",
		"mx1.lab.gov. 300 IN A 127.1.0.3",
		"www.lab.gov. 300 IN CNAME a.lab.gov.",
		"chain.lab.gov. 300 IN CNAME www.lab.gov.",
		"loop1.lab.gov. 300 IN CNAME loop2.lab.gov.",
		"loop2.lab.gov. 300 IN CNAME loop1.lab.gov.",
		"dangling.lab.gov. 300 IN CNAME gone.lab.gov.",
		"deep.ent.lab.gov. 300 IN A 127.1.0.9",
		"secure.gov. 300 IN A 127.1.0.10",
		"insecure.secure.gov. 300 IN A 127.1.0.11",
		"servfail.lab.gov. 300 IN A 127.1.0.12",
	}
	for i := range bigTXTCount {
		lines = append(lines, fmt.Sprintf(`big.lab.gov. 300 IN TXT "record %02d padding padding padding padding padding padding"`, i))
	}
	if err := z.Add(lines...); err != nil {
		t.Fatal(err)
	}
	z.SetBehaviour("servfail.lab.gov.", Behaviour{Rcode: dns.RcodeServerFailure})
	z.SetBehaviour("refused.lab.gov", Behaviour{Rcode: dns.RcodeRefused})
	z.SetBehaviour("nxforced.lab.gov.", Behaviour{Rcode: dns.RcodeNameError})
	z.SetBehaviour("drop.lab.gov.", Behaviour{Drop: true})
	z.SetBehaviour("slow.lab.gov.", Behaviour{Delay: 150 * time.Millisecond})
	z.SetAD("Secure.gov.", true)
	z.SetAD("insecure.secure.gov.", false)
	return z
}

// synthetic answers dNNNNN.synthetic.gov. for NNNNN < 100000 with an A
// record and no AAAA, as the lab's synthetic mode does.
func synthetic(qname string, qtype uint16) ([]dns.RR, bool) {
	var n int
	if _, err := fmt.Sscanf(qname, "d%d.synthetic.gov.", &n); err != nil || n < 0 || n >= 100000 {
		return nil, false
	}
	if qtype != dns.TypeA {
		return nil, true
	}
	return []dns.RR{&dns.A{
		Hdr: dns.RR_Header{Name: qname, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60},
		A:   net.IPv4(127, 2, byte(n>>8), byte(n)),
	}}, true
}

func startServer(t testing.TB) *Server {
	t.Helper()
	s, err := Start("127.0.0.1:0", testZone(t), synthetic)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func exchange(t *testing.T, s *Server, network, name string, qtype uint16) (*dns.Msg, error) {
	t.Helper()
	c := &dns.Client{Net: network, Timeout: 2 * time.Second}
	q := new(dns.Msg)
	q.SetQuestion(name, qtype)
	r, _, err := c.Exchange(q, s.Addr())
	return r, err
}

// rdata renders an RR as "TYPE data" without owner, TTL and class.
func rdata(rr dns.RR) string {
	return dns.TypeToString[rr.Header().Rrtype] + " " + strings.TrimPrefix(rr.String(), rr.Header().String())
}

func TestAnswers(t *testing.T) {
	s := startServer(t)
	tests := []struct {
		name   string
		qname  string
		qtype  uint16
		rcode  int
		answer []string
		soa    bool // negative answer: SOA expected in authority
		ad     bool
	}{
		{name: "A", qname: "a.lab.gov.", qtype: dns.TypeA, answer: []string{"A 127.1.0.2"}},
		{name: "AAAA", qname: "a.lab.gov.", qtype: dns.TypeAAAA, answer: []string{"AAAA fd00::2"}},
		{name: "MX", qname: "mail.lab.gov.", qtype: dns.TypeMX, answer: []string{"MX 10 mx1.lab.gov."}},
		{name: "NS", qname: "lab.gov.", qtype: dns.TypeNS, answer: []string{"NS ns1.lab.gov."}},
		{name: "case-insensitive", qname: "A.LaB.GOV.", qtype: dns.TypeA, answer: []string{"A 127.1.0.2"}},
		{name: "CNAME chased", qname: "chain.lab.gov.", qtype: dns.TypeA,
			answer: []string{"CNAME www.lab.gov.", "CNAME a.lab.gov.", "A 127.1.0.2"}},
		{name: "CNAME asked for", qname: "www.lab.gov.", qtype: dns.TypeCNAME, answer: []string{"CNAME a.lab.gov."}},
		{name: "CNAME chase to NODATA", qname: "www.lab.gov.", qtype: dns.TypeMX,
			answer: []string{"CNAME a.lab.gov."}, soa: true},
		{name: "CNAME loop", qname: "loop1.lab.gov.", qtype: dns.TypeA,
			answer: []string{"CNAME loop2.lab.gov.", "CNAME loop1.lab.gov."}, soa: true},
		{name: "dangling CNAME", qname: "dangling.lab.gov.", qtype: dns.TypeA, rcode: dns.RcodeNameError,
			answer: []string{"CNAME gone.lab.gov."}, soa: true},
		{name: "NXDOMAIN", qname: "nx.lab.gov.", qtype: dns.TypeA, rcode: dns.RcodeNameError, soa: true},
		{name: "NODATA other type", qname: "a.lab.gov.", qtype: dns.TypeMX, soa: true},
		{name: "NODATA empty non-terminal", qname: "ent.lab.gov.", qtype: dns.TypeA, soa: true},
		{name: "SERVFAIL", qname: "servfail.lab.gov.", qtype: dns.TypeA, rcode: dns.RcodeServerFailure},
		{name: "REFUSED", qname: "refused.lab.gov.", qtype: dns.TypeTXT, rcode: dns.RcodeRefused},
		{name: "forced NXDOMAIN", qname: "nxforced.lab.gov.", qtype: dns.TypeA, rcode: dns.RcodeNameError, soa: true},
		{name: "AD on", qname: "secure.gov.", qtype: dns.TypeA, answer: []string{"A 127.1.0.10"}, ad: true},
		{name: "AD on NXDOMAIN", qname: "nx.secure.gov.", qtype: dns.TypeA, rcode: dns.RcodeNameError, soa: true, ad: true},
		{name: "AD off in subtree", qname: "insecure.secure.gov.", qtype: dns.TypeA, answer: []string{"A 127.1.0.11"}},
		{name: "dynamic", qname: "d513.synthetic.gov.", qtype: dns.TypeA, answer: []string{"A 127.2.2.1"}},
		{name: "dynamic NODATA", qname: "D99999.synthetic.gov.", qtype: dns.TypeAAAA, soa: true},
		{name: "dynamic NXDOMAIN", qname: "d100000.synthetic.gov.", qtype: dns.TypeA, rcode: dns.RcodeNameError, soa: true},
	}
	for _, network := range []string{"udp", "tcp"} {
		for _, tc := range tests {
			t.Run(network+"/"+tc.name, func(t *testing.T) {
				r, err := exchange(t, s, network, tc.qname, tc.qtype)
				if err != nil {
					t.Fatal(err)
				}
				if r.Rcode != tc.rcode {
					t.Errorf("rcode = %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[tc.rcode])
				}
				if !r.Authoritative || r.RecursionAvailable || !r.RecursionDesired {
					t.Errorf("flags AA=%v RA=%v RD=%v, want AA, !RA, RD copied", r.Authoritative, r.RecursionAvailable, r.RecursionDesired)
				}
				if r.AuthenticatedData != tc.ad {
					t.Errorf("AD = %v, want %v", r.AuthenticatedData, tc.ad)
				}
				var got []string
				for _, rr := range r.Answer {
					got = append(got, rdata(rr))
				}
				if !slices.Equal(got, tc.answer) {
					t.Errorf("answer = %q, want %q", got, tc.answer)
				}
				if len(r.Answer) > 0 && r.Answer[0].Header().Name != tc.qname {
					t.Errorf("owner %q, want the query's spelling %q", r.Answer[0].Header().Name, tc.qname)
				}
				hasSOA := len(r.Ns) == 1 && r.Ns[0].Header().Rrtype == dns.TypeSOA
				if hasSOA != tc.soa {
					t.Errorf("authority = %v, want SOA: %v", r.Ns, tc.soa)
				}
			})
		}
	}
}

func TestNegativeSOA(t *testing.T) {
	s := startServer(t)
	for _, tc := range []struct{ qname, owner string }{
		{"nx.lab.gov.", "lab.gov."},                  // configured SOA
		{"x.y.nx.secure.gov.", "secure.gov."},        // synthesized: last two labels
		{"d100000.synthetic.gov.", "synthetic.gov."}, // synthesized for dynamic names
		{"dangling.lab.gov.", "lab.gov."},            // SOA of the chain's end
		{"nowhere.", "nowhere."},                     // one label is its own apex
	} {
		r, err := exchange(t, s, "udp", tc.qname, dns.TypeA)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Ns) != 1 || r.Ns[0].Header().Name != tc.owner {
			t.Errorf("%s: authority %v, want SOA at %s", tc.qname, r.Ns, tc.owner)
		}
	}
}

func TestRDCopied(t *testing.T) {
	s := startServer(t)
	c := &dns.Client{Timeout: 2 * time.Second}
	q := new(dns.Msg)
	q.SetQuestion("a.lab.gov.", dns.TypeA)
	q.RecursionDesired = false
	r, _, err := c.Exchange(q, s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if r.RecursionDesired {
		t.Error("RD set although the query did not set it")
	}
}

func TestMultiStringTXT(t *testing.T) {
	s := startServer(t)
	for _, network := range []string{"udp", "tcp"} {
		r, err := exchange(t, s, network, "lab.gov.", dns.TypeTXT)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Answer) != 1 {
			t.Fatalf("%s: answer %v, want one TXT", network, r.Answer)
		}
		want := []string{"v=spf1 ", "ip4:127.1.0.0/16", " -all"}
		if got := r.Answer[0].(*dns.TXT).Txt; !slices.Equal(got, want) {
			t.Errorf("%s: strings %q, want %q", network, got, want)
		}
	}
}

func TestTruncation(t *testing.T) {
	s := startServer(t)
	r, err := exchange(t, s, "udp", "big.lab.gov.", dns.TypeTXT)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Truncated || len(r.Answer) >= bigTXTCount {
		t.Errorf("UDP: TC=%v with %d answers, want truncated", r.Truncated, len(r.Answer))
	}

	// An EDNS0 client advertising a big buffer gets everything over UDP.
	c := &dns.Client{Timeout: 2 * time.Second}
	q := new(dns.Msg)
	q.SetQuestion("big.lab.gov.", dns.TypeTXT)
	q.SetEdns0(8192, false)
	r, _, err = c.Exchange(q, s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if r.Truncated || len(r.Answer) != bigTXTCount || r.IsEdns0() == nil {
		t.Errorf("UDP+EDNS0: TC=%v, %d answers, OPT %v", r.Truncated, len(r.Answer), r.IsEdns0())
	}

	r, err = exchange(t, s, "tcp", "big.lab.gov.", dns.TypeTXT)
	if err != nil {
		t.Fatal(err)
	}
	if r.Truncated || len(r.Answer) != bigTXTCount {
		t.Errorf("TCP: TC=%v with %d answers, want all %d", r.Truncated, len(r.Answer), bigTXTCount)
	}
}

func TestDrop(t *testing.T) {
	s := startServer(t)
	for _, network := range []string{"udp", "tcp"} {
		c := &dns.Client{Net: network, Timeout: 200 * time.Millisecond}
		q := new(dns.Msg)
		q.SetQuestion("drop.lab.gov.", dns.TypeA)
		before := s.Queries()
		_, _, err := c.Exchange(q, s.Addr())
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("%s: err = %v, want a timeout", network, err)
		}
		if s.Queries() != before+1 {
			t.Errorf("%s: dropped query not counted", network)
		}
	}
}

func TestDelay(t *testing.T) {
	s := startServer(t)
	start := time.Now()
	r, err := exchange(t, s, "udp", "slow.lab.gov.", dns.TypeA)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("answered after %v, want >= 150ms", d)
	}
	if r.Rcode != dns.RcodeNameError {
		t.Errorf("rcode %s, want NXDOMAIN (slow.lab.gov has no records)", dns.RcodeToString[r.Rcode])
	}
}

func TestCloseCutsDelayShort(t *testing.T) {
	z := NewZone()
	z.SetBehaviour("stuck.lab.gov.", Behaviour{Delay: time.Hour})
	s, err := Start("127.0.0.1:0", z, nil)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		c := &dns.Client{Timeout: 5 * time.Second}
		q := new(dns.Msg)
		q.SetQuestion("stuck.lab.gov.", dns.TypeA)
		_, _, _ = c.Exchange(q, s.Addr())
	}()
	deadline := time.Now().Add(2 * time.Second)
	for s.Queries() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v with a delayed query in flight", d)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestGoResolver(t *testing.T) {
	s := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// "udp" lets the resolver pick (UDP, then TCP after truncation);
	// "tcp" forces every query over TCP.
	for _, mode := range []string{"udp", "tcp"} {
		t.Run(mode, func(t *testing.T) {
			r := &net.Resolver{
				PreferGo: true,
				Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
					if mode == "tcp" {
						network = "tcp"
					}
					var d net.Dialer
					return d.DialContext(ctx, network, s.Addr())
				},
			}
			addrs, err := r.LookupHost(ctx, "chain.lab.gov.")
			if err != nil || !slices.Contains(addrs, "127.1.0.2") {
				t.Errorf("LookupHost(CNAME) = %v, %v; want 127.1.0.2", addrs, err)
			}
			// Go reports the first hop's target, so use a one-hop chain.
			cname, err := r.LookupCNAME(ctx, "www.lab.gov.")
			if err != nil || cname != "a.lab.gov." {
				t.Errorf("LookupCNAME = %q, %v", cname, err)
			}
			mxs, err := r.LookupMX(ctx, "mail.lab.gov.")
			if err != nil || len(mxs) != 1 || mxs[0].Host != "mx1.lab.gov." || mxs[0].Pref != 10 {
				t.Errorf("LookupMX = %v, %v", mxs, err)
			}
			txts, err := r.LookupTXT(ctx, "lab.gov.")
			// Go joins a record's strings into one.
			if err != nil || !slices.Equal(txts, []string{"v=spf1 ip4:127.1.0.0/16 -all"}) {
				t.Errorf("LookupTXT = %q, %v", txts, err)
			}
			// Truncated over UDP, so this relies on the TCP retry.
			txts, err = r.LookupTXT(ctx, "big.lab.gov.")
			if err != nil || len(txts) != bigTXTCount {
				t.Errorf("LookupTXT(big) = %d records, %v", len(txts), err)
			}
			_, err = r.LookupHost(ctx, "nx.lab.gov.")
			var de *net.DNSError
			if !errors.As(err, &de) || !de.IsNotFound {
				t.Errorf("LookupHost(nx) err = %v, want not found", err)
			}
			addrs, err = r.LookupHost(ctx, "d42.synthetic.gov.")
			if err != nil || !slices.Equal(addrs, []string{"127.2.0.42"}) {
				t.Errorf("LookupHost(dynamic) = %v, %v", addrs, err)
			}
		})
	}
}

func TestConcurrentUDP(t *testing.T) {
	s := startServer(t)
	const n = 1000
	var wg sync.WaitGroup
	var answered atomic.Int64
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			c := &dns.Client{Timeout: 3 * time.Second}
			q := new(dns.Msg)
			q.SetQuestion(fmt.Sprintf("d%d.synthetic.gov.", i), dns.TypeA)
			r, _, err := c.Exchange(q, s.Addr())
			if err != nil {
				errs <- err
				return
			}
			if len(r.Answer) != 1 {
				errs <- fmt.Errorf("query %d: answer %v", i, r.Answer)
				return
			}
			answered.Add(1)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if answered.Load() != n || s.Queries() != n {
		t.Errorf("answered %d, server counted %d, want %d", answered.Load(), s.Queries(), n)
	}
}

func TestStartRejectsNonLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "192.0.2.1:0", "localhost:0", "nonsense"} {
		if s, err := Start(addr, NewZone(), nil); err == nil {
			s.Close()
			t.Errorf("Start(%q) succeeded", addr)
		}
	}
}

func TestSamePortUDPAndTCP(t *testing.T) {
	s := startServer(t)
	for _, network := range []string{"udp", "tcp"} {
		conn, err := net.DialTimeout(network, s.Addr(), time.Second)
		if err != nil {
			t.Fatalf("%s: %v", network, err)
		}
		conn.Close()
	}
}

func TestAddErrorNamesLine(t *testing.T) {
	z := NewZone()
	err := z.Add("ok.lab.gov. 60 IN A 127.0.0.1", "bad.lab.gov. 60 IN A not-an-ip")
	if err == nil || !strings.Contains(err.Error(), "not-an-ip") || !strings.Contains(err.Error(), "record 2") {
		t.Fatalf("err = %v, want it to name record 2", err)
	}
	if _, ok := z.lookup("ok.lab.gov.", dns.TypeA, nil); ok {
		t.Error("a failed Add left records behind")
	}
}

func BenchmarkUDPQueries(b *testing.B) {
	s := startServer(b)
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c := &dns.Client{Timeout: 2 * time.Second}
		conn, err := c.Dial(s.Addr())
		if err != nil {
			b.Error(err)
			return
		}
		defer conn.Close()
		q := new(dns.Msg)
		q.SetQuestion("a.lab.gov.", dns.TypeA)
		for pb.Next() {
			if _, _, err := c.ExchangeWithConn(q, conn); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
}
