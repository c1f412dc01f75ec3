package lab

import (
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// These tests check the catalogue as data; no server is started.

// catHeaders are the header lists by scanner.
var catHeaders = map[string][]string{
	scanPshtt:      PshttHeaders,
	scanTrustymail: TrustymailHeaders,
	scanSslyze:     SslyzeHeaders,
}

// catNonBoolean lists, per scanner, the headers whose cells are not
// True/False in the original (strings, numbers, lists). Every other header
// is boolean (with "" for None) and must be shown both True and False.
var catNonBoolean = map[string][]string{
	scanPshtt: {
		"Canonical URL", "Redirect To", "HSTS Header", "HSTS Max Age", "IP",
		"Server Header", "Server Version", "HTTPS Cert Chain Length", "Notes",
	},
	scanTrustymail: {
		"Mail Servers", "Mail Server Ports Tested", "Domain Supports SMTP Results",
		"Domain Supports STARTTLS Results", "SPF Results", "DMARC Results",
		"DMARC Results on Base Domain", "DMARC Policy", "DMARC Subdomain Policy",
		"DMARC Policy Percentage", "DMARC Aggregate Report URIs",
		"DMARC Forensic Report URIs", "Syntax Errors", "Debug Info",
		"Domain Negotiates STARTTLS Results", "Domain STARTTLS Certificates Valid Results",
	},
	scanSslyze: {
		"Scanned Hostname", "Scanned Port", "Key Type", "Key Length",
		"Signature Algorithm", "Not Before", "Not After", "Highest Served Issuer",
		"Highest Constructed Issuer", "EV Trusted OIDs", "EV Trusted Browsers",
		"Symantec Distrust Date", "Accepted Ciphers", "Errors",
	},
}

// catUnreachable lists boolean headers one of whose values the lab cannot
// produce, by scanner, header and missing value, with the reason.
var catUnreachable = map[string]map[string]map[string]string{
	scanPshtt: {
		// "Publicly trusted" means every public store (Mozilla, Apple,
		// Android, Java, Windows) validates the chain; no lab certificate
		// chains to a public root, and the --pt-int-ca-file re-check needs
		// a chain the custom store already trusts, which a missing
		// intermediate never is with the lab CA file.
		"HTTPS Publicly Trusted": {yes: "no public root in the lab"},
	},
	scanSslyze: {
		// Needs a CA policy OID from the hard-coded browser EV lists in
		// sslyze.py; pki.Spec has no way to set arbitrary policy OIDs.
		"Trusted for EV": {yes: "pki.Spec cannot carry a browser-recognised EV OID"},
		// Needs a chain through the real Symantec roots Chromium distrusts.
		"Is Symantec Cert": {yes: "needs real Symantec roots"},
		// crypto/x509 cannot sign with MD5.
		"MD5 Signed Certificate": {yes: "Go cannot issue an MD5-signed certificate"},
	},
}

// catDeadTargets are redirect targets that deliberately do not exist.
var catDeadTargets = []string{"gone-target.test"}

func TestHeaderLists(t *testing.T) {
	want := map[string]int{scanPshtt: 35, scanTrustymail: 31 + 4, scanSslyze: 40}
	for scanner, headers := range catHeaders {
		if len(headers) != want[scanner] {
			t.Errorf("%s: %d headers, want %d", scanner, len(headers), want[scanner])
		}
		seen := map[string]bool{}
		for _, h := range headers {
			if seen[h] {
				t.Errorf("%s: header %q twice", scanner, h)
			}
			seen[h] = true
		}
		for _, h := range catNonBoolean[scanner] {
			if !seen[h] {
				t.Errorf("%s: non-boolean header %q is not a header", scanner, h)
			}
		}
		for h := range catUnreachable[scanner] {
			if !seen[h] {
				t.Errorf("%s: exception for unknown header %q", scanner, h)
			}
		}
	}
}

// catValidName reports whether name is a valid host name: LDH labels of
// 1–63 characters, no leading or trailing hyphen, at most 253 characters.
// underscore additionally allows "_" (record owner names such as _dmarc).
func catValidName(name string, underscore bool) bool {
	if name == "" || len(name) > 253 || strings.HasSuffix(name, ".") {
		return false
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || underscore && c == '_'
			if !ok {
				return false
			}
		}
	}
	return true
}

