package smtpserver

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"net/smtp"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"
)

const hostname = "mx.lab.gov"

var (
	certOnce  sync.Once
	serverTLS *tls.Config
	clientTLS *tls.Config
)

// testTLS returns a server config with a fresh self-signed certificate and
// a client config that trusts only it.
func testTLS(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	certOnce.Do(func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber:          big.NewInt(1),
			Subject:               pkix.Name{CommonName: hostname},
			DNSNames:              []string{hostname},
			NotBefore:             time.Now().Add(-time.Hour),
			NotAfter:              time.Now().Add(time.Hour),
			KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
			ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			BasicConstraintsValid: true,
			IsCA:                  true,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			panic(err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			panic(err)
		}
		pool := x509.NewCertPool()
		pool.AddCert(cert)
		serverTLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}}}
		clientTLS = &tls.Config{RootCAs: pool, ServerName: hostname}
	})
	return serverTLS, clientTLS.Clone()
}

func start(t *testing.T, b Behaviour) (*Server, string) {
	t.Helper()
	if b.Hostname == "" {
		b.Hostname = hostname
	}
	s, addr, err := Start("127.0.0.1:0", b)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, addr
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}

func smtpClient(t *testing.T, addr string) *smtp.Client {
	t.Helper()
	c, err := smtp.NewClient(dial(t, addr), hostname)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// expect reads one (possibly multi-line) reply and checks its code.
func expect(t *testing.T, tp *textproto.Conn, code int) string {
	t.Helper()
	got, msg, err := tp.ReadResponse(0)
	if err != nil || got != code {
		t.Fatalf("reply %d %q, %v; want %d", got, msg, err, code)
	}
	return msg
}

func TestBanner(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    Behaviour
		want string
	}{
		{"default", Behaviour{}, "220 mx.lab.gov ESMTP domain-scan lab"},
		{"custom", Behaviour{Banner: "220-first line"}, "220-first line"},
		{"greeting code", Behaviour{GreetingCode: 554}, "554 mx.lab.gov ESMTP domain-scan lab"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, addr := start(t, tc.b)
			line, err := bufio.NewReader(dial(t, addr)).ReadString('\n')
			if err != nil || line != tc.want+"\r\n" {
				t.Errorf("banner %q, %v; want %q", line, err, tc.want)
			}
		})
	}
}

func TestEHLOAdvertisesSTARTTLSOnlyWhenEnabled(t *testing.T) {
	srvTLS, _ := testTLS(t)
	for _, enabled := range []bool{false, true} {
		_, addr := start(t, Behaviour{StartTLS: enabled, TLS: srvTLS})
		c := smtpClient(t, addr)
		if err := c.Hello("client.lab.gov"); err != nil {
			t.Fatal(err)
		}
		if got, _ := c.Extension("STARTTLS"); got != enabled {
			t.Errorf("StartTLS=%v: STARTTLS advertised %v", enabled, got)
		}
		for _, ext := range []string{"PIPELINING", "8BITMIME"} {
			if ok, _ := c.Extension(ext); !ok {
				t.Errorf("default extension %s missing", ext)
			}
		}
		if ok, size := c.Extension("SIZE"); !ok || size != "10240000" {
			t.Errorf("SIZE = %v %q", ok, size)
		}
		if err := c.Quit(); err != nil {
			t.Error(err)
		}
	}
}

func TestEHLOMultilineForm(t *testing.T) {
	_, addr := start(t, Behaviour{Extensions: []string{"X-ONE", "X-TWO"}})
	conn := dial(t, addr)
	r := bufio.NewReader(conn)
	if _, err := r.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	io.WriteString(conn, "EHLO client.lab.gov\r\n")
	want := []string{"250-mx.lab.gov greets client.lab.gov\r\n", "250-X-ONE\r\n", "250 X-TWO\r\n"}
	for _, w := range want {
		if got, err := r.ReadString('\n'); err != nil || got != w {
			t.Fatalf("got %q, %v; want %q", got, err, w)
		}
	}
}

