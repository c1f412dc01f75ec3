// Package dnsserver is the lab's authoritative DNS server: a small in-memory
// zone answered over UDP and TCP on a loopback address, with per-name
// failure injection (rcodes, drops, delays) and a settable DNSSEC AD flag so
// scanners can be exercised without the internet.
package dnsserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

const (
	// udpReadBuffer is requested because at ~1,000 concurrent clients the
	// default socket buffer overflows and the kernel drops queries silently.
	udpReadBuffer = 8 << 20
	// udpMsgSize bounds incoming UDP queries; queries carrying EDNS0
	// options can exceed the 512 bytes the library would assume.
	udpMsgSize = 4096
	// ednsSize is advertised in replies to EDNS0 queries (the DNS flag day
	// 2020 value, which avoids fragmentation).
	ednsSize = 1232
	// bindAttempts bounds the search for a port free for both UDP and TCP.
	bindAttempts = 20
	// shutdownWait bounds how long Close waits for in-flight queries.
	shutdownWait = 5 * time.Second
)

// Server answers queries for a Zone over UDP and TCP on one loopback port.
type Server struct {
	zone *Zone
	dyn  Dynamic
	addr string

	udp, tcp *dns.Server
	done     chan struct{} // closed by Close; cuts Delay short
	queries  atomic.Int64

	serveWG   sync.WaitGroup
	serveErrs chan error
	closeOnce sync.Once
	closeErr  error
}

// Start listens on addr, which must be a loopback address such as
// "127.0.0.1:0", using the same port for UDP and TCP, and serves z. dyn, if
// not nil, answers names z does not contain.
func Start(addr string, z *Zone, dyn Dynamic) (*Server, error) {
	if z == nil {
		return nil, errors.New("dnsserver: nil zone")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("dnsserver: %w", err)
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("dnsserver: %q is not a loopback IP address", host)
	}

	pc, l, err := listenPair(ip, port)
	if err != nil {
		return nil, err
	}

	s := &Server{
		zone:      z,
		dyn:       dyn,
		addr:      pc.LocalAddr().String(),
		done:      make(chan struct{}),
		serveErrs: make(chan error, 2),
	}
	handler := dns.HandlerFunc(s.serveDNS)
	s.udp = &dns.Server{PacketConn: pc, Handler: handler, UDPSize: udpMsgSize}
	s.tcp = &dns.Server{Listener: l, Handler: handler}

	// Shutdown fails on a server that has not started yet, so Start only
	// returns once both are running (or one has failed).
	var started sync.WaitGroup
	for _, srv := range []*dns.Server{s.udp, s.tcp} {
		started.Add(1)
		notify := sync.OnceFunc(started.Done)
		srv.NotifyStartedFunc = notify
		s.serveWG.Add(1)
		go func() {
			defer s.serveWG.Done()
			if err := srv.ActivateAndServe(); err != nil {
				s.serveErrs <- err
			}
			notify() // in case serving failed before it started
		}()
	}
	started.Wait()
	select {
	case err := <-s.serveErrs:
		_ = s.Close()
		pc.Close() // the library leaves it open if it never started
		return nil, fmt.Errorf("dnsserver: serve: %w", err)
	default:
	}
	return s, nil
}

// listenPair binds UDP first and then TCP on the same port. With port "0"
// the kernel's UDP choice may already be taken for TCP, so it retries.
func listenPair(ip net.IP, port string) (*net.UDPConn, net.Listener, error) {
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return nil, nil, fmt.Errorf("dnsserver: bad port %q", port)
	}
	attempts := 1
	if p == 0 {
		attempts = bindAttempts
	}
	var lastErr error
	for range attempts {
		pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: p})
		if err != nil {
			return nil, nil, fmt.Errorf("dnsserver: listen udp: %w", err)
		}
		_ = pc.SetReadBuffer(udpReadBuffer) // best effort; the kernel may cap it
		got := pc.LocalAddr().(*net.UDPAddr).Port
		l, err := net.ListenTCP("tcp", &net.TCPAddr{IP: ip, Port: got})
		if err == nil {
			return pc, l, nil
		}
		pc.Close()
		lastErr = err
	}
	return nil, nil, fmt.Errorf("dnsserver: listen tcp: %w", lastErr)
}

// Addr is the "ip:port" served over both UDP and TCP.
func (s *Server) Addr() string { return s.addr }

// Queries counts the queries handled so far, answered or dropped.
func (s *Server) Queries() int64 { return s.queries.Load() }

