package pshtt

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"github.com/domainscan/domain-scan/internal/netx"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/domainscan/domain-scan/internal/domains"
)

// prober runs pshtt's per-endpoint checks (basic_check, https_check,
// hsts_check) with one configuration for the whole run.
type prober struct {
	dial      func(ctx context.Context, network, addr string) (net.Conn, error)
	timeout   time.Duration
	userAgent string
	custom    *x509.CertPool // --ca_file, nil without
	public    *x509.CertPool // the system's roots (nil: unavailable)
	ptInt     *x509.CertPool // --pt_int_ca_file
	client    *http.Client   // first requests: no redirects
	follower  *http.Client   // eventual destination: up to 30 redirects
}

// maxRedirects is requests' limit.
const maxRedirects = 30

func newProber(dial func(ctx context.Context, network, addr string) (net.Conn, error), timeout time.Duration, ua string,
	custom, public, ptInt *x509.CertPool) *prober {
	p := &prober{dial: dial, timeout: timeout, userAgent: ua, custom: custom, public: public, ptInt: ptInt}
	// Certificates are judged by the TLS probe, not by the HTTP client:
	// the client accepts any certificate, as pshtt's retry with
	// verify=False did, and a modern minimum version (TLS 1.2), as the
	// HTTP stack of a current Python would.
	tr := &http.Transport{
		DialContext:            dial,
		TLSClientConfig:        &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12},
		DisableKeepAlives:      true,
		DisableCompression:     true,
		ResponseHeaderTimeout:  timeout,
		TLSHandshakeTimeout:    timeout,
		MaxResponseHeaderBytes: 64 << 10,
	}
	p.client = &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	// The follow accepts what the TLS probe accepts, so that a hop through
	// an old server does not lose the eventual destination.
	ftr := tr.Clone()
	ftr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS10,
		CipherSuites: netx.AllCipherSuites, CurvePreferences: classicCurves}
	p.follower = &http.Client{Transport: ftr, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return errors.New("too many redirects")
		}
		return nil
	}}
	return p
}

// requestOutcome classifies a failed first request as requests' exception
// classes did.
type requestOutcome int

const (
	gotResponse  requestOutcome = iota
	tlsFailure                  // SSLError
	connectError                // ConnectionError: DNS, refused, connect timeout, stalled handshake
	readTimeout                 // connected (and TLS done) but no response headers in time
	otherFailure                // any other RequestException
)

// get makes one request without following redirects and closes the body
// unread: headers decide everything, so an endless body costs nothing.
func (p *prober) get(ctx context.Context, rawURL string) (*http.Response, requestOutcome, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	var connected, tlsDone atomic.Bool
	trace := &httptrace.ClientTrace{
		GotConn:          func(httptrace.GotConnInfo) { connected.Store(true) },
		TLSHandshakeDone: func(_ tls.ConnectionState, err error) { tlsDone.Store(err == nil) },
	}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, otherFailure, err
	}
	req.Header.Set("User-Agent", p.userAgent)
	req.Header.Set("Accept", "*/*")
	resp, err := p.client.Do(req)
	if err == nil {
		resp.Body.Close()
		return resp, gotResponse, nil
	}
	switch {
	case connected.Load() && isTimeout(err):
		return nil, readTimeout, err
	case isTLSError(err) && !isTimeout(err):
		return nil, tlsFailure, err
	case isConnectError(err) || isTimeout(err):
		return nil, connectError, err
	}
	return nil, otherFailure, err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

func isConnectError(err error) bool {
	var oe *net.OpError
	var de *net.DNSError
	return errors.As(err, &oe) || errors.As(err, &de) || errors.Is(err, net.ErrClosed) ||
		strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "EOF")
}

func isTLSError(err error) bool {
	var re tls.RecordHeaderError
	var ae tls.AlertError
	var ce *tls.CertificateVerificationError
	s := err.Error()
	return errors.As(err, &re) || errors.As(err, &ae) || errors.As(err, &ce) ||
		strings.Contains(s, "tls:") || strings.Contains(s, "remote error")
}

