// Package legacytls is a TLS responder for the lab that answers a
// ClientHello the way servers with obsolete configurations do: SSLv2, SSLv3,
// EXPORT, NULL, anonymous, RC4 and DHE suites, TLS 1.3 CCM suites, no secure
// renegotiation. crypto/tls refuses to speak most of these, and a scanner's
// probe only looks at the first answer (ServerHello or alert), so the
// responder sends that answer and hangs up without completing a handshake.
package legacytls

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/cryptobyte"
)

// Protocol versions as they appear on the wire.
const (
	VersionSSL2  uint16 = 0x0002
	VersionSSL3  uint16 = 0x0300
	VersionTLS10 uint16 = 0x0301
	VersionTLS11 uint16 = 0x0302
	VersionTLS12 uint16 = 0x0303
	VersionTLS13 uint16 = 0x0304
)

// Config is what the responder accepts.
type Config struct {
	// Versions accepted, as wire values: 0x0002 (SSLv2), 0x0300, 0x0301,
	// 0x0302, 0x0303, 0x0304.
	Versions []uint16
	// Suites accepted, by IANA code point, in server preference order: the
	// first one of this list that the client offered and that is valid for
	// the negotiated version wins.
	Suites []uint16
	// SSLv2Kinds are the SSLv2 cipher kinds accepted (3-byte values such as
	// 0x010080), used only for SSLv2-format hellos.
	SSLv2Kinds []uint32
	// SecureRenegotiation puts an empty renegotiation_info extension in the
	// ServerHello when the client signalled support (RFC 5746). false is a
	// server that predates RFC 5746.
	SecureRenegotiation bool
	// Certificate is a DER chain sent after a TLS <= 1.2 ServerHello (not
	// for anonymous suites); Certificate[0] goes in an SSLv2 SERVER-HELLO.
	Certificate [][]byte
	// Timeout bounds each connection from accept to close; 0 means 5s.
	Timeout time.Duration
}

const defaultTimeout = 5 * time.Second

// lingerLimit bounds how long a connection is drained after the answer.
const lingerLimit = time.Second

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("legacytls: server closed")

// Server answers ClientHellos on any number of listeners.
type Server struct {
	cfg      Config
	accepted atomic.Int64

	mu        sync.Mutex
	closed    bool
	listeners map[net.Listener]struct{}
	wg        sync.WaitGroup // Serve calls, each waiting for its connections
}

// New returns a Server for c. c is copied; its slices must not be modified
// while the server runs.
func New(c Config) *Server {
	return &Server{
		cfg:       c,
		listeners: make(map[net.Listener]struct{}),
	}
}

// Serve answers connections on l with a fresh Server until l is closed.
func Serve(l net.Listener, c Config) error {
	return New(c).Serve(l)
}

// Serve accepts on l until l or the server is closed, answering one
// ClientHello per connection. It returns nil when l is closed by the caller
// and ErrServerClosed after Close. Connections it accepted are closed and
// finished before it returns. TCP listeners must be on a loopback address:
// the responder is a lab fixture and must not face a real network.
func (s *Server) Serve(l net.Listener) error {
	if a, ok := l.Addr().(*net.TCPAddr); ok && !a.IP.IsLoopback() {
		return fmt.Errorf("legacytls: refusing non-loopback listener %v", a)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.listeners[l] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()

	var (
		mu   sync.Mutex
		mine = make(map[net.Conn]struct{})
		wg   sync.WaitGroup
	)
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
		mu.Lock()
		for c := range mine {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}()

	var backoff time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			if s.isClosed() {
				return ErrServerClosed
			}
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Transient failures such as EMFILE: back off rather than spin
			// or give up, as net/http does.
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		s.accepted.Add(1)
		mu.Lock()
		mine[c] = struct{}{}
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.handle(c)
			mu.Lock()
			delete(mine, c)
			mu.Unlock()
		}()
	}
}

