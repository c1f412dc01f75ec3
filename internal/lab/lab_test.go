package lab

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/domainscan/domain-scan/internal/lab/pki"
	"github.com/domainscan/domain-scan/internal/lab/smtpserver"
)

// startLab starts the whole catalogue once per test binary run.
func startLab(t *testing.T) *Lab {
	t.Helper()
	l, err := Start(context.Background(), Options{HighPorts: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return l
}

// The lab is checked with independent clients: miekg/dns and Go's
// resolver for DNS, net/http and crypto/tls for the web, raw SMTP.
func TestLabServesTheCatalogue(t *testing.T) {
	l := startLab(t)
	nw := l.Network()
	pool := x509.NewCertPool()
	pool.AddCert(l.CA.Root())
	for _, sc := range l.Scenarios {
		t.Run(sc.Domain, func(t *testing.T) {
			t.Parallel()
			checkDNS(t, l, sc)
			for _, label := range sortedKeys(sc.Hosts) {
				name := fqdn(label, sc.Domain)
				h := sc.Hosts[label]
				if h.NoAddress || h.IPv6Only {
					continue
				}
				ip, _ := l.Addr(name)
				if h.HTTP != nil {
					checkHTTP(t, l, ip, name, false, h.HTTP, nil)
				}
				if h.HTTPS != nil && h.TLS.Legacy == nil && !h.TLS.StallHandshake {
					checkTLS(t, l, ip, name, h, pool)
					if !h.TLS.ClientAuth && h.TLS.MaxVersion != tls.VersionTLS10 && h.TLS.MaxVersion != tls.VersionTLS11 {
						checkHTTP(t, l, ip, name, true, h.HTTPS, pool)
					}
				}
				if h.TLS.StallHandshake {
					checkSilent(t, l, ip, 443)
				}
			}
			for _, m := range sc.Mail {
				name := fqdn(m.Label, sc.Domain)
				if m.NoAddress || m.IPv6Only {
					continue
				}
				ip, _ := l.Addr(name)
				for port, b := range m.Ports {
					checkSMTP(t, l, ip, port, b, pool, name)
				}
			}
		})
	}
	_ = nw
}

func exchange(t *testing.T, l *Lab, name string, qtype uint16) (*dns.Msg, error) {
	t.Helper()
	c := &dns.Client{Net: "tcp", Timeout: 2 * time.Second}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	r, _, err := c.Exchange(m, l.DNSAddr)
	return r, err
}

func checkDNS(t *testing.T, l *Lab, sc *Scenario) {
	t.Helper()
	for _, label := range sortedKeys(sc.Hosts) {
		name := fqdn(label, sc.Domain)
		h := sc.Hosts[label]
		_, special := sc.DNSBehaviour[label]
		if _, root := sc.DNSBehaviour["@"]; label == "" && root {
			special = true
		}
		if special {
			continue
		}
		switch {
		case h.NoAddress:
			r, err := exchange(t, l, name, dns.TypeA)
			if err != nil || len(r.Answer) != 0 {
				t.Errorf("%s: A answer %v, %v; want none", name, r, err)
			}
		case h.IPv6Only:
			r, err := exchange(t, l, name, dns.TypeAAAA)
			if err != nil || len(r.Answer) != 1 {
				t.Errorf("%s: AAAA %v, %v", name, r, err)
			}
		default:
			want, _ := l.Addr(name)
			addrs, err := l.Network().Resolver().LookupNetIP(context.Background(), "ip4", name+".")
			if err != nil || len(addrs) != 1 || addrs[0] != want {
				t.Errorf("%s resolves to %v, %v; want %s", name, addrs, err, want)
			}
		}
	}
	if len(sc.Mail) > 0 && !sc.NoMX {
		if _, special := sc.DNSBehaviour["@"]; !special {
			r, err := exchange(t, l, sc.Domain, dns.TypeMX)
			if err != nil {
				t.Fatalf("MX: %v", err)
			}
			var got []string
			for _, rr := range r.Answer {
				if mx, ok := rr.(*dns.MX); ok {
					got = append(got, strings.TrimSuffix(mx.Mx, "."))
				}
			}
			var want []string
			for _, m := range sc.Mail {
				want = append(want, fqdn(m.Label, sc.Domain))
			}
			if !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))) {
				t.Errorf("MX = %v, want %v", got, want)
			}
		}
	}
	for _, line := range sc.DNS {
		abs, _ := absoluteRR(line, sc.Domain)
		rr, err := dns.NewRR(abs)
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if _, special := sc.DNSBehaviour[strings.Fields(line)[0]]; special {
			continue
		}
		r, err := exchange(t, l, rr.Header().Name, rr.Header().Rrtype)
		if err != nil {
			t.Fatalf("%s: %v", rr.Header().Name, err)
		}
		found := false
		for _, a := range r.Answer {
			if dns.IsDuplicate(a, rr) {
				found = true
			}
		}
		if !found {
			t.Errorf("record %q not served; got %v", line, r.Answer)
		}
	}
	for label, b := range sc.DNSBehaviour {
		name := fqdn(label, sc.Domain)
		r, _, err := (&dns.Client{Net: "udp", Timeout: 300 * time.Millisecond}).Exchange(
			new(dns.Msg).SetQuestion(dns.Fqdn(name), dns.TypeA), l.DNSAddr)
		switch {
		case b.Drop:
			if err == nil {
				t.Errorf("%s: answered, want no answer", name)
			}
		case b.Rcode != 0 && b.Delay == 0:
			if err != nil || r.Rcode != b.Rcode {
				t.Errorf("%s: rcode %v, %v; want %s", name, r, err, dns.RcodeToString[b.Rcode])
			}
		}
	}
	if sc.DNSSEC {
		r, err := exchange(t, l, sc.Domain, dns.TypeSOA)
		if err != nil || !r.AuthenticatedData {
			t.Errorf("DNSSEC scenario answered without AD: %v %v", r, err)
		}
	}
}

