// Package trustymail is a native Go implementation of DHS NCATS'
// trustymail as 18F domain-scan ran it: MX, STARTTLS, SPF, DMARC and the
// DNSSEC flags of a domain, in the wrapper's 31 columns (spec/scanners.md
// §2), plus what a real TLS handshake with each mail server shows.
package trustymail

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/domainscan/domain-scan/internal/domains"
	"github.com/domainscan/domain-scan/internal/netx"
	"github.com/domainscan/domain-scan/internal/runcache"
	"github.com/domainscan/domain-scan/internal/scan"
)

// Defaults of the domain-scan wrapper.
const (
	DefaultTimeout     = 30 * time.Second // DNS, per lookup
	DefaultSMTPTimeout = 5 * time.Second  // SMTP, per step
)

// DefaultPorts are the SMTP ports, in the order the original listed them
// (the iteration order of Python's set {25, 465, 587}).
var DefaultPorts = []int{25, 587, 465}

// Scanner is the trustymail scanner.
type Scanner struct {
	timeout       time.Duration
	smtpTimeout   time.Duration
	smtpLocalhost string
	ports         portsFlag
	noSMTPCache   boolish
	onlyMX        bool
	onlySPF       bool
	onlyDMARC     bool
	onlySTARTTLS  bool

	remote   bool
	useCache bool
	res      *resolver
	prober   *smtpProber
	smtpSem  chan struct{} // run-wide bound of SMTP probes at once
	smtp     runcache.Memo[SMTPResult]
	base     runcache.Memo[*domainState]
}

// Bounds of the STARTTLS check.
const (
	// maxMailServers is how many mail servers of one domain are probed;
	// the rest are listed (Mail Servers) but not tested.
	maxMailServers = 32
	// smtpConcurrency bounds the SMTP probes of the whole run at once.
	smtpConcurrency = 256
)

var (
	_ scan.Scanner     = (*Scanner)(nil)
	_ scan.FlagDefiner = (*Scanner)(nil)
	_ scan.Initializer = (*Scanner)(nil)
	_ scan.Preparer    = (*Scanner)(nil)
	_ scan.Observer    = (*Scanner)(nil)
)

// New returns a trustymail scanner with domain-scan's defaults.
func New() *Scanner {
	return &Scanner{timeout: DefaultTimeout, smtpTimeout: DefaultSMTPTimeout, ports: append(portsFlag{}, DefaultPorts...)}
}

// Info describes the scanner.
func (*Scanner) Info() scan.Info {
	return scan.Info{
		Name:    "trustymail",
		Summary: "email security: MX, STARTTLS, SPF, DMARC and DNSSEC flags (trustymail)",
		Headers: Headers,
		Lambda:  true,
		// A few DNS timeouts and SMTP steps per mail server; room for batches.
		LambdaTimeout:  5 * time.Minute,
		LambdaMemoryMB: 256,
	}
}

// DefineFlags adds the original's trustymail flags.
func (s *Scanner) DefineFlags(fs *flag.FlagSet) {
	fs.Var(scan.SecondsFlag{D: &s.timeout, Max: time.Hour}, "timeout", "trustymail's DNS time limit per lookup, seconds or a duration")
	fs.Var(scan.SecondsFlag{D: &s.smtpTimeout, Max: time.Hour}, "smtp-timeout", "trustymail's SMTP time limit per step (connect, each reply, TLS handshake)")
	fs.StringVar(&s.smtpLocalhost, "smtp-localhost", "", "name to say in EHLO/HELO (default: this host's FQDN, else its address)")
	fs.Var(&s.ports, "smtp-ports", "comma-separated SMTP ports to test; 465 is tested as implicit TLS")
	fs.Var(&s.noSMTPCache, "no-smtp-cache", "contact every mail server again for each domain that uses it (takes a value, as in the original: --no-smtp-cache=true)")
	fs.BoolVar(&s.onlyMX, "mx", false, "trustymail: check MX records (with --spf/--dmarc/--starttls: only those checks)")
	fs.BoolVar(&s.onlySPF, "spf", false, "trustymail: check SPF only (with the others given)")
	fs.BoolVar(&s.onlyDMARC, "dmarc", false, "trustymail: check DMARC only (with the others given)")
	fs.BoolVar(&s.onlySTARTTLS, "starttls", false, "trustymail: check MX and STARTTLS only (with the others given)")
}

