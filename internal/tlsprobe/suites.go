package tlsprobe

import "slices"

// Suite is a cipher suite; for SSLv2, ID holds a 3-byte cipher kind.
type Suite struct {
	ID uint32
	// IANA is the registry name, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256;
	// SSLv2 kinds go by the names sslyze used, e.g. SSL_CK_RC4_128_WITH_MD5.
	IANA string
	// OpenSSL is the name OpenSSL prints, e.g. ECDHE-RSA-AES128-GCM-SHA256.
	// TLS 1.3 suites, and suites OpenSSL never implemented, use IANA.
	OpenSSL string
	// KeyBits is OpenSSL's strength in bits: 0 for NULL encryption, 40 or 56
	// for export ciphers, 112 for 3DES.
	KeyBits int
	Export  bool
	// Anonymous suites authenticate no server (no certificate is sent).
	Anonymous bool
	// ForwardSecret suites use an ephemeral key exchange (DHE, ECDHE,
	// anonymous DH/ECDH, every TLS 1.3 suite). sslyze decided forward
	// secrecy from OpenSSL names instead, which callers emulating it must do.
	ForwardSecret bool
}

// suiteFlags describe a table entry compactly.
type suiteFlags uint8

const (
	tls12  suiteFlags = 1 << iota // defined for TLS 1.2 only (AEAD, SHA-2 MAC or PRF)
	export                        // export-grade
	anon                          // anonymous
	fs                            // ephemeral key exchange
)

type suiteEntry struct {
	id      uint32
	iana    string
	openssl string
	bits    int
	flags   suiteFlags
}

func (e suiteEntry) suite() Suite {
	s := Suite{
		ID:            e.id,
		IANA:          e.iana,
		OpenSSL:       e.openssl,
		KeyBits:       e.bits,
		Export:        e.flags&export != 0,
		Anonymous:     e.flags&anon != 0,
		ForwardSecret: e.flags&fs != 0,
	}
	if s.OpenSSL == "" {
		s.OpenSSL = s.IANA
	}
	return s
}

// sslv2Kinds are the seven SSLv2 cipher kinds OpenSSL's SSLv2 client
// offered, in its order.
var sslv2Kinds = []suiteEntry{
	{0x0700C0, "SSL_CK_DES_192_EDE3_CBC_WITH_MD5", "DES-CBC3-MD5", 112, 0},
	{0x050080, "SSL_CK_IDEA_128_CBC_WITH_MD5", "IDEA-CBC-MD5", 128, 0},
	{0x030080, "SSL_CK_RC2_128_CBC_WITH_MD5", "RC2-CBC-MD5", 128, 0},
	{0x010080, "SSL_CK_RC4_128_WITH_MD5", "RC4-MD5", 128, 0},
	{0x060040, "SSL_CK_DES_64_CBC_WITH_MD5", "DES-CBC-MD5", 56, 0},
	{0x040080, "SSL_CK_RC2_128_CBC_EXPORT40_WITH_MD5", "EXP-RC2-CBC-MD5", 40, export},
	{0x020080, "SSL_CK_RC4_128_EXPORT40_WITH_MD5", "EXP-RC4-MD5", 40, export},
}

// tls13Suites are the five TLS 1.3 suites of RFC 8446.
var tls13Suites = []suiteEntry{
	{0x1301, "TLS_AES_128_GCM_SHA256", "", 128, fs},
	{0x1302, "TLS_AES_256_GCM_SHA384", "", 256, fs},
	{0x1303, "TLS_CHACHA20_POLY1305_SHA256", "", 256, fs},
	{0x1304, "TLS_AES_128_CCM_SHA256", "", 128, fs},
	{0x1305, "TLS_AES_128_CCM_8_SHA256", "", 128, fs},
}

// candidates holds Candidates(v) per version, built once.
var candidates = func() map[Version][]Suite {
	m := make(map[Version][]Suite, len(Versions))
	for _, e := range sslv2Kinds {
		m[SSL20] = append(m[SSL20], e.suite())
	}
	for _, e := range tls13Suites {
		m[TLS13] = append(m[TLS13], e.suite())
	}
	for _, e := range tlsSuites {
		s := e.suite()
		m[TLS12] = append(m[TLS12], s)
		if e.flags&tls12 == 0 {
			for _, v := range []Version{SSL30, TLS10, TLS11} {
				m[v] = append(m[v], s)
			}
		}
	}
	return m
}()

// Candidates returns the suites a probe offers for v, in the order offered:
// for SSLv3 to TLS 1.2 every registry suite defined for v (TLS 1.2-only
// suites only for TLS 1.2; no PSK, SRP, KRB5 or TLS 1.3 suites), for TLS
// 1.3 its five suites, for SSLv2 the seven cipher kinds. The slice is the
// caller's.
func Candidates(v Version) []Suite {
	return slices.Clone(candidates[v])
}

// Lookup finds id among Candidates(v).
func Lookup(v Version, id uint32) (Suite, bool) {
	for _, s := range candidates[v] {
		if s.ID == id {
			return s, true
		}
	}
	return Suite{}, false
}

func suiteIDs(suites []Suite) []uint32 {
	ids := make([]uint32, len(suites))
	for i, s := range suites {
		ids[i] = s.ID
	}
	return ids
}