// follow returns the final URL after following redirects, or "" when the
// follow failed (too many redirects, timeouts, dead targets), which pshtt
// swallowed. The whole follow is bounded.
func (p *prober) follow(ctx context.Context, rawURL string) string {
	ctx, cancel := context.WithTimeout(ctx, 3*p.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return ""
	}
	req.Header.Set("User-Agent", p.userAgent)
	resp, err := p.follower.Do(req)
	if err != nil {
		return ""
	}
	resp.Body.Close()
	return requestsURL(resp.Request.URL)
}

// requestsURL writes a URL as requests reported it: host lower-cased and
// an empty path as "/".
func requestsURL(u *url.URL) string {
	c := *u
	c.Host = strings.ToLower(c.Host)
	if c.Path == "" && c.RawPath == "" {
		c.Path = "/"
	}
	return c.String()
}

// basicCheck is pshtt's basic_check (and, for HTTPS, https_check) of one
// endpoint.
func (p *prober) basicCheck(ctx context.Context, e *Endpoint) {
	if e.https {
		p.httpsBasicCheck(ctx, e)
		return
	}
	resp, outcome, _ := p.get(ctx, e.URL)
	e.Live = ptr(outcome == gotResponse)
	if outcome == gotResponse {
		p.record(ctx, e, resp)
	}
}

// httpsBasicCheck does for an HTTPS endpoint what pshtt did with a request
// and then sslyze's handshake test, in one connection: the TLS probe
// (which accepts TLS 1.0 and up, as sslyze did), then the GET over the
// same connection when the probe negotiated a version the HTTP client
// would accept (TLS 1.2 and up). The outcomes are the original's:
//   - no handshake: not live, not valid, no full connection;
//   - a handshake the HTTP client refuses (old version, client
//     certificate required) or a request that fails: live through the TLS
//     probe, no full connection, certificate facts;
//   - connected but no response headers in time: not live, nothing else;
//   - a response: live, full connection, certificate facts, response.
func (p *prober) httpsBasicCheck(ctx context.Context, e *Endpoint) {
	probe, conn := p.probeTLS(ctx, e.name)
	if !probe.ok {
		e.Live, e.HTTPSValid, e.HTTPSFullConnection = ptr(false), ptr(false), ptr(false)
		if probe.connected {
			// Something answered on 443 that crypto/tls cannot talk to
			// (SSLv3 only, DHE only ...): the sslyze scanner probes it.
			e.HTTPSHandshakeFailed = true
		}
		return
	}
	if conn == nil || probe.clientAuthRequired {
		e.Live, e.HTTPSValid, e.HTTPSFullConnection = ptr(true), ptr(true), ptr(false)
		p.certFacts(e, probe)
		return
	}
	resp, outcome, err := p.getOver(ctx, conn, e)
	// Only the head was wanted: close now, not after the redirect follow.
	conn.Close()
	if outcome != gotResponse && outcome != readTimeout && probe.asked && isTLSError(err) {
		// TLS 1.3: the server refused the request without a certificate.
		probe.clientAuthRequired = true
		e.HTTPSClientAuthRequired = true
	}
	switch outcome {
	case gotResponse:
		e.Live, e.HTTPSValid, e.HTTPSFullConnection = ptr(true), ptr(true), ptr(true)
		p.certFacts(e, probe)
		p.record(ctx, e, resp)
	case readTimeout:
		e.Live = ptr(false)
	default:
		e.Live, e.HTTPSValid, e.HTTPSFullConnection = ptr(true), ptr(true), ptr(false)
		p.certFacts(e, probe)
	}
}

