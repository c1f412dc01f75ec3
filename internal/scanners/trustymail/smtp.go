package trustymail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"github.com/domainscan/domain-scan/internal/netx"
	"github.com/domainscan/domain-scan/internal/tlsprobe"
	"io"
	"net"
	"net/netip"
	"net/textproto"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// SMTPResult is what one mail server said on one port.
type SMTPResult struct {
	// Listening: something answered (a greeting, or a TLS handshake on an
	// implicit-TLS port).
	Listening bool `json:"is_listening"`
	// SMTP: the greeting was 220 and EHLO or HELO was accepted.
	SMTP bool `json:"supports_smtp"`
	// STARTTLS: STARTTLS was advertised after EHLO, or the port speaks
	// implicit TLS (465) and SMTP ran over it.
	STARTTLS bool `json:"starttls"`
	// ImplicitTLS: the port spoke TLS from the first byte.
	ImplicitTLS bool `json:"implicit_tls,omitempty"`
	// Negotiated: a TLS handshake completed (after STARTTLS, or implicit).
	Negotiated bool   `json:"tls_negotiated"`
	TLSVersion string `json:"tls_version,omitempty"`
	// CertValid: the certificate chain verifies for the mail server's name
	// against the system roots or --ca_file.
	CertValid bool `json:"certificate_valid"`
	// Credited: the host has only IPv6 addresses and was not probed; it is
	// given credit for SMTP and STARTTLS as trustymail did.
	Credited bool     `json:"credited,omitempty"`
	Errors   []string `json:"errors,omitempty"`
	// Incomplete: no finished probe (not finished before the scan's
	// deadline, not started, or failed internally). Such a result is never
	// kept in the run's cache, and the columns treat its host:port as
	// unknown.
	Incomplete bool `json:"incomplete,omitempty"`
}

// keep says whether the run's cache may keep r for later domains.
// Keep: only finished probes are shared with later domains.
func (r SMTPResult) Keep() bool { return !r.Incomplete }

// maxSMTPRead bounds what one probe reads from a server (greeting, EHLO
// reply, TLS handshake): a hostile server cannot make a probe use more.
const maxSMTPRead = 256 << 10

// smtpProber contacts mail servers.
type smtpProber struct {
	res       *resolver
	dial      func(ctx context.Context, network, addr string) (net.Conn, error)
	timeout   time.Duration // per step (connect, each reply, handshake), as smtplib's socket timeout
	localName string        // --smtp-localhost; "" means this host's FQDN or the address literal
	roots     *x509.CertPool
	dials     atomic.Int64 // connections attempted, for benchmarks
}

// hostAddrs is what a mail server's name resolves to.
type hostAddrs struct {
	v4    []net.IP
	hasV6 bool // no IPv4 address, and IPv6 ones
	err   error
}

// resolve looks up host's addresses. An MX host that is an address
// literal ("192.0.2.1", "[2001:db8::1]") is that address, as the
// original's getaddrinfo took it: an IPv4 literal is probed directly, an
// IPv6 literal is a host without an IPv4 address.
func (p *smtpProber) resolve(ctx context.Context, host string) hostAddrs {
	if a, ok := addrLiteral(host); ok {
		if a.Is4() {
			return hostAddrs{v4: []net.IP{net.IP(a.AsSlice())}}
		}
		return hostAddrs{hasV6: true}
	}
	if p.res == nil {
		return hostAddrs{err: errors.New("no resolver")}
	}
	v4, hasV6, err := p.res.hostAddrs(ctx, host)
	return hostAddrs{v4: v4, hasV6: hasV6, err: err}
}

// addrLiteral parses an IP address literal, with or without brackets
// (IPv4-mapped IPv6 addresses are IPv4).
func addrLiteral(host string) (netip.Addr, bool) {
	h := host
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
	}
	a, err := netip.ParseAddr(h)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// lazyAddrs resolves one host once for all of its ports.
