// Package smtpserver is the lab's scriptable SMTP listener. It speaks just
// enough of the protocol for mail-security scanners (banner, EHLO/HELO,
// STARTTLS, implicit TLS) and can be told to misbehave in the ways real
// mail servers do: odd greetings, refused commands, silence, hang-ups.
// No mail is ever stored.
package smtpserver

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Defaults for zero Behaviour fields.
const (
	DefaultTimeout       = 30 * time.Second
	DefaultMaxLineLength = 4096
	defaultHostname      = "localhost"
)

// DefaultExtensions are advertised in the EHLO reply when
// Behaviour.Extensions is nil.
var DefaultExtensions = []string{"PIPELINING", "SIZE 10240000", "8BITMIME"}

// ErrServerClosed is returned by Serve on a Server that was already closed.
var ErrServerClosed = errors.New("smtpserver: server closed")

// Behaviour scripts how the server treats every connection. Zero values mean
// a well-behaved server.
type Behaviour struct {
	Hostname           string   // used in the banner and EHLO reply; default "localhost"
	Banner             string   // full greeting line without CRLF; default "<code> <Hostname> ESMTP domain-scan lab"
	GreetingCode       int      // code of the default banner; default 220 (e.g. 554)
	CloseAfterGreeting bool     // send the banner, then hang up
	Silent             bool     // accept and never send anything
	EHLOCode           int      // default 250; e.g. 502 (HELO still works)
	HELOCode           int      // default 250
	Extensions         []string // EHLO extensions besides STARTTLS; nil means DefaultExtensions, empty means none
	StartTLS           bool     // advertise and support STARTTLS (needs TLS)
	TLS                *tls.Config
	Implicit           bool // port 465 style: TLS handshake first (needs TLS)
	StartTLSCode       int  // reply to STARTTLS; default 220, e.g. 454 to refuse

	// Timeout is an absolute per-connection deadline, so a stuck client
	// cannot hold a goroutine forever; default DefaultTimeout.
	Timeout time.Duration
	// MaxLineLength bounds a command line including CRLF; a longer line
	// gets 500 and the connection is closed. Default DefaultMaxLineLength.
	MaxLineLength int
}

// Server serves one Behaviour on any number of listeners and keeps count of
// the connections it accepted.
type Server struct {
	b Behaviour

	mu        sync.Mutex
	closed    bool
	listeners map[net.Listener]struct{}
	conns     map[net.Conn]struct{}
	wg        sync.WaitGroup // live connections

	accepted atomic.Int64
}

// New returns a Server for b.
func New(b Behaviour) *Server {
	if b.Hostname == "" {
		b.Hostname = defaultHostname
	}
	if b.Banner == "" {
		code := b.GreetingCode
		if code == 0 {
			code = 220
		}
		b.Banner = fmt.Sprintf("%d %s ESMTP domain-scan lab", code, b.Hostname)
	}
	if b.EHLOCode == 0 {
		b.EHLOCode = 250
	}
	if b.HELOCode == 0 {
		b.HELOCode = 250
	}
	if b.Extensions == nil {
		b.Extensions = DefaultExtensions
	}
	if b.StartTLSCode == 0 {
		b.StartTLSCode = 220
	}
	if b.Timeout <= 0 {
		b.Timeout = DefaultTimeout
	}
	if b.MaxLineLength <= 0 {
		b.MaxLineLength = DefaultMaxLineLength
	}
	return &Server{
		b:         b,
		listeners: make(map[net.Listener]struct{}),
		conns:     make(map[net.Conn]struct{}),
	}
}

// Serve serves b on l until l is closed, then returns nil. It is a
// shorthand for New(b).Serve(l) when nothing needs counting or closing.
func Serve(l net.Listener, b Behaviour) error {
	return New(b).Serve(l)
}