// dialer reaches a lab host by its address whatever name is asked.
func labDialer(l *Lab, ip netip.Addr) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		_, port, _ := net.SplitHostPort(addr)
		p := 0
		fmt.Sscan(port, &p)
		var d net.Dialer
		return d.DialContext(ctx, network, netip.AddrPortFrom(ip, uint16(l.port(p))).String())
	}
}

func checkHTTP(t *testing.T, l *Lab, ip netip.Addr, name string, https bool, ep *Endpoint, pool *x509.CertPool) {
	t.Helper()
	scheme := "http"
	if https {
		scheme = "https"
	}
	if ep.Trickle && !https {
		checkTrickle(t, l, ip, name)
		return
	}
	timeout := 3 * time.Second
	if ep.Stall {
		timeout = 300 * time.Millisecond
	}
	client := &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{DialContext: labDialer(l, ip),
			TLSClientConfig: &tls.Config{RootCAs: pool, InsecureSkipVerify: true}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	defer client.CloseIdleConnections()
	url := scheme + "://" + name + "/"
	resp, err := client.Get(url)
	if ep.Stall {
		if err == nil {
			resp.Body.Close()
			t.Errorf("%s answered; want a stall", url)
		}
		return
	}
	if err != nil {
		t.Errorf("GET %s: %v", url, err)
		return
	}
	defer resp.Body.Close()
	want := ep
	if p, ok := ep.Paths["/"]; ok {
		want = p
	}
	status := want.Status
	if status == 0 {
		status = 200
	}
	if resp.StatusCode != status {
		t.Errorf("GET %s: status %d, want %d", url, resp.StatusCode, status)
	}
	if want.Location != "" && resp.Header.Get("Location") != want.Location {
		t.Errorf("GET %s: Location %q, want %q", url, resp.Header.Get("Location"), want.Location)
	}
	byName := map[string][]string{}
	for _, kv := range want.Header {
		byName[http.CanonicalHeaderKey(kv[0])] = append(byName[http.CanonicalHeaderKey(kv[0])], kv[1])
	}
	for k, v := range byName {
		if got := resp.Header.Values(k); strings.Join(got, "|") != strings.Join(v, "|") {
			t.Errorf("GET %s: header %s = %q, want %q", url, k, got, v)
		}
	}
	if want.Endless {
		// Headers came; the body keeps coming.
		n, _ := io.CopyN(io.Discard, resp.Body, 200)
		if n != 200 {
			t.Errorf("GET %s: endless body ended after %d bytes", url, n)
		}
	}
}

// checkTrickle: the response head comes, but one byte per second.
func checkTrickle(t *testing.T, l *Lab, ip netip.Addr, name string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", netip.AddrPortFrom(ip, uint16(l.port(80))).String(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", name)
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	first := make([]byte, 1)
	if _, err := io.ReadFull(c, first); err != nil || first[0] != 'H' {
		t.Fatalf("trickle: first byte %q, %v", first, err)
	}
	c.SetReadDeadline(time.Now().Add(1500 * time.Millisecond))
	more, _ := io.ReadAll(c)
	if len(more) > 2 {
		t.Errorf("trickle: %d bytes in 1.5 s, want about one per second", len(more))
	}
}

