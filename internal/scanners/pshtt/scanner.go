// Package pshtt is a native Go implementation of DHS NCATS' pshtt ("pushing
// HTTPS") as 18F domain-scan ran it: the four endpoints of a domain, their
// redirects, certificates and HSTS, and the 35 domain-level columns of
// results/pshtt.csv with the original's meanings (spec/scanners.md §1).
package pshtt

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"regexp"
	"sync"
	"time"

	"github.com/domainscan/domain-scan/internal/domains"
	"github.com/domainscan/domain-scan/internal/netx"
	"github.com/domainscan/domain-scan/internal/scan"
)

// DefaultTimeout is pshtt's per-operation timeout, as domain-scan set it.
const DefaultTimeout = 5 * time.Second

// Scanner is the pshtt scanner.
type Scanner struct {
	timeout     time.Duration
	ptIntCAFile string
	preloadSrc  string
	pendingSrc  string

	prober  *prober
	preload PreloadList
	pending PreloadList
}

var (
	_ scan.Scanner     = (*Scanner)(nil)
	_ scan.FlagDefiner = (*Scanner)(nil)
	_ scan.Initializer = (*Scanner)(nil)
	_ scan.Preparer    = (*Scanner)(nil)
)

// New returns a pshtt scanner with the original's defaults.
func New() *Scanner {
	return &Scanner{timeout: DefaultTimeout, preloadSrc: DefaultPreloadURL, pendingSrc: DefaultPendingURL}
}

// Info describes the scanner.
func (*Scanner) Info() scan.Info {
	return scan.Info{
		Name:    "pshtt",
		Summary: "HTTPS and HSTS behaviour of the four endpoints (pshtt)",
		Headers: Headers,
		Lambda:  true,
		// Six timeouts per domain at most, plus room for batches.
		LambdaTimeout:  5 * time.Minute,
		LambdaMemoryMB: 512,
	}
}

// DefineFlags adds pshtt's own flags.
func (s *Scanner) DefineFlags(fs *flag.FlagSet) {
	fs.Var(scan.SecondsFlag{D: &s.timeout, Max: 24 * time.Hour}, "pshtt-timeout", "pshtt's time limit of each request and handshake, seconds or a duration")
	fs.StringVar(&s.ptIntCAFile, "pt_int_ca_file", "", "PEM bundle of public roots and intermediates, for the missing-intermediate re-check")
	fs.StringVar(&s.preloadSrc, "hsts-preload-list", DefaultPreloadURL, "URL or file of Chromium's HSTS preload list")
	fs.StringVar(&s.pendingSrc, "hsts-preload-pending", DefaultPendingURL, "URL or file of the HSTS preload pending list")
}