type lazyAddrs struct {
	once  sync.Once
	addrs hostAddrs
}

func (l *lazyAddrs) get(ctx context.Context, p *smtpProber, host string) hostAddrs {
	l.once.Do(func() { l.addrs = p.resolve(ctx, host) })
	return l.addrs
}

// probe checks host:port. It never fails: what went wrong is in Errors.
func (p *smtpProber) probe(ctx context.Context, host string, port int) SMTPResult {
	return p.probeAt(ctx, host, port, p.resolve(ctx, host))
}

// probeAt is probe with host's addresses known.
func (p *smtpProber) probeAt(ctx context.Context, host string, port int, addrs hostAddrs) SMTPResult {
	var r SMTPResult
	v4, hasV6, err := addrs.v4, addrs.hasV6, addrs.err
	if len(v4) == 0 {
		if hasV6 {
			// trustymail's "give them credit" for IPv6-only servers, which
			// it could not reach (PR #117).
			return SMTPResult{Listening: true, SMTP: true, STARTTLS: true, Credited: true,
				Errors: []string{fmt.Sprintf("The mail server %s does not have an IPv4 address.", host)}}
		}
		r.Errors = append(r.Errors, fmt.Sprintf("The mail server %s has no address: %v", host, err))
		return r
	}
	addr := net.JoinHostPort(v4[0].String(), strconv.Itoa(port))
	if port == 465 {
		r, plaintext := p.implicit(ctx, host, addr)
		if !plaintext {
			return r
		}
	}
	return p.plain(ctx, host, addr)
}

func (p *smtpProber) connect(ctx context.Context, addr string) (net.Conn, *limitedConn, func(), error) {
	p.dials.Add(1)
	dctx, cancel := context.WithTimeout(ctx, p.timeout)
	conn, err := p.dial(dctx, "tcp4", addr)
	cancel()
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Err != nil {
			err = op.Err // the address is said by the caller
		}
		return nil, nil, nil, err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	return conn, &limitedConn{Conn: conn, left: maxSMTPRead}, func() { stop(); conn.Close() }, nil
}

// plain is smtplib's connect, ehlo_or_helo_if_needed and has_extn, then
// (unlike trustymail) a real STARTTLS handshake.
func (p *smtpProber) plain(ctx context.Context, host, addr string) SMTPResult {
	var r SMTPResult
	conn, lc, done, err := p.connect(ctx, addr)
	if err != nil {
		r.Errors = append(r.Errors, fmt.Sprintf("connect to %s: %v", addr, err))
		return r
	}
	defer done()
	tp := textproto.NewConn(lc)
	exts, err := p.session(conn, tp, &r)
	if err != nil || !r.SMTP {
		return r
	}
	if exts["starttls"] {
		r.STARTTLS = true
		p.deadline(conn)
		if _, err := tp.Cmd("STARTTLS"); err != nil {
			r.Errors = append(r.Errors, fmt.Sprintf("STARTTLS: %v", err))
			return r
		}
		if code, msg, err := tp.ReadResponse(0); err != nil || code != 220 {
			what := errText(err)
			if err == nil {
				what = fmt.Sprintf("%d %s", code, firstLine(msg))
			}
			r.Errors = append(r.Errors, "STARTTLS refused: "+what)
			return r
		}
		tc := tls.Client(lc, p.tlsConfig(host))
		p.deadline(conn)
		if err := tc.HandshakeContext(ctx); err != nil {
			r.Errors = append(r.Errors, "STARTTLS handshake: "+errText(err))
			return r
		}
		p.judge(tc, host, &r)
		tp = textproto.NewConn(tc)
	}
	p.deadline(conn)
	if _, err := tp.Cmd("QUIT"); err == nil {
		tp.ReadResponse(0)
	}
	return r
}

