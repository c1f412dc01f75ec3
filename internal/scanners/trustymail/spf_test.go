package trustymail

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"blitiri.com.ar/go/spf"
	"github.com/miekg/dns"
)

func TestIsSPFRecord(t *testing.T) {
	for _, tc := range []struct {
		txt  string
		want bool
	}{
		{"v=spf1", true},
		{"v=spf1 -all", true},
		{"V=SPF1 -all", true},
		{"v=SPF1 include:_spf.example.test ~all", true},
		{"v=spf1  -all", true}, // two spaces: still the version term alone
		{"v=spf10 -all", false},
		{"v=spf1-all", false},
		{"v=spf1\t-all", false}, // RFC 7208 §4.5: only a space ends the version
		{"spf1", false},
		{"", false},
		{"v=spf", false},
		{" v=spf1 -all", false},
		{"v=DMARC1; p=none", false},
		{"google-site-verification=abc", false},
	} {
		if got := IsSPFRecord(tc.txt); got != tc.want {
			t.Errorf("IsSPFRecord(%q) = %v, want %v", tc.txt, got, tc.want)
		}
	}
}

func TestSPFRecords(t *testing.T) {
	for _, tc := range []struct {
		txts []string
		want []string
	}{
		{nil, nil},
		{[]string{"google-site-verification=x", "v=spf10 -all"}, nil},
		{[]string{"v=spf1 -all"}, []string{"v=spf1 -all"}},
		{
			[]string{"a", "V=SPF1 +all", "v=spf1-all", "v=spf1", "spf1", "v=spf1 ~all", ""},
			[]string{"V=SPF1 +all", "v=spf1", "v=spf1 ~all"},
		},
	} {
		got := SPFRecords(tc.txts)
		if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
			t.Errorf("SPFRecords(%q) = %q, want %q", tc.txts, got, tc.want)
		}
	}
}

// testZone is what the loopback DNS server of these tests answers from.
// A name that owns some record exists (NOERROR, possibly with an empty
// answer); any other name is NXDOMAIN, unless it is listed in servfail.
type testZone struct {
	mu       sync.Mutex
	rrs      map[string][]dns.RR // lower-case FQDN → records of every type
	servfail map[string]bool     // answered SERVFAIL
	ad       map[string]bool     // answered with the AD bit
	queries  []string            // "name TYPE", in arrival order
}

// newTestZone parses records in presentation format, e.g.
// `example.test. TXT "v=spf1 -all"`.
func newTestZone(t testing.TB, records ...string) *testZone {
	t.Helper()
	z := &testZone{rrs: map[string][]dns.RR{}, servfail: map[string]bool{}, ad: map[string]bool{}}
	for _, s := range records {
		rr, err := dns.NewRR(s)
		if err != nil {
			t.Fatalf("record %q: %v", s, err)
		}
		name := strings.ToLower(rr.Header().Name)
		z.rrs[name] = append(z.rrs[name], rr)
	}
	return z
}

func (z *testZone) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	if len(req.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		_ = w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	z.mu.Lock()
	z.queries = append(z.queries, strings.TrimSuffix(name, ".")+" "+dns.TypeToString[q.Qtype])
	rrs, exists := z.rrs[name]
	servfail, ad := z.servfail[name], z.ad[name]
	z.mu.Unlock()
	m.AuthenticatedData = ad
	switch {
	case servfail:
		m.Rcode = dns.RcodeServerFailure
	case !exists:
		m.Rcode = dns.RcodeNameError
	default:
		for _, rr := range rrs {
			if rr.Header().Rrtype == q.Qtype {
				m.Answer = append(m.Answer, rr)
			}
		}
	}
	_ = w.WriteMsg(m)
}

func (z *testZone) queried() []string {
	z.mu.Lock()
	defer z.mu.Unlock()
	return append([]string(nil), z.queries...)
}

// startDNS serves z over UDP on a loopback port and returns its address.
func startDNS(t testing.TB, h dns.Handler) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, Handler: h, NotifyStartedFunc: func() { close(started) }}
	done := make(chan error, 1)
	go func() { done <- srv.ActivateAndServe() }()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("DNS server: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("DNS server did not start")
	}
	t.Cleanup(func() {
		_ = srv.Shutdown()
		<-done
	})
	return pc.LocalAddr().String()
}