// Init sets up the resolver and the SMTP prober once per run.
func (s *Scanner) Init(_ context.Context, run scan.Run) error {
	servers, err := dnsServers(run.Net)
	if err != nil {
		return err
	}
	s.res = newResolver(servers, s.timeout)
	var roots *x509.CertPool
	if run.CAFile != "" {
		var err error
		if roots, err = netx.LoadCertPool(run.CAFile); err != nil {
			return fmt.Errorf("--ca_file: %w", err)
		}
	}
	dial := (&net.Dialer{}).DialContext
	if run.Net != nil {
		dial = run.Net.DialContext
	}
	s.prober = &smtpProber{res: s.res, dial: dial, timeout: s.smtpTimeout, localName: s.smtpLocalhost, roots: roots}
	s.remote = run.Remote
	s.useCache = !run.NoFastCache && !bool(s.noSMTPCache)
	if s.smtpSem == nil {
		s.smtpSem = make(chan struct{}, smtpConcurrency)
	}
	return nil
}

// dnsServers are --dns's resolvers, else the system's (resolv.conf).
func dnsServers(n scan.Network) ([]string, error) {
	if d, ok := n.(interface{ DNSServers() []string }); ok {
		if rs := d.DNSServers(); len(rs) > 0 {
			return rs, nil
		}
	}
	cfg, err := dns.ClientConfigFromFile("/etc/resolv.conf")
	if err != nil {
		return nil, fmt.Errorf("trustymail: no --dns given and the system's resolvers are unknown: %w", err)
	}
	var out []string
	for _, srv := range cfg.Servers {
		out = append(out, net.JoinHostPort(srv, cfg.Port))
	}
	return out, nil
}

// SMTPConnections is how many connections the scanner opened to mail
// servers so far.
func (s *Scanner) SMTPConnections() int64 {
	if s.prober == nil {
		return 0
	}
	return s.prober.dials.Load()
}

// NewResult returns an empty result.
func (*Scanner) NewResult() scan.Result { return &Result{} }

// prepared is what Prepare sends with a Lambda job: mail server results
// this run already has, so that the function does not contact them again.
type prepared struct {
	SMTP map[string]SMTPResult `json:"smtp,omitempty"`
}

// Prepare is the wrapper's init_domain "fast cache": in a Lambda run it
// looks up the domain's MX hosts locally and sends the results the run
// already has for them. Local runs share one cache and need nothing.
func (s *Scanner) Prepare(ctx context.Context, t scan.Target, _ scan.Lookup) (json.RawMessage, error) {
	// Nothing known yet (always so in an asynchronous run, where no
	// result comes back): no MX lookup.
	if !s.remote || !s.useCache || s.res == nil || s.smtp.Empty() {
		return nil, nil
	}
	msg, err := s.res.query(ctx, t.Domain, dns.TypeMX)
	if err != nil {
		return nil, nil
	}
	var p prepared
	for _, host := range mxHosts(msg) {
		for _, port := range s.ports {
			key := host + ":" + strconv.Itoa(port)
			if r, ok := s.smtp.Peek(key); ok && !r.Incomplete {
				if p.SMTP == nil {
					p.SMTP = map[string]SMTPResult{}
				}
				p.SMTP[key] = r
			}
		}
	}
	if p.SMTP == nil {
		return nil, nil
	}
	return json.Marshal(p)
}

// Observe is the wrapper's post_scan: results that came back from Lambda
// feed the run's SMTP cache (never probes that did not finish).
func (s *Scanner) Observe(_ scan.Target, r scan.Result) {
	res, ok := r.(*Result)
	if !ok || res == nil || !s.useCache {
		return
	}
	for k, v := range res.SMTP {
		if !v.Incomplete {
			s.smtp.Put(k, v)
		}
	}
}

func mxHosts(msg *dns.Msg) []string {
	var out []string
	for _, rr := range msg.Answer {
		if mx, ok := rr.(*dns.MX); ok {
			out = append(out, strings.ToLower(strings.TrimSuffix(mx.Mx, ".")))
		}
	}
	return out
}

// scanTypes is which checks run: the flags given, all four when none is;
// --starttls implies --mx (the original crashed here).
func (s *Scanner) scanTypes() (mx, starttls, spf, dmarc bool) {
	if !s.onlyMX && !s.onlySPF && !s.onlyDMARC && !s.onlySTARTTLS {
		return true, true, true, true
	}
	return s.onlyMX || s.onlySTARTTLS, s.onlySTARTTLS, s.onlySPF, s.onlyDMARC
}

