package tlsprobe

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// DefaultEHLOName is the EHLO argument sslyze 2.1's SMTP helper sent.
const DefaultEHLOName = "sslyze.scan"

// maxSMTPRead bounds what one STARTTLS dialogue reads from the server.
const maxSMTPRead = 64 << 10

// SMTPError is an SMTP reply other than the one the dialogue needs.
type SMTPError struct {
	Stage string // "banner", "EHLO" or "STARTTLS"
	Code  int
	Reply string // the reply's last line
}

func (e *SMTPError) Error() string {
	return fmt.Sprintf("tlsprobe: SMTP %s: unexpected reply %q", e.Stage, e.Reply)
}

var errSMTPTooLong = errors.New("tlsprobe: SMTP replies exceed 64 KiB")

// TCPDialer returns a Config.Dial that connects to address ("host:port").
func TCPDialer(address string) func(context.Context) (net.Conn, error) {
	return func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", address)
	}
}

// SMTPDialer returns a Config.Dial that connects to address and does
// SMTPStartTLS with ehloName (DefaultEHLOName if empty).
func SMTPDialer(address, ehloName string) func(context.Context) (net.Conn, error) {
	return func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", address)
		if err != nil {
			return nil, err
		}
		if err := SMTPStartTLS(ctx, conn, ehloName); err != nil {
			conn.Close()
			return nil, err
		}
		return conn, nil
	}
}

// SMTPStartTLS does what sslyze's SMTP helper did on a fresh connection:
// read the banner (220), send "EHLO <ehloName>", read the 250 reply, send
// STARTTLS and require 220. Unlike sslyze it reads whole (multi-line)
// replies rather than one recv each. Reads are bounded to 64 KiB and by
// ctx's deadline; the connection's deadline is cleared on return.
func SMTPStartTLS(ctx context.Context, conn net.Conn, ehloName string) error {
	if ehloName == "" {
		ehloName = DefaultEHLOName
	}
	if strings.ContainsAny(ehloName, " \r\n") {
		return fmt.Errorf("tlsprobe: invalid EHLO name %q", ehloName)
	}
	deadline, _ := ctx.Deadline()
	if err := conn.SetDeadline(deadline); err != nil {
		return fmt.Errorf("tlsprobe: SMTP: setting deadline: %w", err)
	}
	defer conn.SetDeadline(time.Time{})
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	br := bufio.NewReader(&boundedReader{r: conn, limit: maxSMTPRead})
	steps := []struct {
		stage, send string
		want        int
	}{
		{"banner", "", 220},
		{"EHLO", "EHLO " + ehloName + "\r\n", 250},
		{"STARTTLS", "STARTTLS\r\n", 220},
	}
	for _, st := range steps {
		if st.send != "" {
			if _, err := io.WriteString(conn, st.send); err != nil {
				return fmt.Errorf("tlsprobe: SMTP %s: sending: %w", st.stage, err)
			}
		}
		code, last, err := readSMTPReply(br)
		if err != nil {
			return fmt.Errorf("tlsprobe: SMTP %s: %w", st.stage, err)
		}
		if code != st.want {
			return &SMTPError{Stage: st.stage, Code: code, Reply: last}
		}
	}
	// Plain text after "220 ready" would be taken for the TLS answer, and a
	// server that sends it is not one to trust (RFC 3207 5).
	if br.Buffered() > 0 {
		return fmt.Errorf("tlsprobe: SMTP STARTTLS: %d unexpected bytes after the reply", br.Buffered())
	}
	return nil
}

// readSMTPReply reads one reply ("250-a", ..., "250 z") and returns its
// code and last line.
func readSMTPReply(br *bufio.Reader) (int, string, error) {
	code := 0
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			if err == io.EOF && line != "" {
				err = io.ErrUnexpectedEOF
			}
			return 0, "", fmt.Errorf("reading reply: %w", err)
		}
		line = strings.TrimRight(line, "\r\n")
		c, more, ok := parseSMTPLine(line)
		if !ok || code != 0 && c != code {
			return 0, "", fmt.Errorf("malformed reply line %q", line)
		}
		code = c
		if !more {
			return code, line, nil
		}
	}
}

// boundedReader fails with errSMTPTooLong once limit bytes have been read,
// so that an endless reply ends in an error that says so.
type boundedReader struct {
	r     io.Reader
	limit int
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.limit <= 0 {
		return 0, errSMTPTooLong
	}
	if len(p) > b.limit {
		p = p[:b.limit]
	}
	n, err := b.r.Read(p)
	b.limit -= n
	return n, err
}

// parseSMTPLine splits "250-text" / "250 text" / "250".
func parseSMTPLine(line string) (code int, more, ok bool) {
	if len(line) < 3 {
		return 0, false, false
	}
	for i := 0; i < 3; i++ {
		if line[i] < '0' || line[i] > '9' {
			return 0, false, false
		}
		code = code*10 + int(line[i]-'0')
	}
	if len(line) == 3 {
		return code, false, true
	}
	switch line[3] {
	case '-':
		return code, true, true
	case ' ':
		return code, false, true
	}
	return code, false, false
}