// getOver sends the first request over an established TLS connection and
// reads the response head only (at most 64 KiB of it, as the HTTP client's
// limit); the body is never read, the caller closes the connection.
func (p *prober) getOver(ctx context.Context, conn *tls.Conn, e *Endpoint) (*http.Response, requestOutcome, error) {
	deadline := time.Now().Add(p.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.URL+"/", nil)
	if err != nil {
		return nil, otherFailure, err
	}
	req.Header.Set("User-Agent", p.userAgent)
	req.Header.Set("Accept", "*/*")
	req.Close = true
	if err := req.Write(conn); err != nil {
		return nil, otherFailure, err
	}
	br := bufio.NewReader(io.LimitReader(conn, 64<<10))
	for {
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			if isTimeout(err) {
				return nil, readTimeout, err
			}
			return nil, otherFailure, err
		}
		// Python's http.client skipped "100 Continue", nothing else.
		if resp.StatusCode == http.StatusContinue {
			continue
		}
		return resp, gotResponse, nil
	}
}

// record keeps what pshtt kept of the first response (step D) and
// characterises a redirect (step E).
func (p *prober) record(ctx context.Context, e *Endpoint, resp *http.Response) {
	for k, vs := range resp.Header {
		e.Headers[k] = strings.Join(vs, ", ")
	}
	e.Status = ptr(resp.StatusCode)
	if s, ok := e.Headers["Server"]; ok {
		e.ServerHeader = ptr(s)
	}
	loc := resp.Header.Get("Location")
	e.Redirect = ptr(loc != "" && strings.HasPrefix(strconv.Itoa(resp.StatusCode), "3"))
	if is(e.Redirect) {
		p.characterize(ctx, e, loc, resp.StatusCode)
	}
	if e.https {
		e.hstsValues = resp.Header.Values("Strict-Transport-Security")
	}
}

// characterize fills the redirect fields (pshtt's step E).
func (p *prober) characterize(ctx context.Context, e *Endpoint, loc string, status int) {
	immediate := loc
	if !strings.HasPrefix(loc, "http:") && !strings.HasPrefix(loc, "https:") {
		immediate = urljoin(e.URL, loc)
	}
	var eventual string
	switch status {
	case 301, 302, 303, 307, 308:
		eventual = p.follow(ctx, e.URL)
	default: // 300, 304, 305 and others are not followed
		eventual = e.URL + "/"
	}
	origHost := e.name
	origBase := domains.BaseDomain(origHost)
	immHost := hostOf(immediate)
	immBase := domains.BaseDomain(immHost)
	e.RedirectImmediatelyTo = ptr(immediate)
	e.RedirectImmediatelyToHTTPS = ptr(strings.HasPrefix(immediate, "https://"))
	e.RedirectImmediatelyToHTTP = ptr(strings.HasPrefix(immediate, "http://"))
	e.RedirectImmediatelyToExternal = ptr(origBase != immBase)
	e.RedirectImmediatelyToSubdom = ptr(origBase == immBase && origHost != immHost)
	e.RedirectImmediatelyToWWW = ptr(immHost == "www."+origHost)
	switch {
	case eventual != "":
		evHost := hostOf(eventual)
		evBase := domains.BaseDomain(evHost)
		e.RedirectEventuallyTo = ptr(eventual)
		e.RedirectEventuallyToHTTPS = ptr(strings.HasPrefix(eventual, "https://"))
		e.RedirectEventuallyToHTTP = ptr(strings.HasPrefix(eventual, "http://"))
		e.RedirectEventuallyToExternal = ptr(origBase != evBase)
		e.RedirectEventuallyToSubdom = ptr(origBase == evBase && origHost != evHost)
	case is(e.RedirectImmediatelyToExternal):
		// "Don't punish the domain for the target's problems."
		e.RedirectEventuallyTo = e.RedirectImmediatelyTo
		e.RedirectEventuallyToHTTPS = e.RedirectImmediatelyToHTTPS
		e.RedirectEventuallyToHTTP = e.RedirectImmediatelyToHTTP
		e.RedirectEventuallyToExternal = e.RedirectImmediatelyToExternal
		e.RedirectEventuallyToSubdom = e.RedirectImmediatelyToSubdom
	}
}