// Scan checks one domain. The checks run at the same time, and their
// results are applied in trustymail's order, each only when the domain was
// still live after the previous ones (the wrapper's selective mode): the
// answer is the original's, in the time of the slowest check.
func (s *Scanner) Scan(ctx context.Context, job scan.Job) (scan.Result, error) {
	if s.res == nil {
		return nil, errors.New("trustymail: not initialised")
	}
	var pre prepared
	if len(job.Inputs) > 0 {
		if err := json.Unmarshal(job.Inputs, &pre); err != nil {
			return nil, fmt.Errorf("trustymail inputs: %w", err)
		}
	}
	if s.useCache {
		for k, v := range pre.SMTP {
			if !v.Incomplete {
				s.smtp.Put(k, v)
			}
		}
	}
	// Leave time to answer with what is known before the deadline.
	if dl, ok := ctx.Deadline(); ok {
		margin := min(2*time.Second, time.Until(dl)/10)
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-margin))
		defer cancel()
	}
	domain := strings.ToLower(strings.TrimSuffix(job.Domain, "."))
	base := job.BaseDomain
	if base == "" {
		base = domains.BaseDomain(domain)
	}
	st := &domainState{name: domain, base: base, isBase: base == domain || base == "", live: true}
	doMX, doSTARTTLS, doSPF, doDMARC := s.scanTypes()

	var wg sync.WaitGroup
	var baseSt *domainState
	baseUnknown := false
	if !st.isBase {
		wg.Go(func() {
			b, ok := s.base.Get(ctx, base, func() *domainState {
				// Shared by every subdomain of the run: not bound to one
				// domain's deadline, but to its own.
				bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 4*s.timeout)
				defer cancel()
				b := &domainState{name: base, base: base, isBase: true, live: true}
				b.apply(s.dmarcCheck(bctx, b.name, b.base, true))
				return b
			}, nil)
			// Not finished by this domain's deadline (or failed): unknown,
			// which is not the subdomain's own record.
			baseSt, baseUnknown = b, !ok || b == nil
		})
	}
	var mx, tls, spf, dmarc *part
	if doSPF {
		wg.Go(func() { spf = s.spfCheck(ctx, domain) })
	}
	if doDMARC {
		wg.Go(func() { dmarc = s.dmarcCheck(ctx, domain, base, st.isBase) })
	}
	if doMX {
		mx = s.mxCheck(ctx, domain)
		if doSTARTTLS && mx.live {
			tls = s.starttlsCheck(ctx, mx.mailServers)
		}
	}
	wg.Wait()
	if err := ctx.Err(); err != nil && errors.Is(context.Cause(ctx), context.Canceled) {
		return nil, err
	}
	for _, p := range []*part{mx, tls, spf, dmarc} {
		if p != nil && st.live {
			st.apply(p)
		}
	}
	return st.result(baseSt, baseUnknown), nil
}

// mxCheck is mx_scan.
func (s *Scanner) mxCheck(ctx context.Context, domain string) *part {
	p := &part{kind: partMX, live: true, mailServers: []string{}}
	msg, err := s.res.query(ctx, domain, dns.TypeMX)
	p.dnssec = adOf(msg, err)
	if err != nil {
		if k := kindOf(err); k == kindNXDOMAIN || k == kindNoNameservers {
			p.live = false
		}
		p.debug = append(p.debug, "[MX] "+err.Error())
		return p
	}
	p.mailServers = mxHosts(msg)
	return p
}