func TestSTARTTLS(t *testing.T) {
	srvTLS, cliTLS := testTLS(t)
	_, addr := start(t, Behaviour{StartTLS: true, TLS: srvTLS})
	c := smtpClient(t, addr)
	if err := c.Hello("client.lab.gov"); err != nil {
		t.Fatal(err)
	}
	if err := c.StartTLS(cliTLS); err != nil {
		t.Fatal(err)
	}
	state, ok := c.TLSConnectionState()
	if !ok || !state.HandshakeComplete || state.PeerCertificates[0].Subject.CommonName != hostname {
		t.Fatalf("TLS state %v %+v", ok, state)
	}
	// net/smtp sends EHLO again after the handshake.
	if ok, _ := c.Extension("STARTTLS"); ok {
		t.Error("STARTTLS advertised again inside TLS")
	}
	if err := c.Noop(); err != nil {
		t.Error(err)
	}
	if err := c.Quit(); err != nil {
		t.Error(err)
	}
}

func TestSTARTTLSRefused(t *testing.T) {
	srvTLS, cliTLS := testTLS(t)
	_, addr := start(t, Behaviour{StartTLS: true, TLS: srvTLS, StartTLSCode: 454})
	c := smtpClient(t, addr)
	err := c.StartTLS(cliTLS)
	var te *textproto.Error
	if !errors.As(err, &te) || te.Code != 454 {
		t.Fatalf("StartTLS err = %v, want 454", err)
	}
	if err := c.Noop(); err != nil {
		t.Errorf("session unusable after refusal: %v", err)
	}
}

func TestSTARTTLSNotOffered(t *testing.T) {
	_, addr := start(t, Behaviour{})
	tp := textproto.NewConn(dial(t, addr))
	expect(t, tp, 220)
	tp.PrintfLine("STARTTLS")
	expect(t, tp, 502)
}

func TestGreetingCodeThenEHLO(t *testing.T) {
	_, addr := start(t, Behaviour{GreetingCode: 554})
	tp := textproto.NewConn(dial(t, addr))
	expect(t, tp, 554)
	tp.PrintfLine("EHLO client.lab.gov")
	expect(t, tp, 250)
}

func TestCloseAfterGreeting(t *testing.T) {
	_, addr := start(t, Behaviour{CloseAfterGreeting: true})
	c := smtpClient(t, addr) // the 220 banner still arrives
	err := c.Hello("client.lab.gov")
	if err == nil {
		t.Fatal("EHLO succeeded on a closed connection")
	}
	// Usually io.EOF; a reset is possible if the EHLO reached a dead socket.
	if !errors.Is(err, io.EOF) {
		t.Logf("EHLO error: %v", err)
	}
}

func TestEHLORefusedHELOWorks(t *testing.T) {
	_, addr := start(t, Behaviour{EHLOCode: 502})
	tp := textproto.NewConn(dial(t, addr))
	expect(t, tp, 220)
	tp.PrintfLine("EHLO client.lab.gov")
	expect(t, tp, 502)
	tp.PrintfLine("HELO client.lab.gov")
	if msg := expect(t, tp, 250); msg != hostname {
		t.Errorf("HELO reply %q", msg)
	}

	// net/smtp falls back to HELO by itself.
	c := smtpClient(t, addr)
	if err := c.Hello("client.lab.gov"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.Extension("PIPELINING"); ok {
		t.Error("extensions reported after HELO")
	}
}

func TestHELOCode(t *testing.T) {
	_, addr := start(t, Behaviour{EHLOCode: 502, HELOCode: 421})
	c := smtpClient(t, addr)
	var te *textproto.Error
	if err := c.Hello("client.lab.gov"); !errors.As(err, &te) || te.Code != 421 {
		t.Errorf("Hello err = %v, want 421", err)
	}
}

func TestSilent(t *testing.T) {
	_, addr := start(t, Behaviour{Silent: true})
	conn := dial(t, addr)
	_ = conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	_, err := conn.Read(make([]byte, 1))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("read err = %v, want a timeout", err)
	}
}