// Init builds the trust stores and the HTTP clients and loads the preload
// lists once per run (a list that cannot be loaded counts as empty, as in
// pshtt, with a warning).
func (s *Scanner) Init(ctx context.Context, run scan.Run) error {
	log := run.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var custom, ptInt *x509.CertPool
	var err error
	if run.CAFile != "" {
		if custom, err = netx.LoadCertPool(run.CAFile); err != nil {
			return fmt.Errorf("--ca_file: %w", err)
		}
	}
	if s.ptIntCAFile != "" {
		if ptInt, err = netx.LoadCertPool(s.ptIntCAFile); err != nil {
			return fmt.Errorf("--pt_int_ca_file: %w", err)
		}
	}
	public, _ := x509.SystemCertPool()
	dial := (&net.Dialer{}).DialContext
	if run.Net != nil {
		dial = run.Net.DialContext
	}
	ua := os.Getenv("PSHTT_USER_AGENT")
	if ua == "" {
		ua = "18F/domain-scan/pshtt.py"
	}
	s.prober = newProber(dial, s.timeout, ua, custom, public, ptInt)

	if run.Method == "lambda" {
		// The lists are looked up locally (Prepare); the function only
		// scans.
		s.preload, s.pending = PreloadList{}, PreloadList{}
		return nil
	}
	// The lists come from public sites (or the lab): trust the system's
	// roots and the --ca_file ones.
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	if run.CAFile != "" {
		if pem, err := os.ReadFile(run.CAFile); err == nil {
			roots.AppendCertsFromPEM(pem)
		}
	}
	// The preload list is tens of megabytes: bound the wait for an answer,
	// not the transfer.
	client := &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{DialContext: dial,
		TLSClientConfig: &tls.Config{RootCAs: roots}, ResponseHeaderTimeout: 20 * time.Second}}
	defer client.CloseIdleConnections()
	var wg sync.WaitGroup
	wg.Go(func() {
		var lerr error
		s.preload, lerr = LoadList(ctx, client, s.preloadSrc, 64<<20, ParsePreloadList)
		if lerr != nil {
			log.Warn("HSTS preload list not loaded; nothing counts as preloaded", "source", s.preloadSrc, "error", lerr)
			s.preload = PreloadList{}
		}
	})
	wg.Go(func() {
		var perr error
		s.pending, perr = LoadList(ctx, client, s.pendingSrc, 64<<20, ParsePendingList)
		if perr != nil {
			log.Warn("HSTS preload pending list not loaded; nothing counts as pending", "source", s.pendingSrc, "error", perr)
			s.pending = PreloadList{}
		}
	})
	wg.Wait()
	return nil
}

// stripDomain is the wrapper's re.sub(r"^(https?://)?(www\.)?", "", domain).
var stripDomain = regexp.MustCompile(`^(https?://)?(www\.)?`)

// Prepare looks the domain up in the preload lists locally, so that only
// three booleans travel with the job (the wrapper trimmed the lists for the
// same reason). Unlike the wrapper it looks up the name pshtt scans (www.
// stripped), not the raw input.
func (s *Scanner) Prepare(_ context.Context, t scan.Target, _ scan.Lookup) (json.RawMessage, error) {
	d := stripDomain.ReplaceAllString(t.Domain, "")
	return json.Marshal(preloadFacts{
		Preloaded:     s.preload.Has(d),
		BasePreloaded: s.preload.Has(domains.BaseDomain(d)),
		Pending:       s.pending.Has(d),
	})
}

// NewResult returns an empty result.
func (*Scanner) NewResult() scan.Result { return &Result{} }

// Scan probes the four endpoints concurrently (each within its own
// deadlines) and computes the domain's fields.
func (s *Scanner) Scan(ctx context.Context, job scan.Job) (scan.Result, error) {
	if s.prober == nil {
		return nil, errors.New("pshtt: not initialised")
	}
	var pre preloadFacts
	if len(job.Inputs) > 0 {
		if err := json.Unmarshal(job.Inputs, &pre); err != nil {
			return nil, fmt.Errorf("pshtt inputs: %w", err)
		}
	}
	domain := stripDomain.ReplaceAllString(job.Domain, "")
	http := newEndpoint("http", "root", domain)
	httpwww := newEndpoint("http", "www", domain)
	https := newEndpoint("https", "root", domain)
	httpswww := newEndpoint("https", "www", domain)
	var wg sync.WaitGroup
	for _, e := range []*Endpoint{http, httpwww, https, httpswww} {
		wg.Go(func() {
			s.prober.basicCheck(ctx, e)
			if e.https {
				applyHSTS(e)
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return domainResult(domain, domains.BaseDomain(domain), http, httpwww, https, httpswww, pre), nil
}

// applyHSTS is pshtt's hsts_check on the first response's headers.
func applyHSTS(e *Endpoint) {
	h := ParseHSTS(e.hstsValues, is(e.HTTPSBadHostname))
	e.HSTS = ptr(h.Present)
	e.HSTSHeader = h.Header
	e.HSTSMaxAge = h.MaxAge
	e.HSTSAllSubdomains = h.AllSubdomains
	e.HSTSPreload = h.Preload
	if h.UnknownError {
		e.UnknownError = true
	}
}