// spfTestZone holds every domain of TestEvaluateSPF.
func spfTestZone(t testing.TB) *testZone {
	records := []string{
		`fail.test. TXT "v=spf1 -all"`,
		`fail.test. TXT "google-site-verification=abc"`,
		`pass.test. TXT "v=spf1 +all"`,
		`softfail.test. TXT "v=spf1 ~all"`,
		`empty.test. TXT "v=spf1"`,
		`multistring.test. TXT "v=spf1 " "ip4:192.0.2.1 -all"`,
		`ip4hit.test. TXT "v=spf1 ip4:100.27.42.0/24 -all"`,
		`badip.test. TXT "v=spf1 ip4:not-an-address -all"`,
		`badmask.test. TXT "v=spf1 ip4:192.0.2.0/33 -all"`,
		`unknown.test. TXT "v=spf1 bogus -all"`,
		`inc.test. TXT "v=spf1 include:target.test -all"`,
		`incnospf.test. TXT "v=spf1 include:nospf.test -all"`,
		`incnx.test. TXT "v=spf1 include:missing.test -all"`,
		`incservfail.test. TXT "v=spf1 include:broken.test -all"`,
		`redir.test. TXT "v=spf1 redirect=target.test"`,
		`redirnx.test. TXT "v=spf1 redirect=missing.test"`,
		`redirnospf.test. TXT "v=spf1 redirect=nospf.test"`,
		`two.test. TXT "v=spf1 -all"`,
		`two.test. TXT "v=spf1 +all"`,
		`two.test. TXT "other"`,
		`mx.test. TXT "v=spf1 mx -all"`,
		`mx.test. MX 10 mail1.mx.test.`,
		`mx.test. MX 20 mail2.mx.test.`,
		`mx.test. MX 30 gone.mx.test.`,
		`mail1.mx.test. A 192.0.2.25`,
		`mail2.mx.test. AAAA 2001:db8::25`,
		`mxhit.test. TXT "v=spf1 mx:mxhost.test -all"`,
		`mxhost.test. MX 10 probe.mx.test.`,
		`probe.mx.test. A 100.27.42.254`,
		`ahit.test. TXT "v=spf1 a:probe.mx.test -all"`,
		`exists.test. TXT "v=spf1 exists:%{i}.ex.test -all"`,
		`100.27.42.254.ex.test. A 127.0.0.2`,
		`void.test. TXT "v=spf1 a:v1.test a:v2.test a:v3.test -all"`,
		`ptr.test. TXT "v=spf1 ptr -all"`,
		`target.test. TXT "v=spf1 ?all"`,
		`nospf.test. TXT "hello world"`,
	}
	var incs, incs10 []string
	for i := 1; i <= 11; i++ {
		records = append(records, fmt.Sprintf(`i%d.test. TXT "v=spf1 -all"`, i))
		incs = append(incs, fmt.Sprintf("include:i%d.test", i))
		if i <= 10 {
			incs10 = append(incs10, fmt.Sprintf("include:i%d.test", i))
		}
	}
	records = append(records,
		fmt.Sprintf(`limit.test. TXT "v=spf1 %s -all"`, strings.Join(incs, " ")),
		fmt.Sprintf(`limit10.test. TXT "v=spf1 %s -all"`, strings.Join(incs10, " ")),
	)
	z := newTestZone(t, records...)
	z.servfail["broken.test."] = true
	return z
}