func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Close stops all Serve calls, closes their connections and waits for them.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	var err error
	for l := range s.listeners {
		if e := l.Close(); e != nil && !errors.Is(e, net.ErrClosed) && err == nil {
			err = e
		}
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

// Connections is the number of connections accepted so far.
func (s *Server) Connections() int64 { return s.accepted.Load() }

func (s *Server) handle(c net.Conn) {
	defer c.Close()
	timeout := s.cfg.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	deadline := time.Now().Add(timeout)
	_ = c.SetDeadline(deadline)

	var out []byte
	ch, err := readClientHello(io.LimitReader(c, maxHello+64))
	var ae *alertError
	switch {
	case err == nil:
		out = s.cfg.answer(ch)
	case errors.As(err, &ae):
		out = alertRecord(ae.version, ae.desc)
	}
	if len(out) > 0 {
		if _, err := c.Write(out); err != nil {
			return
		}
	}
	// Closing with unread input makes the kernel send RST, which can
	// destroy the answer before the client reads it. Send FIN instead and
	// drain briefly so the client sees the answer and then EOF.
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	if linger := time.Now().Add(lingerLimit); linger.Before(deadline) {
		_ = c.SetReadDeadline(linger)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(c, maxHello))
}

// answer returns the bytes a server with this configuration sends in reply
// to ch; nil means hang up without answering.
func (c *Config) answer(ch *clientHello) []byte {
	if ch.v2 {
		return c.answerV2(ch)
	}
	v, ok := c.negotiateVersion(ch)
	if !ok {
		return alertRecord(clampVersion(ch.recordVersion), alertProtocolVersion)
	}
	return c.answerTLS(ch, v)
}

func (c *Config) accepts(v uint16) bool { return slices.Contains(c.Versions, v) }

// negotiateVersion picks the protocol version. A server configured for TLS
// 1.3 follows RFC 8446: supported_versions, when present, is the client's
// whole list. A server without 1.3 predates that extension and ignores it,
// taking every version up to legacy_version as offered.
func (c *Config) negotiateVersion(ch *clientHello) (uint16, bool) {
	var best uint16
	if c.accepts(VersionTLS13) && ch.supportedVersions != nil && !ch.v2 {
		for _, v := range ch.supportedVersions {
			if v >= VersionSSL3 && v <= VersionTLS13 && v > best && c.accepts(v) {
				best = v
			}
		}
		return best, best != 0
	}
	top := min(ch.version, VersionTLS12)
	for _, v := range c.Versions {
		if v >= VersionSSL3 && v <= top && v > best {
			best = v
		}
	}
	return best, best != 0
}

func (c *Config) pickSuite(ch *clientHello, v uint16) (uint16, bool) {
	for _, s := range c.Suites {
		if validSuite(s, v) && slices.Contains(ch.suites, s) {
			return s, true
		}
	}
	return 0, false
}

// answerTLS answers a hello for which version v was negotiated.
func (c *Config) answerTLS(ch *clientHello, v uint16) []byte {
	recVer := min(v, VersionTLS12) // TLS 1.3 records keep saying 1.2
	if !slices.Contains(ch.compression, 0) {
		return alertRecord(recVer, alertHandshakeFailure)
	}
	secureReneg := c.SecureRenegotiation && v < VersionTLS13 &&
		(ch.hasRenegInfo || slices.Contains(ch.suites, scsvRenegotiation))
	if secureReneg && len(ch.renegInfo) != 0 {
		// RFC 5746 3.6: an initial handshake must carry an empty value.
		return alertRecord(recVer, alertHandshakeFailure)
	}
	suite, ok := c.pickSuite(ch, v)
	if !ok {
		return alertRecord(recVer, alertHandshakeFailure)
	}
	if v == VersionTLS13 {
		return c.answerTLS13(ch, suite)
	}

	random := make([]byte, 32)
	rand.Read(random)
	if c.accepts(VersionTLS13) {
		// A 1.3-capable server marks a downgrade (RFC 8446 4.1.3) so that
		// 1.3 clients can detect it; real servers do, and clients check.
		copy(random[24:], "DOWNGRD\x00")
		if v == VersionTLS12 {
			random[31] = 1
		}
	}
	// A fresh session ID: echoing the client's would claim a resumption.
	sid := make([]byte, 32)
	rand.Read(sid)
	var exts func(*cryptobyte.Builder)
	if secureReneg {
		exts = func(b *cryptobyte.Builder) {
			b.AddUint16(extRenegotiationInfo)
			b.AddUint16(1)
			b.AddUint8(0) // empty renegotiated_connection
		}
	}
	flight := serverHello(v, random, sid, suite, exts)
	if len(c.Certificate) > 0 && !suiteInfos[suite].anonymous {
		flight = append(flight, certificateMsg(c.Certificate)...)
	}
	flight = append(flight, typeServerHelloDone, 0, 0, 0)
	return records(recordHandshake, v, flight)
}

// answerTLS13 sends the ServerHello alone: everything after it is encrypted
// and beyond a probe. A hello without key shares gets a HelloRetryRequest,
// as from a real server.
func (c *Config) answerTLS13(ch *clientHello, suite uint16) []byte {
	var share *keyShare
	for i := range ch.keyShares {
		if ch.keyShares[i].group == groupX25519 {
			share = &ch.keyShares[i]
			break
		}
	}
	if share == nil && len(ch.keyShares) > 0 {
		share = &ch.keyShares[0]
	}
	random := make([]byte, 32)
	var keyShareExt func(*cryptobyte.Builder)
	switch {
	case share != nil:
		rand.Read(random)
		key := serverKeyShare(share.group, share.key)
		keyShareExt = func(b *cryptobyte.Builder) {
			b.AddUint16(share.group)
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(key) })
		}
	case len(ch.groups) > 0:
		copy(random, helloRetryRandom)
		group := ch.groups[0]
		if slices.Contains(ch.groups, groupX25519) {
			group = groupX25519
		}
		keyShareExt = func(b *cryptobyte.Builder) { b.AddUint16(group) }
	default:
		return alertRecord(VersionTLS12, alertMissingExtension)
	}
	msg := serverHello(VersionTLS12, random, ch.sessionID, suite, func(b *cryptobyte.Builder) {
		b.AddUint16(extSupportedVersions)
		b.AddUint16(2)
		b.AddUint16(VersionTLS13)
		b.AddUint16(extKeyShare)
		b.AddUint16LengthPrefixed(keyShareExt)
	})
	return records(recordHandshake, VersionTLS12, msg)
}

