// Package sslyze is a native Go implementation of domain-scan's sslyze
// scanner: for the HTTPS host of a domain and each of its STARTTLS mail
// servers, the protocol versions and cipher suites accepted (probed with
// raw ClientHellos, package tlsprobe) and the certificate facts, in the
// original's 40 columns, one row per endpoint (spec/scanners.md §3).
package sslyze

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/domainscan/domain-scan/internal/runcache"
	"github.com/domainscan/domain-scan/internal/scan"
	"github.com/domainscan/domain-scan/internal/tlsprobe"
)

// Defaults.
const (
	DefaultTimeout  = 5 * time.Second  // one exchange (sslyze's network_timeout)
	DefaultDeadline = 30 * time.Second // one endpoint, all probes
)

// Concurrency bounds: endpoints of one domain scanned at once, and mail
// server scans at once in the whole run (mail servers are shared by many
// domains, so the per-domain bound alone does not bound them).
const (
	domainConcurrency = 4
	mailConcurrency   = 64
)

// Errors of rows that hold no scan.
const (
	errNotFinished = "Not finished before the scan's deadline."
	errMailBusy    = "Not scanned: too many mail servers were being scanned at once."
)

// Scanner is the sslyze scanner.
type Scanner struct {
	certs    flagBool
	reneg    flagBool
	serial   flagBool
	timeout  time.Duration
	deadline time.Duration

	dial     func(ctx context.Context, network, addr string) (net.Conn, error)
	roots    []*x509.Certificate
	remote   bool
	useCache bool
	mail     runcache.Memo[Row]
	mailSem  chan struct{} // run-wide bound of mail server scans at once
	conns    atomic.Int64
	now      func() time.Time
}

var (
	_ scan.Scanner     = (*Scanner)(nil)
	_ scan.FlagDefiner = (*Scanner)(nil)
	_ scan.Initializer = (*Scanner)(nil)
	_ scan.Preparer    = (*Scanner)(nil)
	_ scan.Observer    = (*Scanner)(nil)
)

// New returns an sslyze scanner with the defaults.
func New() *Scanner {
	return &Scanner{certs: true, reneg: true, timeout: DefaultTimeout, deadline: DefaultDeadline, now: time.Now}
}

// Info describes the scanner.
func (*Scanner) Info() scan.Info {
	return scan.Info{
		Name:           "sslyze",
		Summary:        "TLS versions, cipher suites and certificates of the web host and the STARTTLS mail servers (sslyze)",
		Headers:        Headers,
		DependsOn:      []string{"pshtt", "trustymail"},
		Lambda:         true,
		LambdaTimeout:  5 * time.Minute,
		LambdaMemoryMB: 256,
	}
}

// DefineFlags adds the original's sslyze flags (they take a value, as in
// the original) and two time limits.
func (s *Scanner) DefineFlags(fs *flag.FlagSet) {
	fs.Var(&s.certs, "sslyze-certs", "check the certificates (true or false)")
	fs.Var(&s.reneg, "sslyze-reneg", "check secure renegotiation (true or false)")
	fs.Var(&s.serial, "sslyze-serial", "probe one connection at a time per endpoint (true or false)")
	fs.Var(scan.SecondsFlag{D: &s.timeout, Max: time.Hour}, "sslyze-timeout", "time limit of one connection (connect, hello, answer), seconds or a duration")
	fs.Var(scan.SecondsFlag{D: &s.deadline, Max: time.Hour}, "sslyze-deadline", "time limit of all probes of one endpoint, seconds or a duration")
}

// Init sets up dialing and the trust anchors.
func (s *Scanner) Init(_ context.Context, run scan.Run) error {
	s.dial = (&net.Dialer{}).DialContext
	if run.Net != nil {
		s.dial = run.Net.DialContext
	}
	roots, err := loadRoots(run.CAFile)
	if err != nil {
		return fmt.Errorf("--ca_file: %w", err)
	}
	s.roots = roots
	s.remote = run.Remote
	s.useCache = !run.NoFastCache
	if s.mailSem == nil {
		s.mailSem = make(chan struct{}, mailConcurrency)
	}
	return nil
}

// Connections is how many connections the scanner opened so far.
func (s *Scanner) Connections() int64 { return s.conns.Load() }