// TestEvaluateSPF evaluates records end to end, the way spfCheck does: the
// domain's TXT records from the DNS server, then evaluateSPF, whose nested
// lookups go to the same server.
func TestEvaluateSPF(t *testing.T) {
	z := spfTestZone(t)
	r := newResolver([]string{startDNS(t, z)}, 2*time.Second)
	for _, tc := range []struct {
		domain  string
		want    spf.Result
		wantErr error // checked with errors.Is when set
	}{
		{"fail.test", spf.Fail, spf.ErrMatchedAll},
		{"pass.test", spf.Pass, spf.ErrMatchedAll},
		{"softfail.test", spf.SoftFail, nil},
		{"empty.test", spf.Neutral, nil},
		{"multistring.test", spf.Fail, nil},
		{"ip4hit.test", spf.Pass, spf.ErrMatchedIP},
		{"badip.test", spf.PermError, spf.ErrInvalidIP},
		{"badmask.test", spf.PermError, spf.ErrInvalidMask},
		{"unknown.test", spf.PermError, spf.ErrUnknownField},
		{"limit.test", spf.PermError, spf.ErrLookupLimitReached},
		{"limit10.test", spf.Fail, nil},
		{"inc.test", spf.Fail, nil}, // include → neutral: no match, then -all
		{"incnospf.test", spf.PermError, nil},
		{"incnx.test", spf.PermError, nil},
		{"incservfail.test", spf.TempError, nil},
		{"redir.test", spf.Neutral, nil},
		{"redirnx.test", spf.PermError, nil},
		{"redirnospf.test", spf.PermError, nil},
		{"two.test", spf.PermError, spf.ErrMultipleRecords},
		{"mx.test", spf.Fail, spf.ErrMatchedAll},
		{"mxhit.test", spf.Pass, spf.ErrMatchedMX},
		{"ahit.test", spf.Pass, spf.ErrMatchedA},
		{"exists.test", spf.Pass, spf.ErrMatchedExists},
		{"void.test", spf.PermError, spf.ErrVoidLookupLimitReached},
		{"ptr.test", spf.Fail, nil},
	} {
		t.Run(tc.domain, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			msg, err := r.query(ctx, tc.domain, dns.TypeTXT)
			if err != nil {
				t.Fatalf("TXT %s: %v", tc.domain, err)
			}
			got, err := r.evaluateSPF(ctx, tc.domain, txtRecords(msg))
			if got != tc.want {
				t.Fatalf("evaluateSPF(%s) = %s (%v), want %s", tc.domain, got, err, tc.want)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("evaluateSPF(%s) error = %v, want %v", tc.domain, err, tc.wantErr)
			}
			wantValid := tc.want == spf.Pass || tc.want == spf.Fail || tc.want == spf.SoftFail || tc.want == spf.Neutral
			if v := spfValid(got); v != wantValid {
				t.Errorf("spfValid(%s) = %v, want %v", got, v, wantValid)
			}
		})
	}

	// The domain's own TXT records come from the caller: evaluateSPF must
	// not ask for them again (the test itself asked once).
	asked := map[string]int{}
	for _, q := range z.queried() {
		asked[q]++
	}
	for _, d := range []string{"fail.test", "mx.test", "limit.test", "redir.test", "two.test"} {
		if n := asked[d+" TXT"]; n != 1 {
			t.Errorf("%s TXT asked %d times, want once", d, n)
		}
	}
}

// TestEvaluateSPFPinned: the records given to evaluateSPF are the ones
// evaluated, whatever the server says, and the name matches in any case
// and with or without a final dot.
func TestEvaluateSPFPinned(t *testing.T) {
	z := newTestZone(t, `pinned.test. TXT "v=spf1 +all"`)
	r := newResolver([]string{startDNS(t, z)}, 2*time.Second)
	ctx := context.Background()
	for _, domain := range []string{"pinned.test", "PINNED.Test"} {
		got, err := r.evaluateSPF(ctx, domain, []string{"v=spf1 -all"})
		if got != spf.Fail {
			t.Errorf("evaluateSPF(%s) = %s (%v), want fail", domain, got, err)
		}
	}
	if q := z.queried(); len(q) != 0 {
		t.Errorf("queries sent: %q, want none", q)
	}
	// No SPF record among them: none, invalid.
	got, _ := r.evaluateSPF(ctx, "pinned.test", []string{"hello"})
	if got != spf.None || spfValid(got) {
		t.Errorf("evaluateSPF without SPF record = %s, valid %v; want none, invalid", got, spfValid(got))
	}
	// A record including the pinned domain itself loops until the limit.
	got, err := r.evaluateSPF(ctx, "pinned.test", []string{"v=spf1 include:pinned.test -all"})
	if got != spf.PermError || !errors.Is(err, spf.ErrLookupLimitReached) {
		t.Errorf("self include = %s (%v), want permerror (lookup limit)", got, err)
	}
}

