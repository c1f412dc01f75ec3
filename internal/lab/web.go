package lab

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/domainscan/domain-scan/internal/lab/legacytls"
	"github.com/domainscan/domain-scan/internal/lab/pki"
)

// webHost is one served web host.
type webHost struct {
	name string
	host *Host
	tls  *tls.Config
}

// webServer serves every HTTP and HTTPS listener of the lab with one
// http.Server; the host is found by the local address of the connection
// (one address per host), or by SNI and Host for shared addresses.
type webServer struct {
	ctx  context.Context
	ca   *pki.CA
	log  *slog.Logger
	srv  *http.Server
	mu   sync.RWMutex
	byIP map[netip.Addr]*webHost
	// byName answers hosts that share an address (synthetic mode).
	byName func(name string) *webHost
}

func newWebServer(ctx context.Context, ca *pki.CA, log_ *slog.Logger) *webServer {
	ws := &webServer{ctx: ctx, ca: ca, log: log_, byIP: map[netip.Addr]*webHost{}}
	ws.srv = &http.Server{
		Handler:           ws,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       30 * time.Second,
		// Scanners' probes end handshakes abruptly on purpose; don't log.
		ErrorLog:    log.New(discardWriter, "", 0),
		BaseContext: func(net.Listener) context.Context { return ctx },
	}
	return ws
}

func (ws *webServer) close() error { return ws.srv.Close() }

func (ws *webServer) register(ip netip.Addr, h *webHost) {
	ws.mu.Lock()
	ws.byIP[ip] = h
	ws.mu.Unlock()
}

func (ws *webServer) hostFor(local net.Addr, name string) *webHost {
	if ws.byName != nil && name != "" {
		if h := ws.byName(strings.ToLower(name)); h != nil {
			return h
		}
	}
	ap, err := netip.ParseAddrPort(local.String())
	if err != nil {
		return nil
	}
	ws.mu.RLock()
	defer ws.mu.RUnlock()
	return ws.byIP[ap.Addr().Unmap()]
}

func (ws *webServer) serveHTTP(ln net.Listener) {
	go ws.srv.Serve(ln)
}

func (ws *webServer) serveTLS(ln net.Listener) {
	cfg := &tls.Config{
		GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			h := ws.hostFor(hello.Conn.LocalAddr(), hello.ServerName)
			if h == nil || h.tls == nil {
				return nil, fmt.Errorf("no lab host for %s", hello.Conn.LocalAddr())
			}
			return h.tls, nil
		},
	}
	go ws.srv.Serve(tls.NewListener(ln, cfg))
}

// ServeHTTP answers as the scenario's endpoint says.
func (ws *webServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	name, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		name = r.Host
	}
	h := ws.hostFor(local, name)
	if h == nil {
		http.Error(w, "no such lab host", http.StatusMisdirectedRequest)
		return
	}
	ep := h.host.HTTP
	if r.TLS != nil {
		ep = h.host.HTTPS
	}
	if ep == nil {
		http.Error(w, "endpoint not served", http.StatusNotFound)
		return
	}
	serveEndpoint(ws.ctx, w, r, h.name, ep)
}

func serveEndpoint(ctx context.Context, w http.ResponseWriter, r *http.Request, name string, ep *Endpoint) {
	if p, ok := ep.Paths[r.URL.Path]; ok {
		ep = p
	}
	if ep.Stall {
		t := time.NewTimer(StallFor)
		defer t.Stop()
		select {
		case <-r.Context().Done():
		case <-ctx.Done():
		case <-t.C:
		}
		panic(http.ErrAbortHandler) // close without a response
	}
	if ep.Trickle {
		trickle(ctx, w, r, ep)
		return
	}
	for _, kv := range ep.Header {
		w.Header().Add(kv[0], kv[1])
	}
	if ep.Location != "" {
		w.Header().Set("Location", ep.Location)
	}
	if ep.Endless {
		w.Header().Set("Content-Type", "multipart/x-mixed-replace; boundary=frame")
		w.WriteHeader(http.StatusOK)
		rc := http.NewResponseController(w)
		deadline := time.NewTimer(StallFor)
		defer deadline.Stop()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			if _, err := w.Write([]byte("--frame\r\nContent-Type: text/plain\r\n\r\nstill going\r\n")); err != nil {
				return
			}
			rc.Flush()
			select {
			case <-r.Context().Done():
				return
			case <-ctx.Done():
				return
			case <-deadline.C:
				return
			case <-tick.C:
			}
		}
	}
	status := ep.Status
	if status == 0 {
		status = http.StatusOK
	}
	if ep.BodyBytes > 0 {
		w.Header().Set("Content-Length", fmt.Sprint(ep.BodyBytes))
		w.WriteHeader(status)
		chunk := bytes.Repeat([]byte("domain-scan lab "), 4096)
		for left := ep.BodyBytes; left > 0 && r.Context().Err() == nil && ctx.Err() == nil; {
			n := min(left, int64(len(chunk)))
			if _, err := w.Write(chunk[:n]); err != nil {
				return
			}
			left -= n
		}
		return
	}
	body := ep.Body
	if body == "" && status != http.StatusNotModified && status != http.StatusNoContent {
		body = fmt.Sprintf("<!doctype html><title>%s</title><p>domain-scan lab: %s, status %d</p>\n", name, name, status)
	}
	if w.Header().Get("Content-Type") == "" && body != "" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
	}
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write([]byte(body))
	}
}