// NewResult returns an empty result.
func (*Scanner) NewResult() scan.Result { return &Result{} }

// Scan probes the job's endpoints (from Prepare), each within the
// endpoint deadline, several at once.
func (s *Scanner) Scan(ctx context.Context, job scan.Job) (scan.Result, error) {
	if s.dial == nil {
		return nil, errors.New("sslyze: not initialised")
	}
	var in inputs
	if len(job.Inputs) > 0 {
		if err := json.Unmarshal(job.Inputs, &in); err != nil {
			return nil, fmt.Errorf("sslyze inputs: %w", err)
		}
	} else {
		in.Targets = []target{{Host: job.Domain, Port: 443}}
	}
	if s.useCache {
		for k, r := range in.Cached {
			if !r.Incomplete {
				s.mail.Put(k, r)
			}
		}
	}
	res := make(Result, len(in.Targets))
	var wg sync.WaitGroup
	sem := make(chan struct{}, domainConcurrency)
	for i, t := range in.Targets {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				res[i] = incompleteRow(t, errNotFinished)
				return
			}
			defer func() { <-sem }()
			if ctx.Err() != nil { // both were ready
				res[i] = incompleteRow(t, errNotFinished)
				return
			}
			defer func() {
				if v := recover(); v != nil {
					res[i] = internalErrorRow(t, v)
				}
			}()
			if !t.Mail {
				res[i] = s.scanTarget(ctx, t)
				return
			}
			if !s.useCache {
				res[i] = s.scanMail(ctx, t)
				return
			}
			// Mail servers are shared between domains: one scan per run,
			// bound to its own deadline, not to the first domain's.
			scanOne := func() Row { return s.scanMail(context.WithoutCancel(ctx), t) }
			failed := func(v any) Row { return internalErrorRow(t, v) }
			if r, ok := s.mail.Get(ctx, t.key(), scanOne, failed); ok {
				res[i] = r
				return
			}
			res[i] = incompleteRow(t, errNotFinished)
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil && errors.Is(context.Cause(ctx), context.Canceled) {
		return nil, err
	}
	return &res, nil
}

// incompleteRow is the row of an endpoint that was not scanned, or whose
// scan did not finish: it is never kept in the run's cache.
func incompleteRow(t target, why string) Row {
	return Row{Hostname: t.Host, Port: t.Port, STARTTLS: t.STARTTLS, Mail: t.Mail, Errors: ptr(why), Incomplete: true}
}

// internalErrorRow is the row of a scan that panicked.
func internalErrorRow(t target, v any) Row {
	return incompleteRow(t, fmt.Sprintf("internal error: %v", v))
}

// Observe keeps the mail server rows of results that came back from
// Lambda for later domains of the run (never rows without a finished
// scan).
func (s *Scanner) Observe(_ scan.Target, r scan.Result) {
	res, ok := r.(*Result)
	if !ok || res == nil || !s.useCache {
		return
	}
	for _, row := range *res {
		if row.Mail && !row.Incomplete {
			s.mail.Put(target{Host: row.Hostname, Port: row.Port, STARTTLS: row.STARTTLS}.key(), row)
		}
	}
}

// scanMail is scanTarget for a mail server, within the run-wide bound of
// mail server scans at once; the wait ends with ctx or after one endpoint
// deadline.
func (s *Scanner) scanMail(ctx context.Context, t target) Row {
	if s.mailSem != nil {
		wctx, cancel := context.WithTimeout(ctx, s.deadline)
		select {
		case s.mailSem <- struct{}{}:
			cancel()
			defer func() { <-s.mailSem }()
		case <-wctx.Done():
			cancel()
			if ctx.Err() != nil {
				return incompleteRow(t, errNotFinished)
			}
			return incompleteRow(t, errMailBusy)
		}
	}
	return s.scanTarget(ctx, t)
}

// scanTarget is one endpoint's row, within the endpoint deadline.
func (s *Scanner) scanTarget(ctx context.Context, t target) Row {
	ctx, cancel := context.WithTimeout(ctx, s.deadline)
	defer cancel()
	var conns atomic.Int64
	row := s.probeTarget(ctx, t, &conns)
	row.Connections = int(conns.Load())
	s.conns.Add(conns.Load())
	return row
}

