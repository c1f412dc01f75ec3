package legacytls

import (
	"crypto/ecdh"
	"crypto/rand"
	"errors"
	"io"

	"golang.org/x/crypto/cryptobyte"
)

const (
	recordHandshake uint8 = 22
	recordAlert     uint8 = 21

	typeClientHello     uint8 = 1
	typeServerHello     uint8 = 2
	typeCertificate     uint8 = 11
	typeServerHelloDone uint8 = 14

	extSupportedGroups   uint16 = 10
	extSupportedVersions uint16 = 43
	extKeyShare          uint16 = 51
	extRenegotiationInfo uint16 = 0xff01

	alertUnexpectedMessage uint8 = 10
	alertRecordOverflow    uint8 = 22
	alertHandshakeFailure  uint8 = 40
	alertDecodeError       uint8 = 50
	alertProtocolVersion   uint8 = 70
	alertMissingExtension  uint8 = 109

	groupX25519 uint16 = 0x001d
)

const (
	maxHello    = 64 << 10     // cap on one ClientHello message, its 4-byte header included
	maxRecord   = 1<<14 + 2048 // largest record length a TLS peer may send
	maxFragment = 1 << 14      // largest plaintext fragment we send
)

// helloRetryRandom is the fixed ServerHello.random that marks a
// HelloRetryRequest (RFC 8446, 4.1.3).
var helloRetryRandom = []byte{
	0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
	0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
}

type keyShare struct {
	group uint16
	key   []byte
}

// clientHello is the part of a ClientHello (TLS or SSLv2 format) that the
// responder decides on.
type clientHello struct {
	v2            bool   // arrived in SSLv2 CLIENT-HELLO format
	recordVersion uint16 // first record's version (TLS format only)
	version       uint16 // legacy_version, or the SSLv2 hello's version
	sessionID     []byte
	suites        []uint16
	v2Kinds       []uint32 // SSLv2 format only
	compression   []byte

	supportedVersions []uint16 // nil when the extension is absent
	groups            []uint16
	keyShares         []keyShare
	renegInfo         []byte
	hasRenegInfo      bool
}

// alertError is a failure to read a ClientHello that a real server answers
// with a fatal alert; other read failures end the connection silently.
type alertError struct {
	desc    uint8
	version uint16
}

func (e *alertError) Error() string { return "legacytls: client hello rejected" }

var errNotHello = errors.New("legacytls: not a client hello")

// readClientHello reads exactly one ClientHello from r: TLS records holding a
// (possibly fragmented) client_hello handshake message, or one SSLv2 record.
func readClientHello(r io.Reader) (*clientHello, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:2]); err != nil {
		return nil, err
	}
	if hdr[0]&0x80 != 0 {
		// SSLv2 two-byte header; its 15-bit length is always under maxHello.
		body := make([]byte, int(hdr[0]&0x7f)<<8|int(hdr[1]))
		if _, err := io.ReadFull(r, body); err != nil {
			return nil, err
		}
		ch, ok := parseV2Hello(body)
		if !ok {
			return nil, errNotHello
		}
		return ch, nil
	}
	if hdr[0] != recordHandshake || hdr[1] != 3 {
		return nil, errNotHello
	}
	if _, err := io.ReadFull(r, hdr[2:]); err != nil {
		return nil, err
	}
	recVer := uint16(hdr[1])<<8 | uint16(hdr[2])
	fail := func(desc uint8) error { return &alertError{desc, clampVersion(recVer)} }

	var msg []byte
	for {
		n := int(hdr[3])<<8 | int(hdr[4])
		if n > maxRecord {
			return nil, fail(alertRecordOverflow)
		}
		if n == 0 {
			return nil, fail(alertDecodeError) // empty handshake fragments are forbidden
		}
		if len(msg)+n > maxHello+4 {
			return nil, fail(alertDecodeError)
		}
		frag := make([]byte, n)
		if _, err := io.ReadFull(r, frag); err != nil {
			return nil, err
		}
		msg = append(msg, frag...)
		if len(msg) >= 4 {
			if msg[0] != typeClientHello {
				return nil, fail(alertUnexpectedMessage)
			}
			need := 4 + (int(msg[1])<<16 | int(msg[2])<<8 | int(msg[3]))
			if need > maxHello {
				return nil, fail(alertDecodeError)
			}
			if len(msg) >= need {
				// Bytes after the hello (a pipelining client) are ignored.
				ch, ok := parseClientHello(msg[4:need])
				if !ok {
					return nil, fail(alertDecodeError)
				}
				ch.recordVersion = recVer
				return ch, nil
			}
		}
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return nil, err
		}
		if hdr[0] != recordHandshake {
			return nil, fail(alertUnexpectedMessage)
		}
	}
}