// Close stops both listeners and waits for in-flight queries; delayed
// queries are abandoned without an answer. It is safe to call repeatedly.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		ctx, cancel := context.WithTimeout(context.Background(), shutdownWait)
		defer cancel()
		var errs []error
		for _, srv := range []*dns.Server{s.udp, s.tcp} {
			if err := srv.ShutdownContext(ctx); err != nil {
				errs = append(errs, err)
			}
		}
		s.serveWG.Wait()
		close(s.serveErrs)
		// ActivateAndServe returns nil after a shutdown; anything else
		// it returned was a real failure.
		for err := range s.serveErrs {
			errs = append(errs, err)
		}
		if err := errors.Join(errs...); err != nil {
			s.closeErr = fmt.Errorf("dnsserver: close: %w", err)
		}
	})
	return s.closeErr
}

// serveDNS answers one query.
func (s *Server) serveDNS(w dns.ResponseWriter, req *dns.Msg) {
	s.queries.Add(1)

	if len(req.Question) != 1 {
		m := new(dns.Msg)
		m.SetRcodeFormatError(req)
		_ = w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	qname := canonical(q.Name)

	b, hasBehaviour := s.zone.behaviourFor(qname)
	if hasBehaviour {
		if b.Drop {
			return
		}
		if b.Delay > 0 {
			t := time.NewTimer(b.Delay)
			select {
			case <-t.C:
			case <-s.done:
				t.Stop()
				return
			}
		}
	}

	m := new(dns.Msg)
	m.SetReply(req) // copies ID, opcode, RD and the question
	m.Authoritative = true
	m.RecursionAvailable = false

	if hasBehaviour && b.Rcode != dns.RcodeSuccess {
		m.Rcode = b.Rcode
		if b.Rcode == dns.RcodeNameError {
			m.Ns = []dns.RR{s.zone.soaFor(qname)}
			m.AuthenticatedData = s.zone.adFor(qname)
		}
	} else {
		s.resolve(m, q)
	}

	s.write(w, req, m)
}

// resolve fills in the answer for q, chasing CNAMEs within the zone.
func (s *Server) resolve(m *dns.Msg, q dns.Question) {
	name := canonical(q.Name)
	seen := map[string]bool{name: true}
	for hop := 0; ; hop++ {
		rrs, exists := s.zone.lookup(name, q.Qtype, s.dyn)
		if !exists {
			// RFC 6604: the rcode describes the last name in the chain.
			m.Rcode = dns.RcodeNameError
			break
		}
		if hop == 0 {
			// Echo the client's spelling, as servers usually do, so
			// 0x20-style case checks pass. Zone and Dynamic records
			// are shared, hence the copies.
			rrs = slices.Clone(rrs)
			for i, rr := range rrs {
				if rr.Header().Name != q.Name && canonical(rr.Header().Name) == name {
					rrs[i] = dns.Copy(rr)
					rrs[i].Header().Name = q.Name
				}
			}
		}
		m.Answer = append(m.Answer, rrs...)

		if q.Qtype == dns.TypeCNAME || q.Qtype == dns.TypeANY {
			break
		}
		target := cnameTarget(rrs, name)
		if target == "" || seen[target] || ownsAny(m.Answer, target) {
			break
		}
		seen[target] = true
		name = target
	}

	m.AuthenticatedData = s.zone.adFor(canonical(q.Name))
	if m.Rcode == dns.RcodeNameError || !answersType(m.Answer, q.Qtype) {
		m.Ns = []dns.RR{s.zone.soaFor(name)}
	}
}

// cnameTarget returns the canonical target of a CNAME owned by name, if any.
func cnameTarget(rrs []dns.RR, name string) string {
	for _, rr := range rrs {
		if c, ok := rr.(*dns.CNAME); ok && canonical(c.Hdr.Name) == name {
			return canonical(c.Target)
		}
	}
	return ""
}

// ownsAny reports whether rrs already hold records for name, as when a
// Dynamic function returned a CNAME together with its target's records.
func ownsAny(rrs []dns.RR, name string) bool {
	for _, rr := range rrs {
		if canonical(rr.Header().Name) == name {
			return true
		}
	}
	return false
}

// answersType reports whether the answer contains the asked-for type.
func answersType(rrs []dns.RR, qtype uint16) bool {
	if qtype == dns.TypeANY {
		return len(rrs) > 0
	}
	for _, rr := range rrs {
		if rr.Header().Rrtype == qtype {
			return true
		}
	}
	return false
}

// write sends m, echoing EDNS0 and truncating to what the client accepts
// over UDP so that it retries over TCP.
func (s *Server) write(w dns.ResponseWriter, req, m *dns.Msg) {
	size := dns.MaxMsgSize
	if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
		size = dns.MinMsgSize
	}
	if opt := req.IsEdns0(); opt != nil {
		if size == dns.MinMsgSize && int(opt.UDPSize()) > size {
			size = int(opt.UDPSize())
		}
		m.SetEdns0(ednsSize, opt.Do())
	}
	m.Truncate(size)
	_ = w.WriteMsg(m)
}