// trickle writes the response head one byte per second on the raw
// connection (a slowloris server), until the client gives up.
func trickle(ctx context.Context, w http.ResponseWriter, r *http.Request, ep *Endpoint) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	buf.Flush()
	head := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Slow: " + strings.Repeat("s", 600) + "\r\n\r\n"
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for i := 0; i < len(head); i++ {
		conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if _, err := conn.Write([]byte{head[i]}); err != nil {
			return
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		case <-r.Context().Done():
			return
		}
	}
}

// tlsConfigFor builds the crypto/tls configuration of a host.
func tlsConfigFor(ca *pki.CA, name string, t TLS) (*tls.Config, error) {
	spec := t.Cert
	if len(spec.DNSNames) == 0 && spec.CommonName == "" {
		spec.DNSNames = []string{name}
	}
	cert, err := ca.Issue(spec)
	if err != nil {
		return nil, fmt.Errorf("certificate for %s: %w", name, err)
	}
	cfg := &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   t.MinVersion,
		MaxVersion:   t.MaxVersion,
		CipherSuites: t.Suites,
	}
	if cfg.MinVersion == 0 {
		cfg.MinVersion = tls.VersionTLS12
	}
	if cfg.MinVersion < tls.VersionTLS12 && cfg.CipherSuites == nil {
		// Go's defaults drop the CBC-SHA suites that old clients need;
		// a server that accepts TLS 1.0 would offer them.
		cfg.CipherSuites = append(defaultSuites(), tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
			tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, tls.TLS_RSA_WITH_AES_128_CBC_SHA,
			tls.TLS_RSA_WITH_AES_256_CBC_SHA)
	}
	switch {
	case t.ClientAuth:
		cfg.ClientAuth = tls.RequireAnyClientCert
	case t.OptionalClientAuth:
		cfg.ClientAuth = tls.RequestClientCert
	}
	return cfg, nil
}

func defaultSuites() []uint16 {
	var out []uint16
	for _, s := range tls.CipherSuites() {
		out = append(out, s.ID)
	}
	return out
}

// addScenario allocates addresses, DNS records and listeners of one
// scenario.
func (l *Lab) addScenario(ctx context.Context, sc *Scenario) error {
	domain := sc.Domain
	for _, label := range sortedKeys(sc.Hosts) {
		if err := l.addWebHost(ctx, fqdn(label, domain), sc.Hosts[label]); err != nil {
			return err
		}
	}
	for _, m := range sc.Mail {
		name := fqdn(m.Label, domain)
		if !sc.NoMX {
			pref := m.Pref
			if pref == 0 {
				pref = 10
			}
			if err := l.zone.Add(fmt.Sprintf("%s. 300 IN MX %d %s.", domain, pref, name)); err != nil {
				return err
			}
		}
		if _, done := l.addrs[name]; done {
			continue // shared with an earlier scenario
		}
		if err := l.addMailHost(ctx, name, m); err != nil {
			return err
		}
	}
	for _, rr := range sc.DNS {
		line, err := absoluteRR(rr, domain)
		if err != nil {
			return err
		}
		if err := l.zone.Add(line); err != nil {
			return err
		}
	}
	for label, b := range sc.DNSBehaviour {
		l.zone.SetBehaviour(fqdn(label, domain)+".", b)
	}
	if sc.DNSSEC {
		l.zone.SetAD(domain+".", true)
	}
	return nil
}

// absoluteRR turns "label TYPE rdata" into "name. 300 IN TYPE rdata".
func absoluteRR(rr, domain string) (string, error) {
	label, rest, ok := strings.Cut(strings.TrimSpace(rr), " ")
	if !ok {
		return "", fmt.Errorf("DNS record %q: want \"<label> <TYPE> <data>\"", rr)
	}
	return fmt.Sprintf("%s. 300 IN %s", fqdn(label, domain), strings.TrimSpace(rest)), nil
}

func (l *Lab) addressRecord(name string, ip netip.Addr, noAddress, v6only bool) error {
	l.addrs[name] = ip
	switch {
	case noAddress:
		return nil
	case v6only:
		return l.zone.Add(fmt.Sprintf("%s. 300 IN AAAA ::1", name))
	default:
		return l.zone.Add(fmt.Sprintf("%s. 300 IN A %s", name, ip))
	}
}