func TestConnectionDeadline(t *testing.T) {
	_, addr := start(t, Behaviour{Timeout: 200 * time.Millisecond})
	conn := dial(t, addr)
	start := time.Now()
	_, err := io.Copy(io.Discard, conn) // banner, then EOF at the deadline
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("connection lasted %v", d)
	}
}

func TestImplicitTLS(t *testing.T) {
	srvTLS, cliTLS := testTLS(t)
	_, addr := start(t, Behaviour{Implicit: true, StartTLS: true, TLS: srvTLS})
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", addr, cliTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	c, err := smtp.NewClient(conn, hostname)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Hello("client.lab.gov"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		t.Error("STARTTLS advertised inside implicit TLS")
	}
	if err := c.Quit(); err != nil {
		t.Error(err)
	}
}

func TestLongLine(t *testing.T) {
	_, addr := start(t, Behaviour{MaxLineLength: 1024})
	conn := dial(t, addr)
	tp := textproto.NewConn(conn)
	expect(t, tp, 220)
	tp.PrintfLine("NOOP %s", strings.Repeat("x", 5000))
	expect(t, tp, 500)
	if _, err := tp.ReadLine(); !errors.Is(err, io.EOF) {
		t.Errorf("after 500: %v, want EOF", err)
	}
}

func TestCommands(t *testing.T) {
	_, addr := start(t, Behaviour{})
	tp := textproto.NewConn(dial(t, addr))
	expect(t, tp, 220)
	for _, step := range []struct {
		cmd  string
		code int
	}{
		{"NOOP", 250},
		{"MAIL FROM:<a@lab.gov>", 503}, // no EHLO yet
		{"EHLO", 501},
		{"helo client.lab.gov", 250},
		{"RCPT TO:<b@lab.gov>", 503}, // no MAIL yet
		{"MAIL FROM:<a@lab.gov>", 250},
		{"RCPT TO:<b@lab.gov>", 250},
		{"DATA", 502},
		{"RSET", 250},
		{"VRFY postmaster", 500},
		{"", 500},
		{"QUIT", 221},
	} {
		tp.PrintfLine("%s", step.cmd)
		expect(t, tp, step.code)
	}
	if _, err := tp.ReadLine(); !errors.Is(err, io.EOF) {
		t.Errorf("after QUIT: %v, want EOF", err)
	}
}

func TestConnectionsCounted(t *testing.T) {
	s, addr := start(t, Behaviour{})
	for range 3 {
		c := smtpClient(t, addr)
		c.Quit()
	}
	if got := s.Connections(); got != 3 {
		t.Errorf("Connections() = %d, want 3", got)
	}
}

func TestCloseEndsLiveConnections(t *testing.T) {
	s, addr, err := Start("127.0.0.1:0", Behaviour{Silent: true})
	if err != nil {
		t.Fatal(err)
	}
	conns := make([]net.Conn, 3)
	for i := range conns {
		conns[i] = dial(t, addr)
	}
	for deadline := time.Now().Add(2 * time.Second); s.Connections() < 3 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v", d)
	}
	for _, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		var ne net.Error
		if _, err := c.Read(make([]byte, 1)); errors.As(err, &ne) && ne.Timeout() {
			t.Error("connection still open after Close")
		}
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("listener still accepting after Close")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Serve(l); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after Close = %v", err)
	}
}

func TestServeReturnsWhenListenerClosed(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- Serve(l, Behaviour{}) }()
	l.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve = %v, want nil", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Serve did not return")
	}
}

type fakeListener struct{ net.Listener }

func (fakeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4zero, Port: 25} }

func TestRefusesNonLoopback(t *testing.T) {
	if err := Serve(fakeListener{}, Behaviour{}); err == nil {
		t.Error("Serve accepted a wildcard listener")
	}
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "localhost:0"} {
		if s, _, err := Start(addr, Behaviour{}); err == nil {
			s.Close()
			t.Errorf("Start(%q) succeeded", addr)
		}
	}
	if _, _, err := Start("127.0.0.1:0", Behaviour{StartTLS: true}); err == nil {
		t.Error("StartTLS without a TLS config accepted")
	}
}