// starttlsCheck is starttls_scan: every mail server (at most
// maxMailServers) on every port, each host:port contacted once per run
// (unless the cache is off), all at once within the run-wide bound of
// SMTP probes; each host's address is looked up once per domain.
func (s *Scanner) starttlsCheck(ctx context.Context, servers []string) *part {
	p := &part{kind: partSTARTTLS, live: true}
	type probe struct {
		key   string
		host  string
		port  int
		addrs *lazyAddrs
		done  bool
		res   SMTPResult
	}
	var hosts []string
	seen := map[string]bool{}
	for _, host := range servers {
		if host == "" || seen[host] {
			continue // "": a null MX (RFC 7505), the domain accepts no mail
		}
		seen[host] = true
		hosts = append(hosts, host)
	}
	var untested int
	if len(hosts) > maxMailServers {
		untested = len(hosts) - maxMailServers
		hosts = hosts[:maxMailServers]
	}
	var probes []*probe
	for _, host := range hosts {
		addrs := &lazyAddrs{}
		for _, port := range s.ports {
			probes = append(probes, &probe{key: host + ":" + strconv.Itoa(port), host: host, port: port, addrs: addrs})
		}
	}
	if len(probes) == 0 {
		return p
	}
	p.ports = s.ports
	budget := 8*s.smtpTimeout + s.timeout
	var wg sync.WaitGroup
	for _, pr := range probes {
		wg.Go(func() {
			// run probes within ctx: the wait for a probe slot ends with it
			// (or after one probe's time), then the probe has its own.
			run := func(ctx context.Context) SMTPResult {
				if !s.acquireSMTP(ctx, budget) {
					return SMTPResult{Incomplete: true, Errors: []string{"not probed: too many mail servers were being probed at once"}}
				}
				defer s.releaseSMTP()
				pctx, cancel := context.WithTimeout(ctx, budget)
				defer cancel()
				return s.prober.probeAt(pctx, pr.host, pr.port, pr.addrs.get(pctx, s.prober, pr.host))
			}
			failed := func(v any) SMTPResult {
				return SMTPResult{Incomplete: true, Errors: []string{fmt.Sprintf("internal error: %v", v)}}
			}
			if s.useCache {
				// Bounded by the SMTP steps, not by one domain's deadline,
				// since other domains may wait for the same server.
				pr.res, pr.done = s.smtp.Get(ctx, pr.key, func() SMTPResult { return run(context.WithoutCancel(ctx)) }, failed)
				return
			}
			if ctx.Err() != nil {
				return
			}
			defer func() {
				if v := recover(); v != nil {
					pr.res, pr.done = failed(v), true
				}
			}()
			pr.res, pr.done = run(ctx), true
		})
	}
	wg.Wait()
	p.smtp = map[string]SMTPResult{}
	incomplete := 0
	for _, pr := range probes {
		if !pr.done {
			pr.res = SMTPResult{Incomplete: true, Errors: []string{"not finished before the scan's deadline"}}
		}
		if pr.res.Incomplete {
			incomplete++
		}
		p.smtpKeys = append(p.smtpKeys, pr.key)
		p.smtp[pr.key] = pr.res
		for _, e := range pr.res.Errors {
			p.debug = append(p.debug, "[STARTTLS] "+pr.key+": "+e)
		}
	}
	if incomplete > 0 {
		p.debug = append(p.debug, fmt.Sprintf("[STARTTLS] %d of %d mail server ports not checked, left out of the SMTP and STARTTLS columns", incomplete, len(probes)))
	}
	if untested > 0 {
		p.debug = append(p.debug, fmt.Sprintf("[STARTTLS] %d more mail servers not tested", untested))
	}
	return p
}

// acquireSMTP takes a slot of the run-wide bound of SMTP probes, waiting
// while ctx lasts and at most wait.
func (s *Scanner) acquireSMTP(ctx context.Context, wait time.Duration) bool {
	if s.smtpSem == nil {
		return true
	}
	select {
	case s.smtpSem <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case s.smtpSem <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	case <-t.C:
		return false
	}
}

func (s *Scanner) releaseSMTP() {
	if s.smtpSem != nil {
		<-s.smtpSem
	}
}

// spfCheck is spf_scan, with the record evaluated by an RFC 7208
// implementation.
func (s *Scanner) spfCheck(ctx context.Context, domain string) *part {
	p := &part{kind: partSPF, live: true, spf: []string{}}
	msg, err := s.res.query(ctx, domain, dns.TypeTXT)
	p.dnssec = adOf(msg, err)
	if err != nil {
		if k := kindOf(err); k == kindNXDOMAIN || k == kindNoNameservers {
			p.live = false
		}
		p.debug = append(p.debug, "[SPF] "+err.Error())
		return p
	}
	txts := txtRecords(msg)
	records := SPFRecords(txts)
	if len(records) == 0 {
		return p
	}
	// The original showed the last record when there were several.
	p.spf = append(p.spf, records[len(records)-1])
	if len(records) > 1 {
		p.debug = append(p.debug, fmt.Sprintf("[SPF] %d SPF records are published; RFC 7208 §4.5 makes that a permerror", len(records)))
	}
	res, err := s.res.evaluateSPF(ctx, domain, txts)
	p.validSPF = spfValid(res)
	if !p.validSPF {
		msg := fmt.Sprintf("[SPF] SPF query returned %s", res)
		if e := spfErrText(err); e != "" {
			msg += ": " + e
		}
		p.debug = append(p.debug, msg)
	}
	return p
}