// hostOf is Python's urlparse(u).hostname: the netloc between "//" and the
// path, without user info, port or brackets, lower-cased. It is lenient as
// Python was: bad escapes elsewhere in the URL do not matter.
func hostOf(u string) string {
	_, rest, ok := strings.Cut(u, "//")
	if !ok {
		return ""
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		rest = rest[i+1:]
	}
	if strings.HasPrefix(rest, "[") {
		if i := strings.Index(rest, "]"); i > 0 {
			return strings.ToLower(rest[1:i])
		}
	}
	if i := strings.LastIndex(rest, ":"); i >= 0 {
		rest = rest[:i]
	}
	return strings.ToLower(rest)
}

// urljoin resolves a relative Location against the endpoint URL (which is
// scheme://host, no path), as Python's urljoin did for these cases.
func urljoin(base, loc string) string {
	if strings.HasPrefix(loc, "//") {
		scheme, _, _ := strings.Cut(base, ":")
		return scheme + ":" + loc
	}
	if b, err := url.Parse(base); err == nil {
		if r, err := url.Parse(loc); err == nil {
			return b.ResolveReference(r).String()
		}
	}
	// An unparsable reference (a bad escape): join the text.
	if strings.HasPrefix(loc, "/") {
		return base + loc
	}
	return base + "/" + loc
}

// tlsProbe is what sslyze's connectivity test found.
type tlsProbe struct {
	ok                 bool
	asked              bool // the server asked for a client certificate
	clientAuthRequired bool
	chain              []*x509.Certificate
	ip                 string
	connected          bool // TCP connected, whatever the handshake did
}

// probeTLS makes one handshake accepting every version from TLS 1.0 and
// every suite Go knows, as sslyze's connectivity test tried every protocol.
// A server that asks for a client certificate and fails the handshake
// without one is "client auth required", and still live.
func (p *prober) probeTLS(ctx context.Context, host string) (tlsProbe, *tls.Conn) {
	hctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	var asked atomic.Bool
	cfg := &tls.Config{
		ServerName:         host,
		InsecureSkipVerify: true,
		MinVersion:         tls.VersionTLS10,
		CipherSuites:       netx.AllCipherSuites,
		CurvePreferences:   classicCurves,
		// Servers that ask for a client certificate after the request
		// (IIS) renegotiate; OpenSSL went along.
		Renegotiation: tls.RenegotiateOnceAsClient,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			asked.Store(true)
			return &tls.Certificate{}, nil
		},
	}
	raw, err := p.dial(hctx, "tcp", net.JoinHostPort(host, "443"))
	if err != nil {
		return tlsProbe{}, nil
	}
	if d, ok := hctx.Deadline(); ok {
		raw.SetDeadline(d)
	}
	conn := tls.Client(raw, cfg)
	err = conn.HandshakeContext(hctx)
	res := tlsProbe{ip: addrOf(raw.RemoteAddr()), asked: asked.Load(), connected: true}
	state := conn.ConnectionState()
	switch {
	case err == nil:
		res.ok = true
		res.chain = state.PeerCertificates
	case asked.Load():
		res.ok, res.clientAuthRequired = true, true
		res.chain = state.PeerCertificates
	}
	// Hand the connection on for the request only when the HTTP client
	// would have negotiated it too. A server that asked for a client
	// certificate and still finished the handshake made it optional (TLS
	// 1.2), or says so when the request is refused (TLS 1.3).
	if err == nil && state.Version >= tls.VersionTLS12 {
		raw.SetDeadline(time.Time{})
		return res, conn
	}
	raw.Close()
	return res, nil
}

func addrOf(a net.Addr) string {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return ""
	}
	return ap.Addr().Unmap().String()
}

// classicCurves leaves out the post-quantum hybrid key exchange that Go
// offers by default: it changes nothing a scanner reports and costs several
// times the CPU of X25519 per handshake.
var classicCurves = []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP384, tls.CurveP521}

// netx.AllCipherSuites lets the probe accept any suite Go can speak, old ones included.
