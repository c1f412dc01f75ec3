package tlsprobe

import (
	"crypto/ecdh"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"strings"

	"golang.org/x/crypto/cryptobyte"
)

// Wire constants (RFC 5246, RFC 8446, the SSLv2 draft).
const (
	recordChangeCipherSpec uint8 = 20
	recordAlert            uint8 = 21
	recordHandshake        uint8 = 22
	recordApplicationData  uint8 = 23

	typeHelloRequest    uint8 = 0
	typeClientHello     uint8 = 1
	typeServerHello     uint8 = 2
	typeCertificate     uint8 = 11
	typeServerHelloDone uint8 = 14

	extServerName          uint16 = 0
	extSupportedGroups     uint16 = 10
	extECPointFormats      uint16 = 11
	extSignatureAlgorithms uint16 = 13
	extPadding             uint16 = 21
	extSupportedVersions   uint16 = 43
	extKeyShare            uint16 = 51
	extRenegotiationInfo   uint16 = 0xff01

	groupX25519 uint16 = 0x001d

	scsvRenegotiation uint16 = 0x00ff

	sslv2ClientHello uint8 = 1
	sslv2ServerHello uint8 = 4
	sslv2Error       uint8 = 0
)

// groups are offered in supported_groups. The FFDHE groups let RFC 7919
// servers pick DHE suites; the brainpool and other curves catch ECDHE
// servers without the common ones.
var groups = []uint16{
	0x001d, 0x0017, 0x0018, 0x0019, 0x001e, // x25519, P-256, P-384, P-521, x448
	0x001a, 0x001b, 0x001c, 0x0016, 0x0015, // brainpoolP256/384/512r1, secp256k1, secp224r1
	0x0100, 0x0101, 0x0102, 0x0103, 0x0104, // ffdhe2048 ... ffdhe8192
}

// sigAlgs is broad so that no suite is refused for want of a signature
// algorithm: DSA for DHE-DSS, SHA-1 for old certificates, PSS and EdDSA for
// new ones.
var sigAlgs = []uint16{
	0x0403, 0x0503, 0x0603, // ecdsa_secp256r1_sha256, secp384r1_sha384, secp521r1_sha512
	0x0807, 0x0808, // ed25519, ed448
	0x0804, 0x0805, 0x0806, // rsa_pss_rsae_sha256/384/512
	0x0809, 0x080a, 0x080b, // rsa_pss_pss_sha256/384/512
	0x0401, 0x0501, 0x0601, // rsa_pkcs1_sha256/384/512
	0x0402, 0x0502, 0x0602, // dsa_sha256/384/512
	0x0303, 0x0301, 0x0302, // sha224 with ecdsa, rsa, dsa
	0x0203, 0x0201, 0x0202, // sha1 with ecdsa, rsa, dsa
}

// Encoding limits: suite lists fit their length prefixes, and an SSLv2
// record holds at most 0x7fff bytes.
const (
	maxTLSSuites   = (1<<16 - 2) / 2
	maxSSLv2Suites = (0x7fff - 9 - 16) / 3
)

var errNoSuites = errors.New("tlsprobe: no cipher suites to offer")

// buildHello returns the bytes of a ClientHello for v offering suites in
// order, framed as one record (SSLv2: one two-byte-header record).
func buildHello(v Version, suites []uint32, serverName string) ([]byte, error) {
	if len(suites) == 0 {
		return nil, errNoSuites
	}
	switch v {
	case SSL20:
		return buildSSLv2Hello(suites)
	case SSL30, TLS10, TLS11, TLS12, TLS13:
		return buildTLSHello(v, suites, sniName(v, serverName))
	}
	return nil, fmt.Errorf("tlsprobe: unknown version %v", v)
}

func buildSSLv2Hello(kinds []uint32) ([]byte, error) {
	if len(kinds) > maxSSLv2Suites {
		return nil, fmt.Errorf("tlsprobe: %d SSLv2 cipher kinds exceed one record", len(kinds))
	}
	challenge := make([]byte, 16)
	rand.Read(challenge)
	b := cryptobyte.NewBuilder(nil)
	b.AddUint8(sslv2ClientHello)
	b.AddUint16(uint16(SSL20))
	b.AddUint16(uint16(3 * len(kinds)))
	b.AddUint16(0) // no session id
	b.AddUint16(uint16(len(challenge)))
	for _, k := range kinds {
		if k > 0xffffff {
			return nil, fmt.Errorf("tlsprobe: SSLv2 cipher kind 0x%x exceeds 3 bytes", k)
		}
		b.AddUint24(k)
	}
	b.AddBytes(challenge)
	body, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("tlsprobe: encoding SSLv2 hello: %w", err)
	}
	return append([]byte{0x80 | byte(len(body)>>8), byte(len(body))}, body...), nil
}