// implicit speaks TLS first (port 465). plaintext is true when the server
// answered in clear text instead; the caller then tries plain SMTP.
func (p *smtpProber) implicit(ctx context.Context, host, addr string) (r SMTPResult, plaintext bool) {
	conn, lc, done, err := p.connect(ctx, addr)
	if err != nil {
		r.Errors = append(r.Errors, fmt.Sprintf("connect to %s: %v", addr, err))
		return r, false
	}
	defer done()
	tc := tls.Client(lc, p.tlsConfig(host))
	p.deadline(conn)
	if err := tc.HandshakeContext(ctx); err != nil {
		var rhe tls.RecordHeaderError
		if errors.As(err, &rhe) && rhe.Conn != nil && looksLikeSMTP(rhe.RecordHeader[:]) {
			return r, true
		}
		var ne net.Error
		if !(errors.As(err, &ne) && ne.Timeout()) && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
			r.Listening = true // it answered, with TLS we could not agree on
		}
		r.Errors = append(r.Errors, "implicit TLS handshake: "+errText(err))
		return r, false
	}
	r.ImplicitTLS = true
	p.judge(tc, host, &r)
	tp := textproto.NewConn(tc)
	if _, err := p.session(conn, tp, &r); err != nil || !r.SMTP {
		return r, false
	}
	r.STARTTLS = true // the whole session is encrypted
	p.deadline(conn)
	if _, err := tp.Cmd("QUIT"); err == nil {
		tp.ReadResponse(0)
	}
	return r, false
}

// looksLikeSMTP says whether the first bytes of an answer are an SMTP reply
// ("220 …") rather than TLS.
func looksLikeSMTP(b []byte) bool {
	return len(b) >= 3 && b[0] >= '2' && b[0] <= '5' && b[1] >= '0' && b[1] <= '9' && b[2] >= '0' && b[2] <= '9'
}