func (l *Lab) addWebHost(ctx context.Context, name string, h *Host) error {
	ip, err := l.alloc.alloc()
	if err != nil {
		return err
	}
	if err := l.addressRecord(name, ip, h.NoAddress, h.IPv6Only); err != nil {
		return err
	}
	wh := &webHost{name: name, host: h}
	if h.HTTP != nil {
		ln, err := l.listen(ip, 80)
		if err != nil {
			return err
		}
		l.web.serveHTTP(ln)
	}
	if h.HTTPS != nil || h.TLS.Legacy != nil || h.TLS.StallHandshake {
		ln, err := l.listen(ip, 443)
		if err != nil {
			return err
		}
		switch {
		case h.TLS.StallHandshake:
			go acceptAndStall(ctx, ln)
		case h.TLS.Legacy != nil:
			cfg := *h.TLS.Legacy
			if cfg.Certificate == nil {
				spec := h.TLS.Cert
				if len(spec.DNSNames) == 0 {
					spec.DNSNames = []string{name}
				}
				cert, err := l.CA.Issue(spec)
				if err != nil {
					return err
				}
				cfg.Certificate = cert.Certificate
			}
			srv := legacytls.New(cfg)
			l.onClose(srv.Close)
			go srv.Serve(ln)
		default:
			if wh.tls, err = tlsConfigFor(l.CA, name, h.TLS); err != nil {
				return err
			}
			l.web.serveTLS(ln)
		}
	}
	l.web.register(ip, wh)
	return nil
}

func acceptAndStall(ctx context.Context, ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go stallConn(ctx, c, StallFor)
	}
}

func (l *Lab) addMailHost(ctx context.Context, name string, m *MailHost) error {
	ip, err := l.alloc.alloc()
	if err != nil {
		return err
	}
	if err := l.addressRecord(name, ip, m.NoAddress, m.IPv6Only); err != nil {
		return err
	}
	var tlsCfg *tls.Config
	for _, port := range []int{25, 587, 465} {
		b, ok := m.Ports[port]
		if !ok {
			continue
		}
		if b.Hostname == "" {
			b.Hostname = name
		}
		if (b.StartTLS || b.Implicit) && b.TLS == nil {
			if tlsCfg == nil {
				spec := m.TLSCert
				if len(spec.DNSNames) == 0 && spec.CommonName == "" {
					spec.DNSNames = []string{name}
				}
				cert, err := l.CA.Issue(spec)
				if err != nil {
					return err
				}
				tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
			}
			b.TLS = tlsCfg
		}
		ln, err := l.listen(ip, port)
		if err != nil {
			return err
		}
		go l.newSMTP(b).Serve(ln)
	}
	return nil
}

// addPreloadHost serves the HSTS preload list (as Chromium's gitiles
// serves it: base64 of JSON with // comment lines) and the pending list
// (hstspreload.org's JSON array) over HTTPS.
func (l *Lab) addPreloadHost() error {
	type entry struct {
		Name              string `json:"name"`
		IncludeSubdomains bool   `json:"include_subdomains"`
		Mode              string `json:"mode,omitempty"`
	}
	// Empty lists, not null, when there are no scenarios (synthetic mode).
	preload, pending := []entry{}, []entry{}
	for _, sc := range l.Scenarios {
		e := entry{Name: sc.Domain, IncludeSubdomains: !sc.PreloadNoSubdomains, Mode: "force-https"}
		if sc.Preloaded {
			preload = append(preload, e)
		}
		if sc.PreloadPending {
			pending = append(pending, e)
		}
	}
	list, err := json.MarshalIndent(map[string]any{"entries": preload}, "", "  ")
	if err != nil {
		return err
	}
	text := "// domain-scan lab copy of the HSTS preload list.\n// Comment lines like these are part of the real file.\n" + string(list) + "\n"
	pend, err := json.Marshal(pending)
	if err != nil {
		return err
	}
	if pending == nil {
		pend = []byte("[]")
	}
	h := &Host{
		HTTPS: &Endpoint{Status: http.StatusNotFound, Paths: map[string]*Endpoint{
			"/transport_security_state_static.json": {Body: base64.StdEncoding.EncodeToString([]byte(text)),
				Header: [][2]string{{"Content-Type", "text/plain; charset=utf-8"}}},
			"/api/v2/pending": {Body: string(pend), Header: [][2]string{{"Content-Type", "application/json"}}},
		}},
	}
	if err := l.addWebHost(context.Background(), PreloadHost, h); err != nil {
		return fmt.Errorf("preload list host: %w", err)
	}
	l.PreloadURL = "https://" + PreloadHost + "/transport_security_state_static.json"
	l.PendingURL = "https://" + PreloadHost + "/api/v2/pending"
	return nil
}