// parseClientHello parses a TLS ClientHello body (RFC 5246 7.4.1.2, RFC
// 8446 4.1.2). Extensions the responder does not act on are skipped.
func parseClientHello(body []byte) (*clientHello, bool) {
	s := cryptobyte.String(body)
	ch := new(clientHello)
	var sid, suites, comp cryptobyte.String
	if !s.ReadUint16(&ch.version) || !s.Skip(32) ||
		!s.ReadUint8LengthPrefixed(&sid) || len(sid) > 32 ||
		!s.ReadUint16LengthPrefixed(&suites) || len(suites) == 0 || len(suites)%2 != 0 ||
		!s.ReadUint8LengthPrefixed(&comp) || len(comp) == 0 {
		return nil, false
	}
	ch.sessionID = append([]byte(nil), sid...)
	ch.compression = append([]byte(nil), comp...)
	for !suites.Empty() {
		var id uint16
		suites.ReadUint16(&id)
		ch.suites = append(ch.suites, id)
	}
	if s.Empty() {
		return ch, true // SSLv3-era hellos may carry no extensions block
	}
	var exts cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&exts) || !s.Empty() {
		return nil, false
	}
	for !exts.Empty() {
		var typ uint16
		var data cryptobyte.String
		if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&data) {
			return nil, false
		}
		switch typ {
		case extSupportedVersions:
			var list cryptobyte.String
			if !data.ReadUint8LengthPrefixed(&list) || len(list) == 0 || len(list)%2 != 0 || !data.Empty() {
				return nil, false
			}
			ch.supportedVersions = []uint16{}
			for !list.Empty() {
				var v uint16
				list.ReadUint16(&v)
				ch.supportedVersions = append(ch.supportedVersions, v)
			}
		case extSupportedGroups:
			var list cryptobyte.String
			if !data.ReadUint16LengthPrefixed(&list) || len(list)%2 != 0 || !data.Empty() {
				return nil, false
			}
			for !list.Empty() {
				var g uint16
				list.ReadUint16(&g)
				ch.groups = append(ch.groups, g)
			}
		case extKeyShare:
			var list cryptobyte.String
			if !data.ReadUint16LengthPrefixed(&list) || !data.Empty() {
				return nil, false
			}
			for !list.Empty() {
				var ks keyShare
				var key cryptobyte.String
				if !list.ReadUint16(&ks.group) || !list.ReadUint16LengthPrefixed(&key) || len(key) == 0 {
					return nil, false
				}
				ks.key = append([]byte(nil), key...)
				ch.keyShares = append(ch.keyShares, ks)
			}
		case extRenegotiationInfo:
			var ri cryptobyte.String
			if !data.ReadUint8LengthPrefixed(&ri) || !data.Empty() {
				return nil, false
			}
			ch.hasRenegInfo = true
			ch.renegInfo = append([]byte(nil), ri...)
		}
	}
	return ch, true
}

// parseV2Hello parses an SSLv2 record body holding a CLIENT-HELLO (SSLv2
// draft; RFC 5246 appendix E.2 for the TLS-compatible variant).
func parseV2Hello(body []byte) (*clientHello, bool) {
	s := cryptobyte.String(body)
	var msgType uint8
	var specLen, sidLen, chalLen uint16
	ch := &clientHello{v2: true, compression: []byte{0}}
	var specs []byte
	if !s.ReadUint8(&msgType) || msgType != typeClientHello ||
		!s.ReadUint16(&ch.version) || !s.ReadUint16(&specLen) ||
		!s.ReadUint16(&sidLen) || !s.ReadUint16(&chalLen) ||
		specLen == 0 || specLen%3 != 0 || (sidLen != 0 && sidLen != 16) ||
		chalLen < 16 || chalLen > 32 ||
		!s.ReadBytes(&specs, int(specLen)) ||
		!s.Skip(int(sidLen)) ||
		!s.Skip(int(chalLen)) || !s.Empty() {
		return nil, false
	}
	for i := 0; i < len(specs); i += 3 {
		k := uint32(specs[i])<<16 | uint32(specs[i+1])<<8 | uint32(specs[i+2])
		ch.v2Kinds = append(ch.v2Kinds, k)
		if k>>16 == 0 {
			ch.suites = append(ch.suites, uint16(k)) // a TLS suite in 3-byte form
		}
	}
	return ch, true
}

func clampVersion(v uint16) uint16 {
	return max(VersionSSL3, min(v, VersionTLS12))
}