func (s *Scanner) probeTarget(ctx context.Context, t target, conns *atomic.Int64) Row {
	row := Row{Hostname: t.Host, Port: t.Port, STARTTLS: t.STARTTLS, Mail: t.Mail}
	addr := net.JoinHostPort(t.Host, strconv.Itoa(t.Port))
	dial := func(ctx context.Context) (net.Conn, error) {
		conns.Add(1)
		dctx, cancel := context.WithTimeout(ctx, s.timeout)
		defer cancel()
		c, err := s.dial(dctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		if t.STARTTLS {
			if err := tlsprobe.SMTPStartTLS(dctx, c, "sslyze.scan"); err != nil {
				c.Close()
				return nil, err
			}
		}
		return c, nil
	}
	notConnected := func() Row {
		row.Errors = ptr("Connectivity not established.")
		return row
	}
	// sslyze's connectivity test: the endpoint must be reachable (and
	// agree to STARTTLS).
	c, err := dial(ctx)
	if err != nil {
		return notConnected()
	}
	c.Close()

	// One retry of an exchange that failed to connect, was dropped or
	// timed out: a single lost connection must not end a version's
	// enumeration early.
	cfg := tlsprobe.Config{ServerName: t.Host, Dial: dial, Timeout: s.timeout,
		Concurrency: len(tlsprobe.Versions), WantCertificates: bool(s.certs), Retries: 1}
	if s.serial {
		cfg.Concurrency = 1
	}
	results := tlsprobe.ProbeAll(ctx, cfg, tlsprobe.Versions...)
	accepted := make([][]tlsprobe.Suite, len(tlsprobe.Versions))
	total := 0
	for i, r := range results {
		accepted[i] = r.Accepted
		total += len(r.Accepted)
	}
	if total == 0 {
		// No version could be negotiated: sslyze's connectivity test failed.
		return notConnected()
	}
	if msg := incompleteProtocols(ctx, results); msg != "" {
		// sslyze filled the protocol and suite columns only when all six
		// protocol scans returned (spec §3.3 item 4): a version whose
		// enumeration was cut short would read as refused.
		row.Errors = ptr(msg)
	} else {
		applyProtocols(&row, accepted)
	}

	// The first hello of the best version before TLS 1.3 shows secure
	// renegotiation and the certificate chain (in clear before TLS 1.3).
	var served []*x509.Certificate
	if best := bestLegacy(accepted); best >= 0 {
		v, first := tlsprobe.Versions[best], results[best].First
		if first.Kind == tlsprobe.ServerHello && first.Version == v {
			if s.reneg && v != tlsprobe.SSL20 {
				row.InsecureReneg = ptr(!first.SecureRenegotiation)
			}
			served = parseChain(first.Certificates)
		}
	}
	if s.certs {
		if len(served) == 0 {
			served = s.fetchChain(ctx, dial, t.Host)
		}
		if len(served) > 0 {
			applyCertificates(&row, served, s.roots, s.now())
		}
	}
	return row
}

// incompleteProtocols says which versions' enumerations were cut short —
// the last exchange timed out or could not connect (after its retry), or
// the endpoint deadline ended it — as the Errors text, or "" when every
// enumeration ended with the server's own answer. A refusal (an alert, a
// hang-up, bytes that are not TLS, another version chosen) ends an
// enumeration normally.
func incompleteProtocols(ctx context.Context, results []tlsprobe.Result) string {
	var parts []string
	for _, r := range results {
		switch r.Last.Kind {
		case tlsprobe.Timeout:
			parts = append(parts, r.Version.String()+" timed out")
		case tlsprobe.ConnectFailed:
			parts = append(parts, r.Version.String()+" could not connect")
		case 0:
			parts = append(parts, r.Version.String()+" could not be probed")
		}
	}
	if len(parts) == 0 {
		return ""
	}
	msg := "Protocol scan incomplete: " + strings.Join(parts, ", ")
	if ctx.Err() != nil {
		msg += " (endpoint deadline reached)"
	}
	return msg + "."
}

// bestLegacy is the index in tlsprobe.Versions of the highest version
// before TLS 1.3 with an accepted suite, or -1.
func bestLegacy(accepted [][]tlsprobe.Suite) int {
	for i := len(tlsprobe.Versions) - 1; i >= 0; i-- {
		if tlsprobe.Versions[i] != tlsprobe.TLS13 && len(accepted[i]) > 0 {
			return i
		}
	}
	return -1
}

// parseChain parses the served chain, skipping certificates that do not
// parse; without a parsable leaf there is no chain.
func parseChain(ders [][]byte) []*x509.Certificate {
	var out []*x509.Certificate
	for i, d := range ders {
		c, err := x509.ParseCertificate(d)
		if err != nil {
			if i == 0 {
				return nil
			}
			continue
		}
		out = append(out, c)
	}
	return out
}

// fetchChain gets the served chain with a crypto/tls handshake, for
// servers whose certificate only travels encrypted (TLS 1.3).
func (s *Scanner) fetchChain(ctx context.Context, dial func(context.Context) (net.Conn, error), host string) []*x509.Certificate {
	c, err := dial(ctx)
	if err != nil {
		return nil
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(s.timeout))
	cfg := &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS10} // the chain is judged by buildChain
	if net.ParseIP(host) == nil {
		cfg.ServerName = host
	}
	tc := tls.Client(c, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil
	}
	return tc.ConnectionState().PeerCertificates
}