// Start listens on addr, which must be a loopback IP address such as
// "127.0.0.1:0", serves b on it in the background and returns the address
// actually bound ("ip:port").
func Start(addr string, b Behaviour) (*Server, string, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, "", fmt.Errorf("smtpserver: %w", err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, "", fmt.Errorf("smtpserver: %q is not a loopback IP address", host)
	}
	s := New(b)
	if err := s.check(); err != nil {
		return nil, "", err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("smtpserver: %w", err)
	}
	// Registered before serving starts, so an immediate Close cannot miss l.
	s.track(l)
	go func() { _ = s.serve(l) }()
	return s, l.Addr().String(), nil
}

// check rejects Behaviours that cannot work.
func (s *Server) check() error {
	if (s.b.StartTLS || s.b.Implicit) && s.b.TLS == nil {
		return errors.New("smtpserver: StartTLS and Implicit need a TLS config")
	}
	return nil
}

// Connections counts the connections accepted so far.
func (s *Server) Connections() int64 { return s.accepted.Load() }

// Serve accepts connections on l until l or the Server is closed, handling
// each in its own goroutine. It refuses listeners bound to a non-loopback
// TCP address. It returns nil once l is closed.
func (s *Server) Serve(l net.Listener) error {
	if err := s.check(); err != nil {
		return err
	}
	if a, ok := l.Addr().(*net.TCPAddr); ok && !a.IP.IsLoopback() {
		return fmt.Errorf("smtpserver: refusing non-loopback listener %s", a)
	}
	if !s.track(l) {
		l.Close()
		return ErrServerClosed
	}
	return s.serve(l)
}

// track registers l so Close can close it; false if already closed.
func (s *Server) track(l net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.listeners[l] = struct{}{}
	return true
}

func (s *Server) serve(l net.Listener) error {
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
	}()
	var backoff time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Running out of descriptors under load is transient;
			// back off as net/http does instead of giving up.
			if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
				errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0

		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return nil
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		s.accepted.Add(1)

		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
			}()
			defer c.Close()
			s.handle(c)
		}()
	}
}

// Close closes every listener and live connection and waits for the
// connection goroutines to finish. Later Serve calls fail.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	var errs []error
	for l := range s.listeners {
		if err := l.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	for c := range s.conns {
		c.Close() // the handler reports nothing; errors here are moot
	}
	s.mu.Unlock()
	s.wg.Wait()
	return errors.Join(errs...)
}

// session is one SMTP dialogue.
type session struct {
	b      *Behaviour
	conn   net.Conn
	r      *bufio.Reader
	w      *bufio.Writer
	tls    bool
	helo   bool // EHLO/HELO seen since the start or since STARTTLS
	inMail bool // MAIL accepted, so RCPT and DATA may follow
}

var errLineTooLong = errors.New("line too long")

func (s *Server) handle(c net.Conn) {
	b := &s.b
	deadline := time.Now().Add(b.Timeout)
	_ = c.SetDeadline(deadline)

	if b.Silent {
		// Drain until the client leaves, the deadline passes or Close.
		_, _ = io.Copy(io.Discard, c)
		return
	}

	ss := &session{b: b, conn: c}
	if b.Implicit {
		tc := tls.Server(c, b.TLS)
		if err := tc.Handshake(); err != nil {
			return
		}
		ss.conn, ss.tls = tc, true
	}
	ss.reset()

	if ss.reply(b.Banner) != nil || b.CloseAfterGreeting {
		return
	}
	for {
		line, err := ss.readLine()
		if errors.Is(err, errLineTooLong) {
			_ = ss.reply("500 5.5.2 Line too long")
			lingerClose(c, deadline)
			return
		}
		if err != nil {
			return
		}
		if !ss.command(line) {
			return
		}
	}
}

// lingerClose half-closes c and briefly discards what the client is still
// sending. Closing with unread input makes the kernel send a reset, which
// can destroy the reply the client has not read yet.
func lingerClose(c net.Conn, deadline time.Time) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
	if soon := time.Now().Add(time.Second); soon.Before(deadline) {
		deadline = soon
	}
	_ = c.SetReadDeadline(deadline)
	_, _ = io.Copy(io.Discard, io.LimitReader(c, 1<<20))
}

