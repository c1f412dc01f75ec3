package tlsprobe

import "fmt"

// Version is a protocol version as it appears on the wire; SSLv2 uses its
// own CLIENT-HELLO version number, 0x0002.
type Version uint16

// Protocol versions.
const (
	SSL20 Version = 0x0002
	SSL30 Version = 0x0300
	TLS10 Version = 0x0301
	TLS11 Version = 0x0302
	TLS12 Version = 0x0303
	TLS13 Version = 0x0304
)

// Versions lists every version a probe can test, oldest first (the order of
// sslyze's protocol columns).
var Versions = []Version{SSL20, SSL30, TLS10, TLS11, TLS12, TLS13}

// String returns the name sslyze uses for v ("SSLv2" ... "TLSv1.3").
func (v Version) String() string {
	switch v {
	case SSL20:
		return "SSLv2"
	case SSL30:
		return "SSLv3"
	case TLS10:
		return "TLSv1.0"
	case TLS11:
		return "TLSv1.1"
	case TLS12:
		return "TLSv1.2"
	case TLS13:
		return "TLSv1.3"
	}
	return fmt.Sprintf("Version(0x%04x)", uint16(v))
}