// dmarcCheck is dmarc_scan for name (the scanned domain, or its base
// domain) whose organisational domain is base.
func (s *Scanner) dmarcCheck(ctx context.Context, name, base string, isBase bool) *part {
	p := &part{kind: partDMARC, live: true, dmarc: []string{}, validDMARC: true}
	msg, err := s.res.query(ctx, "_dmarc."+name, dns.TypeTXT)
	if err != nil {
		p.dmarcDNSSEC = ptr(false) // no DNSSEC check after NoNameservers
		if kindOf(err) != kindNoNameservers {
			p.dmarcDNSSEC = adOf(msg, err)
		}
		p.debug = append(p.debug, "[DMARC] "+err.Error())
		return p
	}
	p.dmarcDNSSEC = adOf(msg, nil)
	var records []string
	for _, t := range txtRecords(msg) {
		if IsDMARCRecord(t) {
			records = append(records, t)
		}
	}
	switch {
	case len(records) > 1:
		p.debug = append(p.debug, "[DMARC] Warning: Multiple DMARC records present")
		p.validDMARC = false
	case len(records) == 1:
		p.dmarc = append(p.dmarc, records[0])
		d := ParseDMARC(records[0], isBase, func(address, emailDomain string) ([]string, []string, bool, bool) {
			return s.checkReportAddress(ctx, name, base, address, emailDomain)
		})
		p.parsed = d
		p.validDMARC = d.Valid
		for _, e := range d.SyntaxErrors {
			p.syntax = append(p.syntax, "[DMARC] "+e)
		}
		for _, e := range d.DebugInfo {
			p.debug = append(p.debug, "[DMARC] "+e)
		}
	}
	return p
}

// checkReportAddress is RFC 7489 §7.1 for a report address outside the
// domain's organisation: the destination must publish
// <name>._report._dmarc.<destination> and accept mail (MX).
func (s *Scanner) checkReportAddress(ctx context.Context, name, base, address, emailDomain string) (syntax, debug []string, addrErr, invalid bool) {
	if strings.EqualFold(domains.BaseDomain(strings.ToLower(emailDomain)), base) {
		return nil, nil, false, false
	}
	refused := fmt.Sprintf("%s does not indicate that it accepts DMARC reports about %s - https://tools.ietf.org/html/rfc7489#section-7.1", emailDomain, name)
	msg, err := s.res.query(ctx, name+"._report._dmarc."+emailDomain, dns.TypeTXT)
	if err != nil {
		syntax = append(syntax, refused)
		addrErr, invalid = true, true
	} else if txts := txtRecords(msg); len(txts) == 0 || !strings.HasPrefix(txts[0], "v=DMARC1") {
		debug = append(debug, refused)
		addrErr, invalid = true, true
	}
	if _, err := s.res.query(ctx, emailDomain, dns.TypeMX); err != nil {
		syntax = append(syntax, fmt.Sprintf("The domain for reporting address %s does not have any MX records", address))
		invalid = true
	}
	return syntax, debug, addrErr, invalid
}

// portsFlag is --smtp-ports.
type portsFlag []int

func (f *portsFlag) String() string {
	var parts []string
	for _, p := range *f {
		parts = append(parts, strconv.Itoa(p))
	}
	return strings.Join(parts, ",")
}

// Type names the value in --help.
func (f *portsFlag) Type() string { return "ports" }

func (f *portsFlag) Set(v string) error {
	var out portsFlag
	seen := map[int]bool{}
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		p, err := strconv.Atoi(part)
		if err != nil || p < 1 || p > 65535 {
			return fmt.Errorf("%q is not a port number", part)
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return errors.New("no port given")
	}
	*f = out
	return nil
}

// boolish is a flag that takes a value, as the original's --no-smtp-cache
// did (declared without store_true); "", 0, false, no and off are false.
type boolish bool

func (f *boolish) String() string { return strconv.FormatBool(bool(*f)) }

// Type names the value in --help.
func (f *boolish) Type() string { return "true|false" }

func (f *boolish) Set(v string) error {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "0", "false", "no", "off":
		*f = false
	default:
		*f = true
	}
	return nil
}