func checkTLS(t *testing.T, l *Lab, ip netip.Addr, name string, h *Host, pool *x509.CertPool) {
	t.Helper()
	spec := h.TLS.Cert
	min, max := h.TLS.MinVersion, h.TLS.MaxVersion
	if min == 0 {
		min = tls.VersionTLS12
	}
	if max == 0 {
		max = tls.VersionTLS13
	}
	addr := netip.AddrPortFrom(ip, uint16(l.port(443))).String()
	for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11, tls.VersionTLS12, tls.VersionTLS13} {
		cfg := &tls.Config{ServerName: name, InsecureSkipVerify: true, MinVersion: v, MaxVersion: v}
		if v < tls.VersionTLS12 {
			cfg.CipherSuites = allSuites()
		}
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", addr, cfg)
		if err == nil && h.TLS.ClientAuth {
			// TLS 1.3 reports a missing client certificate on first read.
			conn.SetDeadline(time.Now().Add(2 * time.Second))
			_, err = conn.Read(make([]byte, 1))
			if err == nil || errors.Is(err, io.EOF) {
				err = errors.New("no error")
			}
		}
		supported := v >= min && v <= max
		switch {
		case h.TLS.ClientAuth && supported:
			// Without a client certificate the handshake (TLS 1.2) or the
			// first read (TLS 1.3) fails.
			if err == nil {
				t.Errorf("%s at %x: no error; want a client-certificate failure", name, v)
			}
		case supported && err != nil:
			t.Errorf("%s: TLS %x refused: %v", name, v, err)
		case !supported && err == nil:
			t.Errorf("%s: TLS %x accepted; configured %x-%x", name, v, min, max)
		}
		if err == nil {
			checkCert(t, name, conn.ConnectionState().PeerCertificates, spec, pool)
			conn.Close()
		}
	}
	for _, s := range h.TLS.Suites {
		if max < tls.VersionTLS12 || min > tls.VersionTLS12 {
			break
		}
		cfg := &tls.Config{ServerName: name, InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{s}}
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", addr, cfg)
		if err != nil {
			t.Errorf("%s: suite %s refused: %v", name, tls.CipherSuiteName(s), err)
			continue
		}
		if got := conn.ConnectionState().CipherSuite; got != s {
			t.Errorf("%s: negotiated %s, want %s", name, tls.CipherSuiteName(got), tls.CipherSuiteName(s))
		}
		conn.Close()
	}
}

func allSuites() []uint16 {
	var out []uint16
	for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		out = append(out, s.ID)
	}
	return out
}