// reset (re)wraps the connection, dropping anything buffered: after
// STARTTLS, plaintext the client pipelined must not be obeyed (RFC 3207).
func (ss *session) reset() {
	ss.r = bufio.NewReaderSize(ss.conn, ss.b.MaxLineLength)
	ss.w = bufio.NewWriter(ss.conn)
}

// readLine returns one line without its line ending.
func (ss *session) readLine() (string, error) {
	line, err := ss.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return "", errLineTooLong
	}
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(line), "\r\n"), nil
}

// reply sends lines as one reply, flushing it.
func (ss *session) reply(lines ...string) error {
	for _, l := range lines {
		ss.w.WriteString(l)
		ss.w.WriteString("\r\n")
	}
	return ss.w.Flush()
}

// multiline formats a reply with continuation markers: "250-a", "250 b".
func multiline(code int, texts ...string) []string {
	out := make([]string, len(texts))
	for i, t := range texts {
		sep := "-"
		if i == len(texts)-1 {
			sep = " "
		}
		out[i] = fmt.Sprintf("%d%s%s", code, sep, t)
	}
	return out
}

// command handles one command line; false ends the session.
func (ss *session) command(line string) bool {
	verb, arg, _ := strings.Cut(line, " ")
	arg = strings.TrimSpace(arg)
	b := ss.b
	var err error
	switch strings.ToUpper(verb) {
	case "EHLO":
		switch {
		case b.EHLOCode != 250:
			err = ss.reply(fmt.Sprintf("%d 5.5.1 EHLO not available", b.EHLOCode))
		case arg == "":
			err = ss.reply("501 5.5.4 Syntax: EHLO hostname")
		default:
			ss.helo, ss.inMail = true, false
			lines := append([]string{b.Hostname + " greets " + arg}, b.Extensions...)
			if b.StartTLS && !ss.tls {
				lines = append(lines, "STARTTLS")
			}
			err = ss.reply(multiline(250, lines...)...)
		}
	case "HELO":
		switch {
		case b.HELOCode != 250:
			err = ss.reply(fmt.Sprintf("%d 5.5.1 HELO not available", b.HELOCode))
		case arg == "":
			err = ss.reply("501 5.5.4 Syntax: HELO hostname")
		default:
			ss.helo, ss.inMail = true, false
			err = ss.reply("250 " + b.Hostname)
		}
	case "STARTTLS":
		switch {
		case ss.tls:
			err = ss.reply("503 5.5.1 TLS already active")
		case !b.StartTLS:
			err = ss.reply("502 5.5.1 STARTTLS not supported")
		case b.StartTLSCode != 220:
			err = ss.reply(fmt.Sprintf("%d 4.7.0 TLS not available", b.StartTLSCode))
		default:
			if ss.reply("220 2.0.0 Ready to start TLS") != nil {
				return false
			}
			tc := tls.Server(ss.conn, b.TLS)
			if tc.Handshake() != nil {
				return false
			}
			ss.conn, ss.tls = tc, true
			ss.helo, ss.inMail = false, false
			ss.reset()
		}
	case "NOOP":
		err = ss.reply("250 2.0.0 OK")
	case "RSET":
		ss.inMail = false
		err = ss.reply("250 2.0.0 OK")
	case "QUIT":
		_ = ss.reply("221 2.0.0 Bye")
		return false
	case "MAIL":
		if !ss.helo {
			err = ss.reply("503 5.5.1 Send EHLO or HELO first")
			break
		}
		ss.inMail = true
		err = ss.reply("250 2.1.0 OK")
	case "RCPT":
		if !ss.inMail {
			err = ss.reply("503 5.5.1 Send MAIL first")
			break
		}
		err = ss.reply("250 2.1.5 OK")
	case "DATA":
		// The lab stores no mail; refusing keeps the dialogue simple.
		err = ss.reply("502 5.5.1 This lab accepts no mail")
	default:
		err = ss.reply("500 5.5.2 Command not recognized")
	}
	return err == nil
}