// answerV2 answers an SSLv2-format CLIENT-HELLO. A client advertising SSLv3
// or TLS gets that protocol if the server has it (never TLS 1.3, RFC 8446
// appendix D.5); otherwise an SSLv2 server answers in SSLv2, and a server
// without SSLv2 refuses a pure SSLv2 client by hanging up.
func (c *Config) answerV2(ch *clientHello) []byte {
	if ch.version >= VersionSSL3 {
		if v, ok := c.negotiateVersion(ch); ok {
			return c.answerTLS(ch, v)
		}
	}
	if c.accepts(VersionSSL2) {
		var kinds []uint32
		for _, k := range c.SSLv2Kinds {
			if slices.Contains(ch.v2Kinds, k) && !slices.Contains(kinds, k) {
				kinds = append(kinds, k)
			}
		}
		if len(kinds) == 0 {
			return v2NoCipherError()
		}
		var cert []byte
		if len(c.Certificate) > 0 {
			cert = c.Certificate[0]
		}
		out, ok := v2ServerHello(cert, kinds)
		if !ok {
			return nil
		}
		return out
	}
	if ch.version >= VersionSSL3 && slices.ContainsFunc(c.Versions, func(v uint16) bool {
		return v >= VersionSSL3 && v <= VersionTLS12
	}) {
		return alertRecord(clampVersion(ch.version), alertProtocolVersion)
	}
	return nil
}
