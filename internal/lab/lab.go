package lab

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/domainscan/domain-scan/internal/lab/dnsserver"
	"github.com/domainscan/domain-scan/internal/lab/pki"
	"github.com/domainscan/domain-scan/internal/lab/smtpserver"
	"github.com/domainscan/domain-scan/internal/netx"
)

// Options configure Start.
type Options struct {
	// Scenarios to serve; nil means Catalogue().
	Scenarios []*Scenario
	// Synthetic, when above zero, serves that many generated domains
	// instead of the catalogue (see synthetic.go).
	Synthetic int
	// HighPorts serves on high ports with a port map even when the real
	// ports could be bound.
	HighPorts bool
	// Dir receives ca.pem; "" means a new temporary directory, removed by
	// Close.
	Dir    string
	Logger *slog.Logger
}

// HighPortMap is where the lab listens when it cannot bind ports below
// 1024 (not root): scanners reach it with --port-map.
var HighPortMap = netx.PortMap{80: 18080, 443: 18443, 25: 10025, 587: 10587, 465: 10465}

// PreloadHost serves the lab's HSTS preload list and pending list.
const PreloadHost = "preload-lists.test"

// Lab is a running lab.
type Lab struct {
	// DNSAddr is the authoritative server, for --dns.
	DNSAddr string
	// CAFile is the PEM file of the lab root, for --ca_file.
	CAFile string
	CA     *pki.CA
	// PortMap is empty when the lab listens on the real ports.
	PortMap netx.PortMap
	// PreloadURL and PendingURL serve the HSTS lists.
	PreloadURL, PendingURL string
	// Scenarios served (nil in synthetic mode).
	Scenarios []*Scenario
	// Synthetic is the number of generated domains served.
	Synthetic int

	log      *slog.Logger
	zone     *dnsserver.Zone
	dns      *dnsserver.Server
	alloc    *allocator
	web      *webServer
	mu       sync.Mutex
	closers  []func() error
	tempDir  string
	addrs    map[string]netip.Addr // FQDN (no trailing dot) -> address
	synth    *synthetic
	shutdown context.CancelFunc
	mail     []*smtpserver.Server
}

// SMTPAccepted is how many connections the lab's mail servers accepted so
// far (what a mail scanner's per-run cache must keep low).
func (l *Lab) SMTPAccepted() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var n int64
	for _, s := range l.mail {
		n += s.Connections()
	}
	return n
}

// newSMTP returns a mail server for b that closes with the lab and counts
// in SMTPAccepted.
func (l *Lab) newSMTP(b smtpserver.Behaviour) *smtpserver.Server {
	srv := smtpserver.New(b)
	l.mu.Lock()
	l.mail = append(l.mail, srv)
	l.mu.Unlock()
	l.onClose(srv.Close)
	return srv
}

// Start builds and serves the lab on loopback. Close it when done.
func Start(ctx context.Context, opts Options) (_ *Lab, err error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	ca, err := pki.New()
	if err != nil {
		return nil, fmt.Errorf("lab CA: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l := &Lab{CA: ca, log: opts.Logger, zone: dnsserver.NewZone(), addrs: map[string]netip.Addr{}, shutdown: cancel}
	defer func() {
		if err != nil {
			l.Close()
		}
	}()
	dir := opts.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "domain-scan-lab-"); err != nil {
			return nil, err
		}
		l.tempDir = dir
	}
	l.CAFile = filepath.Join(dir, "lab-ca.pem")
	if err := ca.WriteRootPEM(l.CAFile); err != nil {
		return nil, fmt.Errorf("write lab CA: %w", err)
	}
	if l.alloc, err = newAllocator(); err != nil {
		return nil, err
	}
	if !opts.HighPorts && !canBindLowPorts(l.alloc.peek()) {
		opts.HighPorts = true
		l.log.Info("cannot bind ports below 1024; serving on high ports", "port_map", HighPortMap.String())
	}
	if opts.HighPorts {
		l.PortMap = HighPortMap
	}
	l.web = newWebServer(runCtx, ca, l.log)
	l.onClose(l.web.close)

	if opts.Synthetic > 0 {
		if err := l.startSynthetic(opts.Synthetic); err != nil {
			return nil, err
		}
	} else {
		scenarios := opts.Scenarios
		if scenarios == nil {
			scenarios = Catalogue()
		}
		l.Scenarios = scenarios
		for _, sc := range scenarios {
			if err := l.addScenario(runCtx, sc); err != nil {
				return nil, fmt.Errorf("scenario %s: %w", sc.Domain, err)
			}
		}
	}
	if err := l.addPreloadHost(); err != nil {
		return nil, err
	}
	var dyn dnsserver.Dynamic
	if l.synth != nil {
		dyn = l.synth.dns
	}
	dnsAddr := netip.AddrPortFrom(l.alloc.dnsAddr(), 0).String()
	if l.dns, err = dnsserver.Start(dnsAddr, l.zone, dyn); err != nil {
		return nil, fmt.Errorf("lab DNS: %w", err)
	}
	l.onClose(l.dns.Close)
	l.DNSAddr = l.dns.Addr()
	return l, nil
}

func (l *Lab) onClose(f func() error) {
	l.mu.Lock()
	l.closers = append(l.closers, f)
	l.mu.Unlock()
}