// records frames payload as TLS records of type typ, splitting at the
// protocol's 2^14-byte fragment limit.
func records(typ uint8, version uint16, payload []byte) []byte {
	var out []byte
	for len(payload) > 0 {
		n := min(len(payload), maxFragment)
		out = append(out, typ, byte(version>>8), byte(version), byte(n>>8), byte(n))
		out = append(out, payload[:n]...)
		payload = payload[n:]
	}
	return out
}

func alertRecord(version uint16, desc uint8) []byte {
	return records(recordAlert, version, []byte{2, desc}) // 2 = fatal
}

// serverHello builds a ServerHello handshake message; exts nil omits the
// extensions block entirely, as SSLv3-era servers do.
func serverHello(legacyVersion uint16, random, sessionID []byte, suite uint16, exts func(*cryptobyte.Builder)) []byte {
	b := cryptobyte.NewBuilder(nil)
	b.AddUint8(typeServerHello)
	b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddUint16(legacyVersion)
		b.AddBytes(random)
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(sessionID) })
		b.AddUint16(suite)
		b.AddUint8(0) // null compression
		if exts != nil {
			b.AddUint16LengthPrefixed(exts)
		}
	})
	return b.BytesOrPanic()
}

func certificateMsg(chain [][]byte) []byte {
	b := cryptobyte.NewBuilder(nil)
	b.AddUint8(typeCertificate)
	b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
			for _, c := range chain {
				b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(c) })
			}
		})
	})
	return b.BytesOrPanic()
}

// serverKeyShare returns a public value of the size the group's peers
// expect. Real ECDH keys are used where the standard library has the curve,
// so clients get past parsing; other groups get random bytes of the right
// length, which is all a probe looks at.
func serverKeyShare(group uint16, clientKey []byte) []byte {
	if c, ok := ecdhCurves[group]; ok {
		if k, err := c.GenerateKey(rand.Reader); err == nil {
			return k.PublicKey().Bytes()
		}
	}
	n, ok := keyShareSizes[group]
	if !ok {
		n = len(clientKey) // DH-like groups: the server share is as long as the client's
	}
	key := make([]byte, n)
	rand.Read(key)
	return key
}

var ecdhCurves = map[uint16]ecdh.Curve{
	0x001d: ecdh.X25519(), 0x0017: ecdh.P256(), 0x0018: ecdh.P384(), 0x0019: ecdh.P521(),
}

// keyShareSizes is the server share length for groups without a stdlib
// curve: x448, the FFDHE groups, ML-KEM ciphertexts and the hybrids.
var keyShareSizes = map[uint16]int{
	0x001e: 56,
	0x0100: 256, 0x0101: 384, 0x0102: 512, 0x0103: 768, 0x0104: 1024,
	0x0200: 768, 0x0201: 1088, 0x0202: 1568,
	0x11eb: 65 + 1088, 0x11ec: 1088 + 32, 0x11ed: 97 + 1568,
}

// v2Record frames an SSLv2 message with the two-byte header (no padding).
func v2Record(body []byte) ([]byte, bool) {
	if len(body) > 0x7fff {
		return nil, false
	}
	return append([]byte{0x80 | byte(len(body)>>8), byte(len(body))}, body...), true
}

// v2ServerHello builds an SSLv2 SERVER-HELLO listing the cipher kinds both
// sides support, as an SSLv2 server does (the client then picks one).
func v2ServerHello(cert []byte, kinds []uint32) ([]byte, bool) {
	if len(cert) > 0x7fff {
		return nil, false // cannot fit one SSLv2 record
	}
	connID := make([]byte, 16)
	rand.Read(connID)
	b := cryptobyte.NewBuilder(nil)
	b.AddUint8(4) // SERVER-HELLO
	b.AddUint8(0) // SESSION-ID-HIT: new session
	b.AddUint8(1) // CERTIFICATE-TYPE: X.509
	b.AddUint16(VersionSSL2)
	b.AddUint16(uint16(len(cert)))
	b.AddUint16(uint16(3 * len(kinds)))
	b.AddUint16(uint16(len(connID)))
	b.AddBytes(cert)
	for _, k := range kinds {
		b.AddUint24(k)
	}
	b.AddBytes(connID)
	return v2Record(b.BytesOrPanic())
}

// v2NoCipherError is the SSLv2 ERROR message an SSLv2 server sends when it
// shares no cipher kind with the client.
func v2NoCipherError() []byte {
	out, _ := v2Record([]byte{0, 0x00, 0x01}) // ERROR, NO-CIPHER-ERROR
	return out
}