// ehloKeyword is smtplib's feature pattern for EHLO reply lines.
var ehloKeyword = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*`)

// session reads the greeting and says EHLO (or HELO when EHLO is refused),
// setting Listening and SMTP, and returns the EHLO extensions (lowercase
// keywords). A non-nil error means the connection is no longer usable.
func (p *smtpProber) session(conn net.Conn, tp *textproto.Conn, r *SMTPResult) (map[string]bool, error) {
	p.deadline(conn)
	code, msg, err := tp.ReadResponse(0)
	if err != nil {
		var pe textproto.ProtocolError
		if errors.As(err, &pe) {
			// Something other than SMTP answered: listening, no SMTP.
			r.Listening = true
		}
		r.Errors = append(r.Errors, "greeting: "+errText(err))
		return nil, err
	}
	r.Listening = true
	if code != 220 {
		// RFC 5321 §3.1: a 554 greeting means no SMTP service here
		// (trustymail did not check the code).
		r.Errors = append(r.Errors, fmt.Sprintf("greeting: %d %s", code, firstLine(msg)))
		return nil, nil
	}
	name := p.ehloName(conn)
	p.deadline(conn)
	if _, err := tp.Cmd("EHLO %s", name); err != nil {
		r.Errors = append(r.Errors, fmt.Sprintf("EHLO: %v", err))
		return nil, err
	}
	code, msg, err = tp.ReadResponse(0)
	if err != nil {
		r.Errors = append(r.Errors, "EHLO: "+errText(err))
		return nil, err
	}
	if code/100 == 2 {
		r.SMTP = true
		exts := map[string]bool{}
		if code == 250 {
			// smtplib reads extensions from a 250 reply only, skipping its
			// first line (the server's name).
			lines := strings.Split(msg, "\n")
			for _, l := range lines[1:] {
				if kw := ehloKeyword.FindString(l); kw != "" {
					exts[strings.ToLower(kw)] = true
				}
			}
		}
		return exts, nil
	}
	p.deadline(conn)
	if _, err := tp.Cmd("HELO %s", name); err != nil {
		r.Errors = append(r.Errors, fmt.Sprintf("HELO: %v", err))
		return nil, err
	}
	code, msg, err = tp.ReadResponse(0)
	if err != nil {
		r.Errors = append(r.Errors, "HELO: "+errText(err))
		return nil, err
	}
	if code/100 != 2 {
		r.Errors = append(r.Errors, fmt.Sprintf("EHLO and HELO refused: %d %s", code, firstLine(msg)))
		return nil, nil
	}
	r.SMTP = true
	return map[string]bool{}, nil
}

// maxServerText bounds the server's text quoted in an error.
const maxServerText = 200

// firstLine is the first line of a server's reply text, at most
// maxServerText bytes of it.
func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return clip(s)
}

// clip cuts s to maxServerText bytes (on a character boundary, marking
// the cut) and replaces invalid UTF-8.
func clip(s string) string {
	if len(s) > maxServerText {
		cut := maxServerText
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// errText is an error's text for Errors; errors of reading replies quote
// the server's line, which is clipped.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return clip(err.Error())
}

func (p *smtpProber) deadline(conn net.Conn) { conn.SetDeadline(time.Now().Add(p.timeout)) }

// tlsConfig accepts whatever the server offers (TLS 1.0 to 1.3, every
// suite Go has), so that the negotiated version is the server's choice;
// the certificate is judged separately.
func (p *smtpProber) tlsConfig(host string) *tls.Config {
	return &tls.Config{
		ServerName:         host,
		InsecureSkipVerify: true, // verified in judge, after recording the version
		MinVersion:         tls.VersionTLS10,
		CipherSuites:       netx.AllCipherSuites,
	}
}

// judge records the negotiated version and whether the chain verifies for
// host.
func (p *smtpProber) judge(tc *tls.Conn, host string, r *SMTPResult) {
	st := tc.ConnectionState()
	r.Negotiated = true
	r.TLSVersion = tlsprobe.Version(st.Version).String()
	if len(st.PeerCertificates) == 0 {
		r.Errors = append(r.Errors, "TLS: no certificate")
		return
	}
	inter := x509.NewCertPool()
	for _, c := range st.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := st.PeerCertificates[0].Verify(x509.VerifyOptions{DNSName: host, Roots: p.roots, Intermediates: inter})
	if err != nil {
		var inv x509.CertificateInvalidError
		if errors.As(err, &inv) && inv.Reason == x509.Expired {
			// Without the clock readings, so that rows compare across runs.
			err = errors.New("x509: certificate has expired or is not yet valid")
		}
		// A host name error lists the certificate's names: clipped.
		r.Errors = append(r.Errors, "certificate: "+errText(err))
		return
	}
	r.CertValid = true
}

// ehloName is --smtp-localhost, else this host's name when it is fully
// qualified, else the connection's local address as a literal, which is
// what smtplib sent.
func (p *smtpProber) ehloName(conn net.Conn) string {
	if p.localName != "" {
		return p.localName
	}
	if fqdn := hostFQDN(); fqdn != "" {
		return fqdn
	}
	if a, ok := conn.LocalAddr().(*net.TCPAddr); ok {
		return "[" + a.IP.String() + "]"
	}
	return "[127.0.0.1]"
}

var hostFQDN = sync.OnceValue(func() string {
	h, err := os.Hostname()
	if err != nil || !strings.Contains(h, ".") {
		return ""
	}
	return h
})

// limitedConn fails reads once max bytes were read.
type limitedConn struct {
	net.Conn
	left int64
}

var errTooMuch = errors.New("server sent more than the probe reads")

func (c *limitedConn) Read(b []byte) (int, error) {
	if c.left <= 0 {
		return 0, errTooMuch
	}
	if int64(len(b)) > c.left {
		b = b[:c.left]
	}
	n, err := c.Conn.Read(b)
	c.left -= int64(n)
	return n, err
}
