package tlsprobe

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/domainscan/domain-scan/internal/lab/pki"
	"github.com/domainscan/domain-scan/internal/lab/smtpserver"
)

func startSMTP(t *testing.T, b smtpserver.Behaviour) string {
	t.Helper()
	s, addr, err := smtpserver.Start("127.0.0.1:0", b)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return addr
}

func TestSMTPStartTLSEnumerate(t *testing.T) {
	cert := issue(t, pki.RSA2048)
	addr := startSMTP(t, smtpserver.Behaviour{
		StartTLS: true,
		TLS: &tls.Config{
			Certificates: []tls.Certificate{cert},
			MinVersion:   tls.VersionTLS12,
			MaxVersion:   tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA},
		},
		Timeout: 10 * time.Second,
	})
	cfg := testConfig(addr)
	cfg.Dial = SMTPDialer(addr, "")
	results := ProbeAll(ctxTimeout(t, time.Minute), cfg)
	checkResults(t, results, map[Version][]uint32{TLS12: {0xC02F, 0xC014}})
	if r := results[4]; len(r.First.Certificates) != len(cert.Certificate) {
		t.Errorf("certificates over STARTTLS: %d", len(r.First.Certificates))
	}
}

func TestSMTPStartTLSFailures(t *testing.T) {
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{issue(t, pki.RSA2048)}}
	tests := []struct {
		name  string
		b     smtpserver.Behaviour
		stage string // expected SMTPError stage; "" for other errors
	}{
		{"no STARTTLS", smtpserver.Behaviour{}, "STARTTLS"},
		{"STARTTLS refused", smtpserver.Behaviour{StartTLS: true, TLS: tlsCfg, StartTLSCode: 454}, "STARTTLS"},
		{"EHLO refused", smtpserver.Behaviour{EHLOCode: 502}, "EHLO"},
		{"554 greeting", smtpserver.Behaviour{GreetingCode: 554}, "banner"},
		{"hang-up after greeting", smtpserver.Behaviour{CloseAfterGreeting: true}, ""},
		{"silent", smtpserver.Behaviour{Silent: true}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr := startSMTP(t, tt.b)
			cfg := Config{Dial: SMTPDialer(addr, "probe.test"), Timeout: 300 * time.Millisecond}
			start := time.Now()
			a := Hello(context.Background(), cfg, TLS12, []uint32{0xC02F})
			if a.Kind != ConnectFailed || time.Since(start) > time.Second {
				t.Fatalf("got %v (%v) after %v", a.Kind, a.Err, time.Since(start))
			}
			var se *SMTPError
			if errors.As(a.Err, &se) != (tt.stage != "") || se != nil && se.Stage != tt.stage {
				t.Errorf("error %v, want stage %q", a.Err, tt.stage)
			}
		})
	}
}

// TestSMTPReplies covers reply parsing against a scripted peer.
func TestSMTPReplies(t *testing.T) {
	tests := []struct {
		name   string
		script func(c net.Conn, r *bufio.Reader)
		ok     bool
	}{
		{"multi-line replies", func(c net.Conn, r *bufio.Reader) {
			io.WriteString(c, "220-mx.example\r\n220-welcome\r\n220 ready\r\n")
			r.ReadString('\n')
			io.WriteString(c, "250-mx.example\r\n250-PIPELINING\r\n250 STARTTLS\r\n")
			r.ReadString('\n')
			io.WriteString(c, "220\r\n")
		}, true},
		{"mixed codes", func(c net.Conn, r *bufio.Reader) {
			io.WriteString(c, "220-mx.example\r\n250 ready\r\n")
		}, false},
		{"endless banner", func(c net.Conn, r *bufio.Reader) {
			io.WriteString(c, "220-")
			for {
				if _, err := io.WriteString(c, strings.Repeat("x", 4096)); err != nil {
					return
				}
			}
		}, false},
		{"data after 220", func(c net.Conn, r *bufio.Reader) {
			io.WriteString(c, "220 hi\r\n")
			r.ReadString('\n')
			io.WriteString(c, "250 ok\r\n")
			r.ReadString('\n')
			io.WriteString(c, "220 go ahead\r\n\x16\x03\x03")
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, func(c net.Conn) {
				tt.script(c, bufio.NewReader(c))
				io.Copy(io.Discard, c)
			})
			c, err := net.Dial("tcp", srv.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ctx := ctxTimeout(t, 2*time.Second)
			err = SMTPStartTLS(ctx, c, "")
			if (err == nil) != tt.ok {
				t.Errorf("err = %v", err)
			}
			if tt.name == "endless banner" && !errors.Is(err, errSMTPTooLong) {
				t.Errorf("endless banner: %v", err)
			}
		})
	}
	if err := SMTPStartTLS(context.Background(), nil, "bad name"); err == nil {
		t.Error("EHLO name with a space accepted")
	}
}