// applyProtocols fills the protocol and suite columns (spec §3.4), with the
// original's name tests except where they never worked.
func applyProtocols(row *Row, accepted [][]tlsprobe.Suite) {
	flags := []**bool{&row.SSLv2, &row.SSLv3, &row.TLS10, &row.TLS11, &row.TLS12, &row.TLS13}
	var names []string
	var all []tlsprobe.Suite
	for i, a := range accepted {
		*flags[i] = ptr(len(a) > 0)
		sorted := append([]tlsprobe.Suite{}, a...)
		sort.SliceStable(sorted, func(x, y int) bool { return sorted[x].IANA > sorted[y].IANA })
		for _, su := range sorted {
			names = append(names, su.IANA)
		}
		all = append(all, a...)
	}
	row.Ciphers = ptr(strings.Join(names, ", "))
	anyOf := func(f func(tlsprobe.Suite) bool) *bool {
		for _, su := range all {
			if f(su) {
				return ptr(true)
			}
		}
		return ptr(false)
	}
	allOf := func(f func(tlsprobe.Suite) bool) *bool {
		for _, su := range all {
			if !f(su) {
				return ptr(false)
			}
		}
		return ptr(true)
	}
	fs := func(su tlsprobe.Suite) bool { return su.ForwardSecret }
	rc4 := func(su tlsprobe.Suite) bool { return strings.Contains(su.OpenSSL, "RC4") }
	row.AnyFS, row.AllFS = anyOf(fs), allOf(fs)
	row.AnyRC4, row.AllRC4 = anyOf(rc4), allOf(rc4)
	row.Any3DES = anyOf(func(su tlsprobe.Suite) bool {
		return strings.Contains(su.OpenSSL, "3DES") || strings.Contains(su.OpenSSL, "DES-CBC3")
	})
	row.AnyExport = anyOf(func(su tlsprobe.Suite) bool { return su.Export })
	row.AnyNULL = anyOf(func(su tlsprobe.Suite) bool { return strings.Contains(su.OpenSSL, "NULL") })
	row.AnyMD5 = anyOf(func(su tlsprobe.Suite) bool { return strings.Contains(su.OpenSSL, "MD5") })
	row.AnyLessThan = anyOf(func(su tlsprobe.Suite) bool { return su.KeyBits < 128 })
}

// flagBool is a flag that takes a value (--sslyze-certs=false), as the
// original's string flags did.
type flagBool bool

func (f *flagBool) String() string { return strconv.FormatBool(bool(*f)) }

// Type names the value in --help.
func (f *flagBool) Type() string { return "true|false" }

func (f *flagBool) Set(v string) error {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes", "on", "t", "y":
		*f = true
	case "0", "false", "no", "off", "f", "n", "":
		*f = false
	default:
		return fmt.Errorf("%q: want true or false", v)
	}
	return nil
}