// checkCert asserts the served chain has the properties of its spec.
func checkCert(t *testing.T, name string, chain []*x509.Certificate, spec pki.Spec, pool *x509.CertPool) {
	t.Helper()
	if len(chain) == 0 {
		t.Errorf("%s: no certificate", name)
		return
	}
	leaf := chain[0]
	wantLen := 2
	switch {
	case spec.Issuer == pki.SelfSigned:
		wantLen = 1
	case spec.Chain == pki.LeafOnly:
		wantLen = 1
	case spec.Chain == pki.WithRoot && spec.Issuer == pki.ByUntrustedRoot:
		wantLen = 2
	case spec.Chain == pki.WithRoot:
		wantLen = 3
	case spec.Issuer == pki.ByRoot:
		wantLen = 1
	}
	if len(chain) != wantLen && spec.Issuer != pki.ByRoot {
		t.Errorf("%s: served %d certificates, want %d", name, len(chain), wantLen)
	}
	switch spec.Key {
	case pki.RSA1024, pki.RSA2048:
		want := 2048
		if spec.Key == pki.RSA1024 {
			want = 1024
		}
		if k, ok := leaf.PublicKey.(*rsa.PublicKey); !ok || k.N.BitLen() != want {
			t.Errorf("%s: key %T, want RSA-%d", name, leaf.PublicKey, want)
		}
	case pki.ECDSAP256, pki.ECDSAP384:
		want := 256
		if spec.Key == pki.ECDSAP384 {
			want = 384
		}
		if k, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok || k.Curve.Params().BitSize != want {
			t.Errorf("%s: key %T, want ECDSA P-%d", name, leaf.PublicKey, want)
		}
	}
	now := time.Now()
	if spec.Expired != leaf.NotAfter.Before(now) {
		t.Errorf("%s: NotAfter %s, expired wanted %v", name, leaf.NotAfter, spec.Expired)
	}
	if spec.NotYetValid != leaf.NotBefore.After(now) {
		t.Errorf("%s: NotBefore %s, not-yet-valid wanted %v", name, leaf.NotBefore, spec.NotYetValid)
	}
	if spec.SHA1 != (leaf.SignatureAlgorithm == x509.SHA1WithRSA || leaf.SignatureAlgorithm == x509.ECDSAWithSHA1) {
		t.Errorf("%s: signature %s, SHA-1 wanted %v", name, leaf.SignatureAlgorithm, spec.SHA1)
	}
	// A plain certificate verifies against the lab root for its own name.
	plain := spec.Issuer == pki.ByIntermediate && spec.Chain != pki.LeafOnly && !spec.Expired && !spec.NotYetValid &&
		!spec.ExpiredIntermediate && len(spec.DNSNames) == 0 && spec.CommonName == "" && !spec.SHA1 && !spec.SHA1Intermediate
	if plain {
		inter := x509.NewCertPool()
		for _, c := range chain[1:] {
			inter.AddCert(c)
		}
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: pool, Intermediates: inter}); err != nil {
			t.Errorf("%s: certificate does not verify: %v", name, err)
		}
	}
}

func checkSilent(t *testing.T, l *Lab, ip netip.Addr, port int) {
	t.Helper()
	c, err := net.DialTimeout("tcp", netip.AddrPortFrom(ip, uint16(l.port(port))).String(), 2*time.Second)
	if err != nil {
		t.Errorf("%s:%d: %v", ip, port, err)
		return
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Errorf("%s:%d spoke; want silence", ip, port)
	}
}