func TestCatalogueShape(t *testing.T) {
	cat := Catalogue()
	if len(cat) < 40 {
		t.Fatalf("%d scenarios, want at least 40", len(cat))
	}
	domains := map[string]bool{}
	for _, sc := range cat {
		d := sc.Domain
		switch {
		case domains[d]:
			t.Errorf("domain %s twice", d)
		case !catValidName(d, false):
			t.Errorf("domain %q is not a valid lower-case host name", d)
		case !strings.HasSuffix(d, "."+TLD):
			t.Errorf("domain %s is not under .%s", d, TLD)
		}
		domains[d] = true
		if sc.Summary == "" || strings.ContainsAny(sc.Summary, "\r\n") {
			t.Errorf("%s: summary must be one non-empty line: %q", d, sc.Summary)
		}
		if len(sc.Hosts) == 0 && len(sc.Mail) == 0 && len(sc.DNS) == 0 && len(sc.DNSBehaviour) == 0 {
			t.Errorf("%s: serves nothing", d)
		}
		for label, h := range sc.Hosts {
			if h == nil {
				t.Errorf("%s: host %q is nil", d, label)
				continue
			}
			if strings.HasSuffix(label, ".") || label == "@" || label != "" && !catValidName(label, false) {
				t.Errorf("%s: host label %q must be relative (\"\" for the domain)", d, label)
			}
			if h.TLS.Legacy != nil && (h.HTTPS != nil || h.TLS.StallHandshake) {
				t.Errorf("%s: host %q mixes the legacy responder with crypto/tls", d, label)
			}
		}
		seenMail := map[string]bool{}
		for _, m := range sc.Mail {
			name := fqdn(m.Label, d)
			if m.Label == "" || !catValidName(name, false) || !strings.HasSuffix(name, "."+TLD) {
				t.Errorf("%s: mail label %q gives %q", d, m.Label, name)
			}
			if seenMail[name] {
				t.Errorf("%s: mail server %s twice", d, name)
			}
			seenMail[name] = true
			for port := range m.Ports {
				if port != 25 && port != 587 && port != 465 {
					t.Errorf("%s: mail server %s on port %d", d, name, port)
				}
			}
		}
		for _, line := range sc.DNS {
			label, rest, ok := strings.Cut(line, " ")
			if !ok {
				t.Errorf("%s: DNS line %q has no record", d, line)
				continue
			}
			owner := fqdn(label, d)
			if !catValidName(owner, true) || !strings.HasSuffix(owner, "."+TLD) {
				t.Errorf("%s: DNS owner %q of %q", d, owner, line)
			}
			if _, err := dns.NewRR(fmt.Sprintf("%s. 300 IN %s", owner, rest)); err != nil {
				t.Errorf("%s: DNS line %q: %v", d, line, err)
			}
		}
		for label := range sc.DNSBehaviour {
			if name := fqdn(label, d); !catValidName(name, true) || label != "@" && strings.HasSuffix(label, ".") {
				t.Errorf("%s: DNS behaviour label %q", d, label)
			}
		}
		if sc.PreloadNoSubdomains && !sc.Preloaded && !sc.PreloadPending {
			t.Errorf("%s: PreloadNoSubdomains without a list", d)
		}
		legacy := false
		for _, h := range sc.Hosts {
			if h != nil && h.TLS.Legacy != nil {
				legacy = true
			}
		}
		switch {
		case legacy && sc.Served != servedLegacy:
			t.Errorf("%s: uses TLS.Legacy but Served = %q, want %q", d, sc.Served, servedLegacy)
		case !legacy && sc.Served != "":
			t.Errorf("%s: Served = %q without TLS.Legacy", d, sc.Served)
		}
	}
	// A subdomain scenario needs its parent to be a scenario too (base
	// domain DMARC, base domain preload).
	for d := range domains {
		if strings.Count(d, ".") < 2 {
			continue
		}
		if parent := d[strings.Index(d, ".")+1:]; !domains[parent] {
			t.Errorf("subdomain scenario %s without its base domain %s", d, parent)
		}
	}
}

// catHostNames returns every web and mail host name of the catalogue.
func catHostNames(cat []*Scenario) map[string]bool {
	names := map[string]bool{}
	for _, sc := range cat {
		for label := range sc.Hosts {
			names[fqdn(label, sc.Domain)] = true
		}
		for _, m := range sc.Mail {
			names[fqdn(m.Label, sc.Domain)] = true
		}
	}
	return names
}