func buildTLSHello(v Version, suites []uint32, serverName string) ([]byte, error) {
	n := len(suites)
	if v == SSL30 {
		n++ // the renegotiation SCSV
	}
	if n > maxTLSSuites {
		return nil, fmt.Errorf("tlsprobe: %d cipher suites exceed a ClientHello", len(suites))
	}
	for _, s := range suites {
		if s > 0xffff {
			return nil, fmt.Errorf("tlsprobe: cipher suite 0x%x exceeds 2 bytes", s)
		}
	}
	random := make([]byte, 32)
	rand.Read(random)
	var sessionID []byte
	var keyShare []byte
	if v == TLS13 {
		// A 32-byte session ID is TLS 1.3 "middlebox compatibility mode",
		// which servers and middleboxes expect from real clients.
		sessionID = make([]byte, 32)
		rand.Read(sessionID)
		key, err := ecdh.X25519().GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("tlsprobe: x25519 key share: %w", err)
		}
		keyShare = key.PublicKey().Bytes()
	}
	legacyVersion := min(v, TLS12)

	msg, err := helloMessage(legacyVersion, random, sessionID, suites, v == SSL30, helloExtensions(v, serverName, keyShare, 0))
	if err != nil {
		return nil, err
	}
	// Some servers (F5 BIG-IP among them) hang on hellos of 256 to 511
	// bytes; RFC 7685 padding lifts such a hello to 512 bytes.
	if v != SSL30 && len(msg) > 0xff && len(msg) < 0x200 {
		pad := 0x200 - len(msg)
		if pad >= 5 {
			pad -= 4 // the extension's own header
		} else {
			pad = 1
		}
		msg, err = helloMessage(legacyVersion, random, sessionID, suites, v == SSL30, helloExtensions(v, serverName, keyShare, pad))
		if err != nil {
			return nil, err
		}
	}
	recordVersion := TLS10 // what OpenSSL and browsers send, for old-server tolerance
	if v == SSL30 {
		recordVersion = SSL30
	}
	return record(recordHandshake, recordVersion, msg)
}

// helloMessage encodes the handshake message; exts nil omits the extensions
// block, as SSLv3 clients did.
func helloMessage(version Version, random, sessionID []byte, suites []uint32, scsv bool, exts func(*cryptobyte.Builder)) ([]byte, error) {
	b := cryptobyte.NewBuilder(nil)
	b.AddUint8(typeClientHello)
	b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddUint16(uint16(version))
		b.AddBytes(random)
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(sessionID) })
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			for _, s := range suites {
				b.AddUint16(uint16(s))
			}
			if scsv {
				b.AddUint16(scsvRenegotiation)
			}
		})
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint8(0) }) // null compression
		if exts != nil {
			b.AddUint16LengthPrefixed(exts)
		}
	})
	msg, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("tlsprobe: encoding ClientHello: %w", err)
	}
	return msg, nil
}

// helloExtensions returns the extensions for v (nil for SSLv3) with pad
// bytes of padding extension when pad > 0.
func helloExtensions(v Version, serverName string, keyShare []byte, pad int) func(*cryptobyte.Builder) {
	if v == SSL30 {
		return nil
	}
	return func(b *cryptobyte.Builder) {
		if serverName != "" {
			b.AddUint16(extServerName)
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
					b.AddUint8(0) // host_name
					b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(serverName)) })
				})
			})
		}
		if v < TLS13 {
			// Empty renegotiation_info (RFC 5746): the server's answer
			// tells whether it supports secure renegotiation.
			b.AddUint16(extRenegotiationInfo)
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint8(0) })
		}
		b.AddUint16(extSupportedGroups)
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				for _, g := range groups {
					b.AddUint16(g)
				}
			})
		})
		if v < TLS13 {
			b.AddUint16(extECPointFormats)
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint8(0) }) // uncompressed
			})
		}
		if v >= TLS12 {
			b.AddUint16(extSignatureAlgorithms)
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
					for _, s := range sigAlgs {
						b.AddUint16(s)
					}
				})
			})
		}
		if v == TLS13 {
			b.AddUint16(extSupportedVersions)
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint16(uint16(TLS13)) })
			})
			b.AddUint16(extKeyShare)
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
					b.AddUint16(groupX25519)
					b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(keyShare) })
				})
			})
		}
		if pad > 0 {
			b.AddUint16(extPadding)
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(make([]byte, pad)) })
		}
	}
}

// record frames a handshake message as one TLS record; ClientHellos are far
// below the 2^14-byte fragment limit, so the limit is an error, not a split.
func record(typ uint8, version Version, payload []byte) ([]byte, error) {
	if len(payload) > 1<<14 {
		return nil, fmt.Errorf("tlsprobe: %d-byte message exceeds one record", len(payload))
	}
	out := make([]byte, 0, 5+len(payload))
	out = append(out, typ, byte(version>>8), byte(version), byte(len(payload)>>8), byte(len(payload)))
	return append(out, payload...), nil
}

// sniName returns the server_name to send: none for SSLv2/SSLv3 (no
// extensions), IP literals (RFC 6066 forbids them) or anything that is not a
// plausible DNS name.
func sniName(v Version, name string) string {
	if v < TLS10 {
		return ""
	}
	name = strings.TrimSuffix(name, ".")
	if name == "" || len(name) > 253 || net.ParseIP(name) != nil {
		return ""
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f {
			return ""
		}
	}
	return name
}