// Close stops every server and removes temporary files.
func (l *Lab) Close() error {
	l.shutdown()
	l.mu.Lock()
	closers := l.closers
	l.closers = nil
	l.mu.Unlock()
	var errs []error
	for i := len(closers) - 1; i >= 0; i-- {
		if err := closers[i](); err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	if l.tempDir != "" {
		errs = append(errs, os.RemoveAll(l.tempDir))
	}
	return errors.Join(errs...)
}

// Network returns the resolver and dialer settings that reach the lab.
func (l *Lab) Network() *netx.Network {
	return &netx.Network{Resolvers: []string{l.DNSAddr}, PortMap: l.PortMap}
}

// Addr returns the address serving name (a host of some scenario).
func (l *Lab) Addr(name string) (netip.Addr, bool) {
	a, ok := l.addrs[strings.TrimSuffix(strings.ToLower(name), ".")]
	return a, ok
}

// ScanFlags are the flags that point a scan at the lab.
func (l *Lab) ScanFlags() []string {
	f := []string{"--dns=" + l.DNSAddr, "--ca_file=" + l.CAFile}
	if len(l.PortMap) > 0 {
		f = append(f, "--port-map="+l.PortMap.String())
	}
	return f
}

// Env describes the running lab as KEY=value lines for scripts.
func (l *Lab) Env() []string {
	return []string{
		"DNS=" + l.DNSAddr,
		"CA_FILE=" + l.CAFile,
		"HSTS_PRELOAD_URL=" + l.PreloadURL,
		"HSTS_PENDING_URL=" + l.PendingURL,
		"PORT_MAP=" + l.PortMap.String(),
		fmt.Sprintf("DOMAINS=%d", l.domainCount()),
		"SCAN_FLAGS=" + strings.Join(l.ScanFlags(), " "),
	}
}

func (l *Lab) domainCount() int {
	if l.Synthetic > 0 {
		return l.Synthetic
	}
	return len(l.Scenarios)
}

// Domains lists the served domains in catalogue order.
func (l *Lab) Domains() []string {
	if l.synth != nil {
		out := make([]string, l.Synthetic)
		for i := range out {
			out[i] = SyntheticName(i)
		}
		return out
	}
	out := make([]string, len(l.Scenarios))
	for i, sc := range l.Scenarios {
		out[i] = sc.Domain
	}
	return out
}

// port returns where the lab listens for the real port p.
func (l *Lab) port(p int) int { return l.PortMap.Map(p) }

// listen opens a TCP listener for the real port p of addr.
func (l *Lab) listen(addr netip.Addr, p int) (net.Listener, error) {
	ln, err := net.Listen("tcp", netip.AddrPortFrom(addr, uint16(l.port(p))).String())
	if err != nil {
		return nil, err
	}
	l.onClose(ln.Close)
	return ln, nil
}

// fqdn turns a label relative to domain ("", "www", "@") into a name.
func fqdn(label, domain string) string {
	switch {
	case label == "" || label == "@":
		return domain
	case strings.HasSuffix(label, "."):
		return strings.TrimSuffix(label, ".")
	default:
		return label + "." + domain
	}
}

// allocator hands out loopback addresses from a random block of 127/8, so
// that labs started at the same time (parallel test packages) do not meet.
type allocator struct {
	mu   sync.Mutex
	base [3]byte // 127.base[1].base[2]
	next int
}

func newAllocator() (*allocator, error) {
	a := &allocator{}
	n, err := rand.Int(rand.Reader, big.NewInt(128*64))
	if err != nil {
		return nil, err
	}
	v := int(n.Int64())
	// 127.64.0.0 - 127.191.255.255, in blocks of four /24s.
	a.base = [3]byte{127, byte(64 + v/64), byte((v % 64) * 4)}
	a.next = 1
	return a, nil
}

// at returns the i-th address of the block (i from 1); 4 * 250 fit.
func (a *allocator) at(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{a.base[0], a.base[1], a.base[2] + byte((i-1)/250), byte(1 + (i-1)%250)})
}

func (a *allocator) peek() netip.Addr { return a.at(1) }

// dnsAddr is the first address: the DNS server's.
func (a *allocator) dnsAddr() netip.Addr { return a.at(1) }

// alloc returns a fresh address (after the DNS server's).
func (a *allocator) alloc() (netip.Addr, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.next++
	if a.next > 1000 {
		return netip.Addr{}, errors.New("lab address block exhausted (1,000 hosts)")
	}
	return a.at(a.next), nil
}

// canBindLowPorts tells whether this process may listen on port 80.
func canBindLowPorts(addr netip.Addr) bool {
	ln, err := net.Listen("tcp", netip.AddrPortFrom(addr, 80).String())
	if err != nil {
		return !errors.Is(err, syscall.EACCES) && !errors.Is(err, syscall.EPERM)
	}
	ln.Close()
	return true
}

// sortedKeys returns m's keys in order, for stable address assignment.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// discardWriter is io.Discard with a name for http.Server.ErrorLog.
var discardWriter io.Writer = io.Discard

// stallConn holds a connection open without a word until d passes or the
// lab closes.
func stallConn(ctx context.Context, c net.Conn, d time.Duration) {
	defer c.Close()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
