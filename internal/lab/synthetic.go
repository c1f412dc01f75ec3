package lab

import (
	"crypto/tls"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/miekg/dns"

	"github.com/domainscan/domain-scan/internal/lab/pki"
	"github.com/domainscan/domain-scan/internal/lab/smtpserver"
)

// Synthetic mode serves N generated domains for benchmarks. Hosts share a
// few addresses and are told apart by SNI and Host, as on shared hosting: a
// process may hold only so many open files, so one listener per host cannot
// scale. Nothing is kept per domain except what the bounded certificate
// cache holds, so memory stays flat in N.

// syntheticAddrs is how many addresses the synthetic web hosts share.
const syntheticAddrs = 16

// syntheticMail is the mail server every mail-enabled synthetic domain uses.
const syntheticMail = "mx.synthetic-mail.test"

// SyntheticName is the i-th synthetic domain (i from 0).
func SyntheticName(i int) string { return fmt.Sprintf("synth-%07d.test", i) }

// syntheticIndex parses a synthetic name (or its www) back to its index.
func syntheticIndex(name string, n int) (i int, www bool, ok bool) {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	if rest, found := strings.CutPrefix(name, "www."); found {
		name, www = rest, true
	}
	num, found := strings.CutPrefix(name, "synth-")
	if !found {
		return 0, false, false
	}
	num, found = strings.CutSuffix(num, ".test")
	if !found || len(num) != 7 {
		return 0, false, false
	}
	i, err := strconv.Atoi(num)
	if err != nil || i < 0 || i >= n {
		return 0, false, false
	}
	return i, www, true
}

// The behaviours of the mix, by i % len(kinds).
const (
	synthEnforced  = iota // http -> https, strong HSTS
	synthHTTPOnly         // port 443 closed
	synthHTTPSOnly        // https 200 without redirect or HSTS
	synthWWW              // canonical https://www.
	synthExpired          // expired certificate
	synthGone             // NXDOMAIN
	synthKinds
)

type synthetic struct {
	n     int
	addrs []netip.Addr
	mail  netip.Addr
	certs *pki.Cache
}

func (l *Lab) startSynthetic(n int) error {
	s := &synthetic{n: n, certs: pki.NewCache(l.CA, 20000)}
	for range syntheticAddrs {
		ip, err := l.alloc.alloc()
		if err != nil {
			return err
		}
		s.addrs = append(s.addrs, ip)
		for _, p := range []int{80, 443} {
			ln, err := l.listen(ip, p)
			if err != nil {
				return err
			}
			if p == 80 {
				l.web.serveHTTP(ln)
			} else {
				l.web.serveTLS(ln)
			}
		}
	}
	mailIP, err := l.alloc.alloc()
	if err != nil {
		return err
	}
	s.mail = mailIP
	cert, err := l.CA.Issue(pki.Spec{DNSNames: []string{syntheticMail}, Key: pki.ECDSAP256})
	if err != nil {
		return err
	}
	ln, err := l.listen(mailIP, 25)
	if err != nil {
		return err
	}
	srv := smtpserver.New(smtpserver.Behaviour{Hostname: syntheticMail, StartTLS: true,
		TLS: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}})
	l.onClose(srv.Close)
	go srv.Serve(ln)

	l.web.byName = s.host
	l.synth = s
	l.Synthetic = n
	return nil
}

// host builds the web host of a synthetic name on demand.
func (s *synthetic) host(name string) *webHost {
	i, www, ok := syntheticIndex(name, s.n)
	if !ok || i%synthKinds == synthGone {
		return nil
	}
	domain := SyntheticName(i)
	h := &Host{HTTP: &Endpoint{}, HTTPS: &Endpoint{}}
	switch i % synthKinds {
	case synthEnforced:
		h.HTTP = &Endpoint{Status: 301, Location: "https://" + domain + "/"}
		h.HTTPS = &Endpoint{Header: [][2]string{{"Strict-Transport-Security", "max-age=31536000; includeSubDomains; preload"}}}
		if www {
			h.HTTPS = &Endpoint{Status: 301, Location: "https://" + domain + "/"}
		}
	case synthHTTPOnly:
		h.HTTPS = nil
	case synthWWW:
		if !www {
			h.HTTP = &Endpoint{Status: 301, Location: "https://www." + domain + "/"}
			h.HTTPS = &Endpoint{Status: 301, Location: "https://www." + domain + "/"}
		} else {
			h.HTTP = &Endpoint{Status: 301, Location: "https://www." + domain + "/"}
		}
	}
	wh := &webHost{name: name, host: h}
	if h.HTTPS != nil {
		expired := i%synthKinds == synthExpired
		cert, err := s.certs.Get(fmt.Sprintf("%s/%t", name, expired), func() pki.Spec {
			return pki.Spec{DNSNames: []string{name}, Key: pki.ECDSAP256, Issuer: pki.ByECDSAIntermediate, Expired: expired}
		})
		if err != nil {
			return nil
		}
		wh.tls = &tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS12}
	}
	return wh
}

// dns answers synthetic names.
func (s *synthetic) dns(qname string, qtype uint16) ([]dns.RR, bool) {
	name := strings.ToLower(qname)
	if name == syntheticMail+"." {
		if qtype == dns.TypeA {
			return []dns.RR{&dns.A{Hdr: hdr(name, dns.TypeA), A: s.mail.AsSlice()}}, true
		}
		return nil, true
	}
	i, www, ok := syntheticIndex(name, s.n)
	if !ok || i%synthKinds == synthGone {
		return nil, false
	}
	domain := SyntheticName(i) + "."
	switch qtype {
	case dns.TypeA:
		return []dns.RR{&dns.A{Hdr: hdr(name, dns.TypeA), A: s.addrs[i%len(s.addrs)].AsSlice()}}, true
	case dns.TypeMX:
		if !www && i%3 == 0 {
			return []dns.RR{&dns.MX{Hdr: hdr(domain, dns.TypeMX), Preference: 10, Mx: syntheticMail + "."}}, true
		}
	case dns.TypeTXT:
		if !www && i%2 == 0 {
			return []dns.RR{&dns.TXT{Hdr: hdr(domain, dns.TypeTXT), Txt: []string{"v=spf1 mx -all"}}}, true
		}
	}
	return nil, true
}

func hdr(name string, t uint16) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: 300}
}
