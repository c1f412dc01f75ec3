package lab

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/smtp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func TestSyntheticMail(t *testing.T) {
	l, err := Start(context.Background(), Options{Synthetic: 300, HighPorts: true, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	query := func(name string, qtype uint16) *dns.Msg {
		t.Helper()
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(name), qtype)
		c := &dns.Client{Timeout: 3 * time.Second}
		r, _, err := c.Exchange(m, l.DNSAddr)
		if err != nil {
			t.Fatalf("%s %s: %v", name, dns.TypeToString[qtype], err)
		}
		return r
	}

	// MX: one per live domain, mx(i % 100); none for www or gone names.
	for _, c := range []struct {
		i  int
		mx string
	}{{0, "mx00"}, {1, "mx01"}, {201, "mx01"}, {199, "mx99"}, {298, "mx98"}} {
		name := SyntheticName(c.i)
		r := query(name, dns.TypeMX)
		want := c.mx + ".synthetic-mail.test."
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
			t.Errorf("%s MX: %s %v", name, dns.RcodeToString[r.Rcode], r.Answer)
			continue
		}
		if mx, ok := r.Answer[0].(*dns.MX); !ok || mx.Mx != want || mx.Preference != 10 {
			t.Errorf("%s MX: %v, want 10 %s", name, r.Answer[0], want)
		}
		if want != SyntheticMailServer(c.i%SyntheticMailServers)+"." {
			t.Errorf("SyntheticMailServer(%d) = %s, want %s", c.i%SyntheticMailServers, SyntheticMailServer(c.i%SyntheticMailServers), want)
		}
	}
	if r := query("www."+SyntheticName(0), dns.TypeMX); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 {
		t.Errorf("www MX: %s %v, want NOERROR and no records", dns.RcodeToString[r.Rcode], r.Answer)
	}
	// 101 % synthKinds == synthGone.
	if r := query(SyntheticName(101), dns.TypeMX); r.Rcode != dns.RcodeNameError {
		t.Errorf("gone domain MX: %s %v, want NXDOMAIN", dns.RcodeToString[r.Rcode], r.Answer)
	}

	// The mail servers' addresses: one each, all different.
	var addrs []string
	for k := range SyntheticMailServers {
		r := query(SyntheticMailServer(k), dns.TypeA)
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
			t.Fatalf("%s A: %s %v", SyntheticMailServer(k), dns.RcodeToString[r.Rcode], r.Answer)
		}
		addrs = append(addrs, r.Answer[0].(*dns.A).A.String())
	}
	slices.Sort(addrs)
	if len(slices.Compact(addrs)) != SyntheticMailServers {
		t.Errorf("mail server addresses not distinct: %v", addrs)
	}
	if r := query(SyntheticMailServer(1), dns.TypeAAAA); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 {
		t.Errorf("mx01 AAAA: %s %v, want NOERROR and no records", dns.RcodeToString[r.Rcode], r.Answer)
	}
	if r := query("mx100.synthetic-mail.test", dns.TypeA); r.Rcode != dns.RcodeNameError {
		t.Errorf("mx100 A: %s, want NXDOMAIN", dns.RcodeToString[r.Rcode])
	}

	// SPF and DMARC for even domains; no _dmarc name for odd or gone ones.
	if r := query(SyntheticName(2), dns.TypeTXT); len(r.Answer) != 1 || strings.Join(r.Answer[0].(*dns.TXT).Txt, "") != "v=spf1 mx -all" {
		t.Errorf("SPF: %v", r.Answer)
	}
	wantDMARC := "v=DMARC1; p=reject; rua=mailto:dmarc@synth-0000002.test"
	if r := query("_dmarc."+SyntheticName(2), dns.TypeTXT); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 ||
		strings.Join(r.Answer[0].(*dns.TXT).Txt, "") != wantDMARC {
		t.Errorf("_dmarc even: %s %v, want %q", dns.RcodeToString[r.Rcode], r.Answer, wantDMARC)
	}
	if r := query("_dmarc."+SyntheticName(2), dns.TypeA); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 {
		t.Errorf("_dmarc even A: %s %v, want NOERROR and no records", dns.RcodeToString[r.Rcode], r.Answer)
	}
	for _, name := range []string{"_dmarc." + SyntheticName(1), "_dmarc." + SyntheticName(101), "_dmarc.www." + SyntheticName(2), "_dmarc." + SyntheticName(300)} {
		if r := query(name, dns.TypeTXT); r.Rcode != dns.RcodeNameError {
			t.Errorf("%s TXT: %s %v, want NXDOMAIN", name, dns.RcodeToString[r.Rcode], r.Answer)
		}
	}

	// Every server answers on all three ports.
	nw := l.Network()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for k := range SyntheticMailServers {
		host := SyntheticMailServer(k)
		for _, port := range []int{25, 587} {
			conn, err := nw.DialContext(ctx, "tcp", fmt.Sprintf("%s:%d", host, port))
			if err != nil {
				t.Fatalf("%s:%d: %v", host, port, err)
			}
			c, err := smtp.NewClient(conn, host) // wants a 220 greeting
			if err != nil {
				conn.Close()
				t.Fatalf("%s:%d greeting: %v", host, port, err)
			}
			if err := c.Hello("client.test"); err != nil {
				t.Errorf("%s:%d EHLO: %v", host, port, err)
			} else if ok, _ := c.Extension("STARTTLS"); !ok {
				t.Errorf("%s:%d: STARTTLS not offered", host, port)
			} else if k == 1 {
				if err := c.StartTLS(&tls.Config{RootCAs: l.CA.RootPool(), ServerName: host}); err != nil {
					t.Errorf("%s:%d STARTTLS: %v", host, port, err)
				}
			}
			c.Quit()
			c.Close()
		}
		conn, err := nw.DialContext(ctx, "tcp", host+":465")
		if err != nil {
			t.Fatalf("%s:465: %v", host, err)
		}
		tc := tls.Client(conn, &tls.Config{RootCAs: l.CA.RootPool(), ServerName: host})
		if err := tc.HandshakeContext(ctx); err != nil {
			tc.Close()
			t.Fatalf("%s:465 handshake: %v", host, err)
		}
		if v := tc.ConnectionState().Version; v < tls.VersionTLS12 {
			t.Errorf("%s:465: TLS version %x", host, v)
		}
		c, err := smtp.NewClient(tc, host)
		if err != nil {
			tc.Close()
			t.Fatalf("%s:465 greeting: %v", host, err)
		}
		if err := c.Hello("client.test"); err != nil {
			t.Errorf("%s:465 EHLO: %v", host, err)
		}
		c.Quit()
		c.Close()
	}
}

// BenchmarkStartSynth10k times lab.Start with 10,000 synthetic domains.
//
//	go test -run='^$' -bench=StartSynth10k ./internal/lab/
func BenchmarkStartSynth10k(b *testing.B) {
	for range b.N {
		l, err := Start(context.Background(), Options{Synthetic: 10_000, HighPorts: true, Dir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		l.Close()
		b.StartTimer()
	}
}