func checkSMTP(t *testing.T, l *Lab, ip netip.Addr, port int, b smtpserver.Behaviour, pool *x509.CertPool, name string) {
	t.Helper()
	addr := netip.AddrPortFrom(ip, uint16(l.port(port))).String()
	if b.Silent {
		checkSilent(t, l, ip, port)
		return
	}
	var c net.Conn
	var err error
	if b.Implicit {
		c, err = tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", addr, &tls.Config{ServerName: name, RootCAs: pool})
	} else {
		c, err = net.DialTimeout("tcp", addr, 2*time.Second)
	}
	if err != nil {
		t.Errorf("%s port %d: %v", name, port, err)
		return
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	r := bufio.NewReader(c)
	banner, err := r.ReadString('\n')
	if err != nil {
		t.Errorf("%s port %d: no banner: %v", name, port, err)
		return
	}
	wantCode := "220"
	if b.GreetingCode != 0 {
		wantCode = fmt.Sprint(b.GreetingCode)
	}
	if b.Banner != "" {
		wantCode = b.Banner[:3]
	}
	if !strings.HasPrefix(banner, wantCode) {
		t.Errorf("%s port %d: banner %q, want code %s", name, port, banner, wantCode)
	}
	if b.CloseAfterGreeting {
		return
	}
	fmt.Fprintf(c, "EHLO scanner.test\r\n")
	var lines []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Errorf("%s port %d: EHLO: %v (after %q)", name, port, err, lines)
			return
		}
		lines = append(lines, strings.TrimSpace(line))
		if len(line) < 4 || line[3] != '-' {
			break
		}
	}
	wantEHLO := "250"
	if b.EHLOCode != 0 {
		wantEHLO = fmt.Sprint(b.EHLOCode)
	}
	if !strings.HasPrefix(lines[0], wantEHLO) {
		t.Errorf("%s port %d: EHLO answered %q, want %s", name, port, lines, wantEHLO)
	}
	starttls := false
	for _, line := range lines {
		if strings.EqualFold(strings.TrimSpace(line[min(4, len(line)):]), "STARTTLS") {
			starttls = true
		}
	}
	if starttls != (b.StartTLS && !b.Implicit && wantEHLO == "250") {
		t.Errorf("%s port %d: STARTTLS offered %v, want %v (%q)", name, port, starttls, b.StartTLS, lines)
	}
}

func TestSyntheticAnswers(t *testing.T) {
	l, err := Start(context.Background(), Options{Synthetic: 1000, HighPorts: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	nw := l.Network()
	client := &http.Client{
		Timeout:       3 * time.Second,
		Transport:     &http.Transport{DialContext: nw.DialContext, TLSClientConfig: &tls.Config{RootCAs: l.CA.RootPool()}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	defer client.CloseIdleConnections()
	for i := range 2 * synthKinds {
		name := SyntheticName(i)
		resp, err := client.Get("http://" + name + "/")
		if i%synthKinds == synthGone {
			var de *net.DNSError
			if !errors.As(err, &de) || !de.IsNotFound {
				t.Errorf("%s: %v, want NXDOMAIN", name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		resp.Body.Close()
		want := map[int]int{synthEnforced: 301, synthHTTPOnly: 200, synthHTTPSOnly: 200, synthWWW: 301, synthExpired: 200}[i%synthKinds]
		if resp.StatusCode != want {
			t.Errorf("%s: status %d, want %d", name, resp.StatusCode, want)
		}
		resp, err = client.Get("https://" + name + "/")
		switch i % synthKinds {
		case synthHTTPOnly:
			if err == nil {
				resp.Body.Close()
				t.Errorf("%s: https answered", name)
			}
		case synthExpired:
			if err == nil || !strings.Contains(err.Error(), "expired") {
				t.Errorf("%s: https %v, want an expired certificate", name, err)
			}
		default:
			if err != nil {
				t.Errorf("%s: https: %v", name, err)
			} else {
				resp.Body.Close()
			}
		}
	}
}

func TestEnvAndFlags(t *testing.T) {
	l := startLab(t)
	env := strings.Join(l.Env(), "\n")
	for _, want := range []string{"DNS=" + l.DNSAddr, "CA_FILE=" + l.CAFile, "PORT_MAP=25=10025,80=18080,443=18443", "SCAN_FLAGS=--dns="} {
		if !strings.Contains(env, want) {
			t.Errorf("Env lacks %q:\n%s", want, env)
		}
	}
	// The preload lists are served over HTTPS by the lab.
	nw := l.Network()
	client := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DialContext: nw.DialContext,
		TLSClientConfig: &tls.Config{RootCAs: l.CA.RootPool()}}}
	defer client.CloseIdleConnections()
	for _, u := range []string{l.PreloadURL, l.PendingURL} {
		resp, err := client.Get(u)
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(b) == 0 {
			t.Errorf("%s: %d %q", u, resp.StatusCode, b)
		}
	}
}