func TestSPFValid(t *testing.T) {
	for res, want := range map[spf.Result]bool{
		spf.Pass: true, spf.Fail: true, spf.SoftFail: true, spf.Neutral: true,
		spf.None: false, spf.TempError: false, spf.PermError: false, spf.Result(""): false,
	} {
		if got := spfValid(res); got != want {
			t.Errorf("spfValid(%q) = %v, want %v", res, got, want)
		}
	}
}

// TestResolverQuery classifies answers as dnspython did.
func TestResolverQuery(t *testing.T) {
	z := newTestZone(t,
		`a.test. A 192.0.2.1`,
		`signed.test. A 192.0.2.2`,
		`nodata.test. TXT "x"`,
		`signed-nodata.test. TXT "x"`,
	)
	z.servfail["servfail.test."] = true
	z.ad["signed.test."] = true
	z.ad["signed-nodata.test."] = true
	z.ad["signed-nx.test."] = true
	r := newResolver([]string{startDNS(t, z)}, 2*time.Second)
	ctx := context.Background()

	t.Run("answer", func(t *testing.T) {
		msg, err := r.query(ctx, "A.Test", dns.TypeA)
		if err != nil {
			t.Fatal(err)
		}
		if len(msg.Answer) != 1 || msg.Answer[0].(*dns.A).A.String() != "192.0.2.1" {
			t.Errorf("answer %v", msg.Answer)
		}
		if ad := adOf(msg, err); ad == nil || *ad {
			t.Errorf("adOf = %v, want false", ad)
		}
		msg, err = r.query(ctx, "signed.test.", dns.TypeA)
		if ad := adOf(msg, err); err != nil || ad == nil || !*ad {
			t.Errorf("signed.test: adOf = %v (%v), want true", ad, err)
		}
	})
	t.Run("nxdomain", func(t *testing.T) {
		msg, err := r.query(ctx, "nx.test", dns.TypeTXT)
		if msg != nil {
			t.Errorf("msg = %v, want nil", msg)
		}
		var le *lookupError
		if !errors.As(err, &le) || le.kind != kindNXDOMAIN {
			t.Fatalf("err = %v, want NXDOMAIN", err)
		}
		if le.msg == nil || le.msg.Rcode != dns.RcodeNameError {
			t.Errorf("NXDOMAIN response not kept: %v", le.msg)
		}
		if got := err.Error(); got != "the DNS query name does not exist: nx.test" {
			t.Errorf("message %q", got)
		}
		if ad := adOf(msg, err); ad == nil || *ad {
			t.Errorf("adOf = %v, want false", ad)
		}
		_, err = r.query(ctx, "signed-nx.test", dns.TypeTXT)
		if ad := adOf(nil, err); kindOf(err) != kindNXDOMAIN || ad == nil || !*ad {
			t.Errorf("signed-nx.test: %v, adOf = %v, want NXDOMAIN and true", err, ad)
		}
	})
	t.Run("noanswer", func(t *testing.T) {
		_, err := r.query(ctx, "nodata.test", dns.TypeMX)
		var le *lookupError
		if !errors.As(err, &le) || le.kind != kindNoAnswer || le.msg == nil {
			t.Fatalf("err = %v, want NoAnswer with the response", err)
		}
		if got := err.Error(); got != "the DNS response does not contain an answer to the question: nodata.test IN MX" {
			t.Errorf("message %q", got)
		}
		if ad := adOf(nil, err); ad == nil || *ad {
			t.Errorf("adOf = %v, want false", ad)
		}
		_, err = r.query(ctx, "signed-nodata.test", dns.TypeMX)
		if ad := adOf(nil, err); kindOf(err) != kindNoAnswer || ad == nil || !*ad {
			t.Errorf("signed-nodata.test: %v, adOf = %v, want NoAnswer and true", err, ad)
		}
	})
	t.Run("servfail", func(t *testing.T) {
		_, err := r.query(ctx, "servfail.test", dns.TypeA)
		if kindOf(err) != kindNoNameservers {
			t.Fatalf("err = %v, want NoNameservers", err)
		}
		if !strings.HasPrefix(err.Error(), "all nameservers failed to answer the query servfail.test IN A") {
			t.Errorf("message %q", err)
		}
		if ad := adOf(nil, err); ad != nil {
			t.Errorf("adOf = %v, want nil", *ad)
		}
	})
	t.Run("not a domain name", func(t *testing.T) {
		_, err := r.query(ctx, strings.Repeat("x", 64)+".test", dns.TypeA)
		if kindOf(err) != kindNXDOMAIN {
			t.Errorf("err = %v, want NXDOMAIN", err)
		}
	})
	t.Run("no servers", func(t *testing.T) {
		_, err := newResolver(nil, time.Second).query(ctx, "a.test", dns.TypeA)
		if kindOf(err) != kindNoNameservers {
			t.Errorf("err = %v, want NoNameservers", err)
		}
	})
	t.Run("SERVFAIL then answer", func(t *testing.T) {
		bad := newTestZone(t, `a.test. A 192.0.2.9`)
		bad.servfail["a.test."] = true
		r2 := newResolver([]string{startDNS(t, bad), startDNS(t, z)}, 2*time.Second)
		for range 3 { // whichever server comes first
			msg, err := r2.query(ctx, "a.test", dns.TypeA)
			if err != nil || msg.Answer[0].(*dns.A).A.String() != "192.0.2.1" {
				t.Errorf("query = %v, %v; want the good server's answer", msg, err)
			}
		}
	})
}