// Redirects must point at lab hosts, except the deliberately dead ones.
func TestRedirectTargets(t *testing.T) {
	cat := Catalogue()
	hosts := catHostNames(cat)
	for _, sc := range cat {
		for label, h := range sc.Hosts {
			for _, ep := range []*Endpoint{h.HTTP, h.HTTPS} {
				if ep == nil {
					continue
				}
				eps := []*Endpoint{ep}
				for _, p := range ep.Paths {
					eps = append(eps, p)
				}
				for _, e := range eps {
					if e.Location == "" {
						continue
					}
					u, err := url.Parse(e.Location)
					if err != nil {
						t.Errorf("%s host %q: Location %q: %v", sc.Domain, label, e.Location, err)
						continue
					}
					if u.Host == "" {
						continue // relative
					}
					if !hosts[u.Hostname()] && !slices.Contains(catDeadTargets, u.Hostname()) {
						t.Errorf("%s host %q: Location %q points at no lab host", sc.Domain, label, e.Location)
					}
				}
			}
		}
	}
	for _, dead := range catDeadTargets {
		if hosts[dead] {
			t.Errorf("dead redirect target %s is served", dead)
		}
	}
}

func TestExpectations(t *testing.T) {
	known := map[string]map[string]bool{}
	boolean := map[string]map[string]bool{}
	for scanner, headers := range catHeaders {
		known[scanner] = map[string]bool{}
		boolean[scanner] = map[string]bool{}
		for _, h := range headers {
			known[scanner][h] = true
			boolean[scanner][h] = !slices.Contains(catNonBoolean[scanner], h)
		}
	}
	for _, sc := range Catalogue() {
		d := sc.Domain
		if len(sc.Expect) == 0 {
			t.Errorf("%s: expects nothing", d)
		}
		for scanner, cells := range sc.Expect {
			if known[scanner] == nil {
				t.Errorf("%s: unknown scanner %q", d, scanner)
				continue
			}
			if len(cells) == 0 {
				t.Errorf("%s: empty expectation for %s", d, scanner)
			}
			for h, v := range cells {
				switch {
				case !known[scanner][h]:
					t.Errorf("%s: %s has no header %q", d, scanner, h)
				case boolean[scanner][h] && v != yes && v != no && v != none:
					t.Errorf("%s: %s %q = %q, want True, False or empty", d, scanner, h, v)
				}
			}
		}
		checkCanonical(t, sc)
		checkScannedHost(t, sc)
		checkMailServers(t, sc)
	}
}

// checkCanonical: pshtt's canonical URL is one of the four endpoints.
func checkCanonical(t *testing.T, sc *Scenario) {
	t.Helper()
	got, ok := sc.Expect[scanPshtt]["Canonical URL"]
	if !ok {
		return
	}
	var want []string
	for _, scheme := range []string{"http://", "https://"} {
		want = append(want, scheme+sc.Domain, scheme+"www."+sc.Domain)
	}
	if !slices.Contains(want, got) {
		t.Errorf("%s: Canonical URL %q is none of %v", sc.Domain, got, want)
	}
}

// checkScannedHost: sslyze's first row is the HTTPS host (D or www.D on
// 443) or one of the scenario's mail servers (25, 587, 465).
func checkScannedHost(t *testing.T, sc *Scenario) {
	t.Helper()
	c := sc.Expect[scanSslyze]
	host, ok := c["Scanned Hostname"]
	if !ok {
		if c != nil {
			t.Errorf("%s: sslyze expectation without Scanned Hostname", sc.Domain)
		}
		return
	}
	port := c["Scanned Port"]
	web := false
	for label, h := range sc.Hosts {
		if fqdn(label, sc.Domain) == host {
			web = true
			if h.HTTPS == nil && h.TLS.Legacy == nil {
				t.Errorf("%s: sslyze scans %s, which serves no TLS", sc.Domain, host)
			}
		}
	}
	mail := false
	for _, m := range sc.Mail {
		if fqdn(m.Label, sc.Domain) == host {
			mail = true
		}
	}
	switch {
	case web:
		if port != "" && port != "443" {
			t.Errorf("%s: web host %s scanned on port %q", sc.Domain, host, port)
		}
		if s := c["STARTTLS SMTP"]; s == yes {
			t.Errorf("%s: web host %s scanned with STARTTLS", sc.Domain, host)
		}
	case mail:
		if port != "" && port != "25" && port != "587" && port != "465" {
			t.Errorf("%s: mail host %s scanned on port %q", sc.Domain, host, port)
		}
		if s := c["STARTTLS SMTP"]; s == no {
			t.Errorf("%s: mail host %s scanned without STARTTLS", sc.Domain, host)
		}
		if len(sc.Hosts) > 0 {
			t.Errorf("%s: first sslyze row would be the HTTPS host, not %s", sc.Domain, host)
		}
	default:
		t.Errorf("%s: Scanned Hostname %q is not a host of the scenario", sc.Domain, host)
	}
}

