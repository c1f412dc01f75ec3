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
// cache holds, so memory stays flat in N. Mail is the same: every live
// domain has one MX among SyntheticMailServers shared servers (300
// listeners whatever N), and even domains publish SPF and DMARC.

// syntheticAddrs is how many addresses the synthetic web hosts share.
const syntheticAddrs = 16

// SyntheticMailServers is how many mail servers the synthetic domains
// share: synthetic domain i uses SyntheticMailServer(i % SyntheticMailServers).
// Each listens on 25 and 587 (plain SMTP offering STARTTLS) and on 465
// (implicit TLS), all under one certificate naming every server.
const SyntheticMailServers = 100

// syntheticMailDomain is the zone the synthetic mail servers live in.
const syntheticMailDomain = "synthetic-mail.test"

// SyntheticMailServer is the name of the k-th synthetic mail server
// (k from 0 to SyntheticMailServers-1): mx00.synthetic-mail.test and on.
func SyntheticMailServer(k int) string {
	return fmt.Sprintf("mx%02d.%s", k, syntheticMailDomain)
}

// SyntheticDomains is the list of the first n synthetic domains, as an
// engine source (Len and Range), for benchmarks.
type SyntheticDomains int

func (n SyntheticDomains) Len() int64 { return int64(n) }

func (n SyntheticDomains) Range(fn func(string) bool) error {
	for i := range int(n) {
		if !fn(SyntheticName(i)) {
			break
		}
	}
	return nil
}

// SyntheticName is the i-th synthetic domain (i from 0).
func SyntheticName(i int) string { return fmt.Sprintf("synth-%07d.test", i) }

// syntheticIndex parses a synthetic name (or its www) back to its index.
// Any other label in front of the domain, such as _dmarc, is not accepted
// (see syntheticDMARCIndex).
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

// syntheticDMARCIndex parses _dmarc.<synthetic domain> back to the index
// of the domain (not of its www).
func syntheticDMARCIndex(name string, n int) (i int, ok bool) {
	rest, found := strings.CutPrefix(strings.ToLower(name), "_dmarc.")
	if !found {
		return 0, false
	}
	i, www, ok := syntheticIndex(rest, n)
	if !ok || www {
		return 0, false
	}
	return i, true
}

// syntheticMailIndex parses a synthetic mail server's name back to k.
func syntheticMailIndex(name string) (k int, ok bool) {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	num, found := strings.CutPrefix(name, "mx")
	if !found {
		return 0, false
	}
	num, found = strings.CutSuffix(num, "."+syntheticMailDomain)
	if !found || len(num) != 2 || num[0] < '0' || num[0] > '9' || num[1] < '0' || num[1] > '9' {
		return 0, false
	}
	k = int(num[0]-'0')*10 + int(num[1]-'0')
	return k, k < SyntheticMailServers
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
	mail  []netip.Addr // by mail server index
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
	if err := l.startSyntheticMail(s); err != nil {
		return err
	}

	l.web.byName = s.host
	l.synth = s
	l.Synthetic = n
	return nil
}

// startSyntheticMail starts the SyntheticMailServers mail servers, each
// on its own address, under one certificate that names them all.
func (l *Lab) startSyntheticMail(s *synthetic) error {
	names := make([]string, SyntheticMailServers)
	for k := range names {
		names[k] = SyntheticMailServer(k)
	}
	cert, err := l.CA.Issue(pki.Spec{DNSNames: names, Key: pki.ECDSAP256})
	if err != nil {
		return err
	}
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	s.mail = make([]netip.Addr, len(names))
	for k, name := range names {
		ip, err := l.alloc.alloc()
		if err != nil {
			return err
		}
		s.mail[k] = ip
		// One server for both plain ports, one for implicit TLS; each
		// registered for closing before it serves.
		plain := l.newSMTP(smtpserver.Behaviour{Hostname: name, StartTLS: true, TLS: tlsCfg})
		implicit := l.newSMTP(smtpserver.Behaviour{Hostname: name, Implicit: true, TLS: tlsCfg})
		for _, p := range []int{25, 587, 465} {
			ln, err := l.listen(ip, p)
			if err != nil {
				return err
			}
			srv := plain
			if p == 465 {
				srv = implicit
			}
			go srv.Serve(ln)
		}
	}
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

// dns answers synthetic names: the domains, their www, their _dmarc and
// the shared mail servers. A false second result means no such name
// (NXDOMAIN); true with no records means the name exists without records
// of qtype.
func (s *synthetic) dns(qname string, qtype uint16) ([]dns.RR, bool) {
	name := strings.ToLower(qname)
	if k, ok := syntheticMailIndex(name); ok {
		if qtype == dns.TypeA {
			return []dns.RR{&dns.A{Hdr: hdr(name, dns.TypeA), A: s.mail[k].AsSlice()}}, true
		}
		return nil, true
	}
	if i, ok := syntheticDMARCIndex(name, s.n); ok {
		// Only the domains with SPF publish DMARC; the others (gone
		// ones included) have no _dmarc name at all.
		if i%synthKinds == synthGone || i%2 != 0 {
			return nil, false
		}
		if qtype == dns.TypeTXT {
			rua := "mailto:dmarc@" + SyntheticName(i)
			return []dns.RR{&dns.TXT{Hdr: hdr(name, dns.TypeTXT), Txt: []string{"v=DMARC1; p=reject; rua=" + rua}}}, true
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
		if !www {
			mx := SyntheticMailServer(i%SyntheticMailServers) + "."
			return []dns.RR{&dns.MX{Hdr: hdr(domain, dns.TypeMX), Preference: 10, Mx: mx}}, true
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