// TestResolverQueryTimeout: a server that never answers makes a timeout
// once the lookup's lifetime is over, not before and not much later.
func TestResolverQueryTimeout(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close() // never read: queries are dropped
	const lifetime = 700 * time.Millisecond
	r := newResolver([]string{pc.LocalAddr().String()}, lifetime)
	start := time.Now()
	msg, err := r.query(context.Background(), "slow.test", dns.TypeTXT)
	took := time.Since(start)
	if kindOf(err) != kindTimeout || msg != nil {
		t.Fatalf("query = %v, %v; want a timeout", msg, err)
	}
	var le *lookupError
	if !errors.As(err, &le) || le.kind != kindTimeout {
		t.Errorf("err %T %v, want a *lookupError of kind timeout", err, err)
	}
	if !strings.HasPrefix(err.Error(), "the DNS operation timed out (slow.test IN TXT)") {
		t.Errorf("message %q", err)
	}
	if took < lifetime-50*time.Millisecond || took > lifetime+time.Second {
		t.Errorf("took %v for a lifetime of %v", took, lifetime)
	}
	if adOf(msg, err) != nil {
		t.Error("adOf of a timeout is not nil")
	}

	// The caller's context bounds the lookup too.
	r = newResolver([]string{pc.LocalAddr().String()}, 10*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err = r.query(ctx, "slow.test", dns.TypeTXT)
	if kindOf(err) != kindTimeout || time.Since(start) > 2*time.Second {
		t.Errorf("with a 300ms context: %v after %v", err, time.Since(start))
	}
}

// TestResolverRepeatedServer: a server listed twice (--dns a,a or a
// duplicated resolv.conf line) is one server, and a failing one ends the
// lookup at once instead of spinning.
func TestResolverRepeatedServer(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetRcode(q, dns.RcodeServerFailure)
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	addr := pc.LocalAddr().String()
	r := newResolver([]string{addr, addr, addr}, 5*time.Second)
	if len(r.servers) != 1 {
		t.Errorf("servers %v, want one", r.servers)
	}
	start := time.Now()
	_, err = r.query(context.Background(), "a.test", dns.TypeA)
	if kindOf(err) != kindNoNameservers || time.Since(start) > time.Second {
		t.Errorf("got %v after %s, want NoNameservers at once", err, time.Since(start))
	}
}