// checkMailServers: trustymail lists the MX hosts in MX order.
func checkMailServers(t *testing.T, sc *Scenario) {
	t.Helper()
	got, ok := sc.Expect[scanTrustymail]["Mail Servers"]
	if !ok || got == "" {
		return
	}
	var want []string
	for _, m := range sc.Mail {
		want = append(want, fqdn(m.Label, sc.Domain))
	}
	if w := strings.Join(want, ", "); got != w {
		t.Errorf("%s: Mail Servers %q, want %q", sc.Domain, got, w)
	}
}

// Every header is asserted somewhere, and every boolean header both ways,
// except the documented exceptions.
func TestCoverage(t *testing.T) {
	values := map[string]map[string]map[string]bool{} // scanner -> header -> cell
	for _, sc := range Catalogue() {
		for scanner, cells := range sc.Expect {
			if values[scanner] == nil {
				values[scanner] = map[string]map[string]bool{}
			}
			for h, v := range cells {
				if values[scanner][h] == nil {
					values[scanner][h] = map[string]bool{}
				}
				values[scanner][h][v] = true
			}
		}
	}
	for scanner, headers := range catHeaders {
		for _, h := range headers {
			seen := values[scanner][h]
			if len(seen) == 0 {
				t.Errorf("%s %q: in no scenario's expectations", scanner, h)
				continue
			}
			if slices.Contains(catNonBoolean[scanner], h) {
				continue
			}
			for _, v := range []string{yes, no} {
				reason, excused := catUnreachable[scanner][h][v]
				switch {
				case !seen[v] && !excused:
					t.Errorf("%s %q: never expected %s", scanner, h, v)
				case seen[v] && excused:
					t.Errorf("%s %q: expected %s somewhere, drop the exception (%s)", scanner, h, v, reason)
				}
			}
		}
	}
}

// catRefs records every pointer, map and slice array reachable from v.
func catRefs(v reflect.Value, path string, seen map[uintptr]string) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice:
		if v.IsNil() || v.Kind() == reflect.Slice && v.Cap() == 0 {
			return
		}
		p := v.Pointer()
		if _, done := seen[p]; done && v.Kind() != reflect.Slice {
			return
		}
		if _, dup := seen[p]; !dup {
			seen[p] = path
		}
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			catRefs(v.Elem(), path, seen)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			catRefs(v.Field(i), path+"."+v.Type().Field(i).Name, seen)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			catRefs(v.Index(i), fmt.Sprintf("%s[%d]", path, i), seen)
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			catRefs(iter.Value(), fmt.Sprintf("%s[%v]", path, iter.Key()), seen)
		}
	}
}

// Two calls share no mutable value, and changing one result does not change
// the next.
func TestCatalogueFresh(t *testing.T) {
	a, b := Catalogue(), Catalogue()
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two calls differ")
	}
	refsA := map[uintptr]string{}
	catRefs(reflect.ValueOf(a), "a", refsA)
	refsB := map[uintptr]string{}
	catRefs(reflect.ValueOf(b), "b", refsB)
	for p, path := range refsB {
		if other, shared := refsA[p]; shared {
			t.Errorf("%s and %s share memory", other, path)
		}
	}

	// Change everything reachable in a; b and a third call must not move.
	for _, sc := range a {
		sc.Domain = "changed." + sc.Domain
		for _, cells := range sc.Expect {
			for h := range cells {
				cells[h] = "changed"
			}
		}
		for _, h := range sc.Hosts {
			h.NoAddress = !h.NoAddress
			for _, ep := range []*Endpoint{h.HTTP, h.HTTPS} {
				if ep != nil {
					ep.Status = 599
					for i := range ep.Header {
						ep.Header[i][1] = "changed"
					}
				}
			}
			h.TLS.Cert.DNSNames = append(h.TLS.Cert.DNSNames, "changed.test")
			for i := range h.TLS.Suites {
				h.TLS.Suites[i] = 0
			}
			if h.TLS.Legacy != nil {
				for i := range h.TLS.Legacy.Suites {
					h.TLS.Legacy.Suites[i] = 0
				}
				h.TLS.Legacy.Versions = nil
			}
		}
		for _, m := range sc.Mail {
			m.Label = "changed"
			for port, beh := range m.Ports {
				beh.GreetingCode = 421
				m.Ports[port] = beh
			}
		}
		for i := range sc.DNS {
			sc.DNS[i] = "changed"
		}
	}
	if c := Catalogue(); !reflect.DeepEqual(b, c) {
		t.Error("changing one call's result changed another's")
	}
}
