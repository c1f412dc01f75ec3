package tlsprobe

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"

	"golang.org/x/crypto/cryptobyte"
)

// Kind is what the server did in answer to a ClientHello.
type Kind int

const (
	// ServerHello: a ServerHello, an SSLv2 SERVER-HELLO, or a TLS 1.3
	// HelloRetryRequest (which also names the suite the server chose).
	ServerHello Kind = iota + 1
	// Alert: a fatal TLS alert (Answer.Alert holds its description) or an
	// SSLv2 ERROR message.
	Alert
	// Closed: EOF or reset before any byte of an answer.
	Closed
	// Timeout: no complete answer before the deadline.
	Timeout
	// Garbage: an answer that is not TLS (or SSLv2), is malformed or
	// truncated, or exceeds the read limit.
	Garbage
	// ConnectFailed: Config.Dial failed (including a failed STARTTLS), so
	// no hello was sent.
	ConnectFailed
)

func (k Kind) String() string {
	switch k {
	case ServerHello:
		return "ServerHello"
	case Alert:
		return "Alert"
	case Closed:
		return "Closed"
	case Timeout:
		return "Timeout"
	case Garbage:
		return "Garbage"
	case ConnectFailed:
		return "ConnectFailed"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Answer is the server's answer to one ClientHello. Kind 0 means no hello
// was sent because the arguments were invalid (Err says why).
type Answer struct {
	Kind Kind
	// Version is the version the server chose: the ServerHello's
	// supported_versions value if present, else its legacy version; the
	// SERVER-HELLO's version for SSLv2 (SSL20 for an SSLv2 ERROR).
	Version Version
	// Suite is the chosen suite; for SSLv2, the first kind of the server's
	// list that the client offered (0 if none).
	Suite uint32
	// SSLv2Suites are the kinds of an SSLv2 SERVER-HELLO that the client
	// offered, in the server's order.
	SSLv2Suites []uint32
	// Alert is the alert description; for an SSLv2 ERROR message, the low
	// byte of its error code (1 = NO-CIPHER-ERROR).
	Alert uint8
	// SecureRenegotiation: the ServerHello carried renegotiation_info.
	SecureRenegotiation bool
	// HelloRetry: the ServerHello is a TLS 1.3 HelloRetryRequest.
	HelloRetry bool
	// Certificates is the DER chain of the Certificate message after a TLS
	// <= 1.2 ServerHello, or the SSLv2 server certificate; only read when
	// Config.WantCertificates is set. Nil when none was sent (anonymous
	// suites) or it could not be read (then Err says why while Kind stays
	// ServerHello).
	Certificates [][]byte
	Err          error
}

// Read limits: the whole answer, and one record (RFC 5246 6.2.3 allows
// 2^14 + 2048 bytes of ciphertext; nothing legitimate comes close).
const (
	maxAnswer = 256 << 10
	maxRecord = 1<<14 + 2048
)

// helloRetryRandom marks a HelloRetryRequest (RFC 8446 4.1.3).
var helloRetryRandom = []byte{
	0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
	0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
}

var errTooLong = errors.New("tlsprobe: answer exceeds 256 KiB")

// garbageError says the server's bytes are not what the protocol allows.
type garbageError struct{ msg string }

func (e *garbageError) Error() string { return "tlsprobe: " + e.msg }

func garbagef(format string, args ...any) error {
	return &garbageError{fmt.Sprintf(format, args...)}
}

// AlertError is a fatal TLS alert, as Answer.Err reports one that arrived
// after the ServerHello.
type AlertError struct{ Level, Description uint8 }

func (e *AlertError) Error() string {
	return fmt.Sprintf("tlsprobe: TLS alert %d (level %d)", e.Description, e.Level)
}

// answerReader reads one answer, never more than maxAnswer bytes in total.
type answerReader struct {
	r      io.Reader
	n      int    // bytes read from r
	peeked []byte // bytes read ahead, returned first
	hs     []byte // handshake bytes not yet returned as messages
}

func (ar *answerReader) readFull(p []byte) error {
	k := copy(p, ar.peeked)
	ar.peeked = ar.peeked[k:]
	p = p[k:]
	if len(p) == 0 {
		return nil
	}
	if ar.n+len(p) > maxAnswer {
		return errTooLong
	}
	n, err := io.ReadFull(ar.r, p)
	ar.n += n
	if err == io.EOF && k > 0 {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// readAnswer reads and classifies the answer to a hello of version v that
// offered the given suites.
func readAnswer(r io.Reader, v Version, offered []uint32, wantCerts bool) Answer {
	ar := &answerReader{r: r}
	var head [2]byte
	if err := ar.readFull(head[:]); err != nil {
		return ar.failure(err)
	}
	if head[0]&0x80 != 0 && v == SSL20 {
		return ar.readSSLv2(head, offered, wantCerts)
	}
	// Decide on the first two bytes, so that a plain-text answer (an HTTP
	// or SMTP server) is garbage at once rather than after a wait.
	if head[0] < recordChangeCipherSpec || head[0] > recordApplicationData || head[1] != 3 {
		return ar.failure(garbagef("answer starts % x, not a TLS record", head))
	}
	ar.peeked = head[:]

	var a Answer
	for {
		typ, body, err := ar.nextHandshake()
		if err != nil {
			return ar.failure(err)
		}
		if typ == typeHelloRequest && len(body) == 0 {
			continue // may be ignored during a handshake (RFC 5246 7.4.1.1)
		}
		if typ != typeServerHello {
			return ar.failure(garbagef("handshake message %d instead of a ServerHello", typ))
		}
		if a, err = parseServerHello(body); err != nil {
			return ar.failure(err)
		}
		break
	}
	if !wantCerts || a.HelloRetry || a.Version >= TLS13 {
		return a // in TLS 1.3 everything after the ServerHello is encrypted
	}
	for {
		typ, body, err := ar.nextHandshake()
		if err != nil {
			a.Err = fmt.Errorf("tlsprobe: reading the certificate: %w", err)
			return a
		}
		switch typ {
		case typeCertificate:
			chain, err := parseCertificate(body)
			if err != nil {
				a.Err = err
				return a
			}
			a.Certificates = chain
			return a
		case typeServerHelloDone:
			return a // anonymous suite: no certificate
		}
	}
}

// failure classifies an error that ended reading before a ServerHello.
func (ar *answerReader) failure(err error) Answer {
	var alert *AlertError
	var garbage *garbageError
	switch {
	case errors.As(err, &alert):
		return Answer{Kind: Alert, Alert: alert.Description}
	case errors.As(err, &garbage), errors.Is(err, errTooLong):
		return Answer{Kind: Garbage, Err: err}
	case isTimeout(err):
		return Answer{Kind: Timeout, Err: fmt.Errorf("tlsprobe: waiting for the answer: %w", err)}
	case ar.n == 0:
		return Answer{Kind: Closed, Err: fmt.Errorf("tlsprobe: connection closed without an answer: %w", err)}
	}
	return Answer{Kind: Garbage, Err: fmt.Errorf("tlsprobe: truncated answer after %d bytes: %w", ar.n, err)}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// nextRecord reads one TLS record.
func (ar *answerReader) nextRecord() (uint8, []byte, error) {
	var h [5]byte
	if err := ar.readFull(h[:]); err != nil {
		return 0, nil, err
	}
	if h[0] < recordChangeCipherSpec || h[0] > recordApplicationData || h[1] != 3 {
		return 0, nil, garbagef("not a TLS record header: % x", h)
	}
	n := int(h[3])<<8 | int(h[4])
	if n > maxRecord {
		return 0, nil, garbagef("%d-byte record exceeds the protocol limit", n)
	}
	body := make([]byte, n)
	if err := ar.readFull(body); err != nil {
		return 0, nil, err
	}
	return h[0], body, nil
}

// nextHandshake returns the next handshake message, reassembled across
// records. Warning alerts are skipped: some servers send unrecognized_name
// as a warning before their ServerHello.
func (ar *answerReader) nextHandshake() (uint8, []byte, error) {
	for {
		if len(ar.hs) >= 4 {
			n := int(ar.hs[1])<<16 | int(ar.hs[2])<<8 | int(ar.hs[3])
			if n > maxAnswer {
				return 0, nil, garbagef("%d-byte handshake message", n)
			}
			if len(ar.hs) >= 4+n {
				typ, body := ar.hs[0], ar.hs[4:4+n]
				ar.hs = ar.hs[4+n:]
				return typ, body, nil
			}
		}
		typ, body, err := ar.nextRecord()
		if err != nil {
			return 0, nil, err
		}
		switch typ {
		case recordHandshake:
			ar.hs = append(ar.hs, body...)
		case recordAlert:
			if len(body) < 2 {
				return 0, nil, garbagef("%d-byte alert record", len(body))
			}
			if body[0] == 1 && body[1] != 0 {
				continue
			}
			return 0, nil, &AlertError{Level: body[0], Description: body[1]}
		default:
			return 0, nil, garbagef("record type %d during the handshake", typ)
		}
	}
}

// parseServerHello parses a ServerHello body (RFC 5246 7.4.1.3, RFC 8446
// 4.1.3); SSLv3-era hellos may lack the extensions block.
func parseServerHello(body []byte) (Answer, error) {
	s := cryptobyte.String(body)
	var version, suite uint16
	var random []byte
	var sessionID cryptobyte.String
	var compression uint8
	if !s.ReadUint16(&version) || !s.ReadBytes(&random, 32) ||
		!s.ReadUint8LengthPrefixed(&sessionID) || len(sessionID) > 32 ||
		!s.ReadUint16(&suite) || !s.ReadUint8(&compression) {
		return Answer{}, garbagef("malformed ServerHello")
	}
	a := Answer{
		Kind:       ServerHello,
		Version:    Version(version),
		Suite:      uint32(suite),
		HelloRetry: bytes.Equal(random, helloRetryRandom),
	}
	if s.Empty() {
		return a, nil
	}
	var exts cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&exts) || !s.Empty() {
		return Answer{}, garbagef("malformed ServerHello extensions")
	}
	for !exts.Empty() {
		var typ uint16
		var data cryptobyte.String
		if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&data) {
			return Answer{}, garbagef("malformed ServerHello extensions")
		}
		switch typ {
		case extRenegotiationInfo:
			a.SecureRenegotiation = true
		case extSupportedVersions:
			var v uint16
			if !data.ReadUint16(&v) || !data.Empty() {
				return Answer{}, garbagef("malformed supported_versions")
			}
			a.Version = Version(v)
		}
	}
	return a, nil
}

// parseCertificate parses a TLS <= 1.2 Certificate message body.
func parseCertificate(body []byte) ([][]byte, error) {
	s := cryptobyte.String(body)
	var list cryptobyte.String
	if !s.ReadUint24LengthPrefixed(&list) || !s.Empty() {
		return nil, garbagef("malformed Certificate message")
	}
	chain := [][]byte{}
	for !list.Empty() {
		var cert cryptobyte.String
		if !list.ReadUint24LengthPrefixed(&cert) {
			return nil, garbagef("malformed Certificate message")
		}
		chain = append(chain, cert)
	}
	return chain, nil
}

// readSSLv2 reads the rest of an SSLv2 record whose two-byte header is head
// and parses the SERVER-HELLO or ERROR in it. Three-byte headers (only
// needed for padded, encrypted records) are not expected here.
func (ar *answerReader) readSSLv2(head [2]byte, offered []uint32, wantCerts bool) Answer {
	body := make([]byte, int(head[0]&0x7f)<<8|int(head[1]))
	if err := ar.readFull(body); err != nil {
		return ar.failure(err)
	}
	a, err := parseSSLv2(body, offered, wantCerts)
	if err != nil {
		return ar.failure(err)
	}
	return a
}

// parseSSLv2 parses an SSLv2 SERVER-HELLO or ERROR message.
func parseSSLv2(body []byte, offered []uint32, wantCerts bool) (Answer, error) {
	s := cryptobyte.String(body)
	var typ uint8
	if !s.ReadUint8(&typ) {
		return Answer{}, garbagef("empty SSLv2 record")
	}
	switch typ {
	case sslv2Error:
		var code uint16
		if !s.ReadUint16(&code) {
			return Answer{}, garbagef("malformed SSLv2 ERROR")
		}
		return Answer{Kind: Alert, Version: SSL20, Alert: uint8(code)}, nil
	case sslv2ServerHello:
	default:
		return Answer{}, garbagef("SSLv2 message %d instead of a SERVER-HELLO", typ)
	}
	var sessionIDHit, certType uint8
	var version, certLen, specsLen, connIDLen uint16
	var cert, specs []byte
	if !s.ReadUint8(&sessionIDHit) || !s.ReadUint8(&certType) || !s.ReadUint16(&version) ||
		!s.ReadUint16(&certLen) || !s.ReadUint16(&specsLen) || !s.ReadUint16(&connIDLen) ||
		specsLen%3 != 0 || !s.ReadBytes(&cert, int(certLen)) || !s.ReadBytes(&specs, int(specsLen)) ||
		!s.Skip(int(connIDLen)) {
		return Answer{}, garbagef("malformed SSLv2 SERVER-HELLO")
	}
	a := Answer{Kind: ServerHello, Version: Version(version)}
	for i := 0; i < len(specs); i += 3 {
		k := uint32(specs[i])<<16 | uint32(specs[i+1])<<8 | uint32(specs[i+2])
		if slices.Contains(offered, k) && !slices.Contains(a.SSLv2Suites, k) {
			a.SSLv2Suites = append(a.SSLv2Suites, k)
		}
	}
	if len(a.SSLv2Suites) > 0 {
		a.Suite = a.SSLv2Suites[0]
	}
	if wantCerts && len(cert) > 0 {
		a.Certificates = [][]byte{cert}
	}
	return a, nil
}
