package legacytls

import "strings"

// Suites names TLS cipher suites by their IANA names, so lab configurations
// can say what they mean. It covers the legacy suites the lab needs to
// present plus the common modern ones; any other code point can still be
// put in Config.Suites as a number.
var Suites = map[string]uint16{
	"TLS_RSA_WITH_NULL_MD5":                 0x0001,
	"TLS_RSA_WITH_NULL_SHA":                 0x0002,
	"TLS_RSA_EXPORT_WITH_RC4_40_MD5":        0x0003,
	"TLS_RSA_WITH_RC4_128_MD5":              0x0004,
	"TLS_RSA_WITH_RC4_128_SHA":              0x0005,
	"TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5":    0x0006,
	"TLS_RSA_WITH_IDEA_CBC_SHA":             0x0007,
	"TLS_RSA_EXPORT_WITH_DES40_CBC_SHA":     0x0008,
	"TLS_RSA_WITH_DES_CBC_SHA":              0x0009,
	"TLS_RSA_WITH_3DES_EDE_CBC_SHA":         0x000A,
	"TLS_DHE_DSS_EXPORT_WITH_DES40_CBC_SHA": 0x0011,
	"TLS_DHE_DSS_WITH_DES_CBC_SHA":          0x0012,
	"TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA":     0x0013,
	"TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA": 0x0014,
	"TLS_DHE_RSA_WITH_DES_CBC_SHA":          0x0015,
	"TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA":     0x0016,
	"TLS_DH_anon_EXPORT_WITH_RC4_40_MD5":    0x0017,
	"TLS_DH_anon_WITH_RC4_128_MD5":          0x0018,
	"TLS_DH_anon_EXPORT_WITH_DES40_CBC_SHA": 0x0019,
	"TLS_DH_anon_WITH_DES_CBC_SHA":          0x001A,
	"TLS_DH_anon_WITH_3DES_EDE_CBC_SHA":     0x001B,
	"TLS_RSA_WITH_AES_128_CBC_SHA":          0x002F,
	"TLS_DHE_DSS_WITH_AES_128_CBC_SHA":      0x0032,
	"TLS_DHE_RSA_WITH_AES_128_CBC_SHA":      0x0033,
	"TLS_DH_anon_WITH_AES_128_CBC_SHA":      0x0034,
	"TLS_RSA_WITH_AES_256_CBC_SHA":          0x0035,
	"TLS_DHE_DSS_WITH_AES_256_CBC_SHA":      0x0038,
	"TLS_DHE_RSA_WITH_AES_256_CBC_SHA":      0x0039,
	"TLS_DH_anon_WITH_AES_256_CBC_SHA":      0x003A,
	"TLS_RSA_WITH_NULL_SHA256":              0x003B,
	"TLS_RSA_WITH_AES_128_CBC_SHA256":       0x003C,
	"TLS_RSA_WITH_AES_256_CBC_SHA256":       0x003D,
	"TLS_RSA_WITH_CAMELLIA_128_CBC_SHA":     0x0041,
	"TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA": 0x0045,
	"TLS_DHE_RSA_WITH_AES_128_CBC_SHA256":   0x0067,
	"TLS_DHE_RSA_WITH_AES_256_CBC_SHA256":   0x006B,
	"TLS_DH_anon_WITH_AES_128_CBC_SHA256":   0x006C,
	"TLS_DH_anon_WITH_AES_256_CBC_SHA256":   0x006D,
	"TLS_RSA_WITH_CAMELLIA_256_CBC_SHA":     0x0084,
	"TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA": 0x0088,
	"TLS_RSA_WITH_AES_128_GCM_SHA256":       0x009C,
	"TLS_RSA_WITH_AES_256_GCM_SHA384":       0x009D,
	"TLS_DHE_RSA_WITH_AES_128_GCM_SHA256":   0x009E,
	"TLS_DHE_RSA_WITH_AES_256_GCM_SHA384":   0x009F,
	"TLS_DH_anon_WITH_AES_128_GCM_SHA256":   0x00A6,
	"TLS_DH_anon_WITH_AES_256_GCM_SHA384":   0x00A7,

	// Signalling values: a client may send them, a server never picks them.
	"TLS_EMPTY_RENEGOTIATION_INFO_SCSV": 0x00FF,
	"TLS_FALLBACK_SCSV":                 0x5600,

	"TLS_AES_128_GCM_SHA256":       0x1301,
	"TLS_AES_256_GCM_SHA384":       0x1302,
	"TLS_CHACHA20_POLY1305_SHA256": 0x1303,
	"TLS_AES_128_CCM_SHA256":       0x1304,
	"TLS_AES_128_CCM_8_SHA256":     0x1305,

	"TLS_ECDHE_ECDSA_WITH_NULL_SHA":                 0xC006,
	"TLS_ECDHE_ECDSA_WITH_RC4_128_SHA":              0xC007,
	"TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA":         0xC008,
	"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA":          0xC009,
	"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA":          0xC00A,
	"TLS_ECDHE_RSA_WITH_NULL_SHA":                   0xC010,
	"TLS_ECDHE_RSA_WITH_RC4_128_SHA":                0xC011,
	"TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA":           0xC012,
	"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA":            0xC013,
	"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA":            0xC014,
	"TLS_ECDH_anon_WITH_NULL_SHA":                   0xC015,
	"TLS_ECDH_anon_WITH_RC4_128_SHA":                0xC016,
	"TLS_ECDH_anon_WITH_3DES_EDE_CBC_SHA":           0xC017,
	"TLS_ECDH_anon_WITH_AES_128_CBC_SHA":            0xC018,
	"TLS_ECDH_anon_WITH_AES_256_CBC_SHA":            0xC019,
	"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256":       0xC023,
	"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384":       0xC024,
	"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256":         0xC027,
	"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384":         0xC028,
	"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256":       0xC02B,
	"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384":       0xC02C,
	"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256":         0xC02F,
	"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384":         0xC030,
	"TLS_RSA_WITH_AES_128_CCM":                      0xC09C,
	"TLS_RSA_WITH_AES_256_CCM":                      0xC09D,
	"TLS_DHE_RSA_WITH_AES_128_CCM":                  0xC09E,
	"TLS_DHE_RSA_WITH_AES_256_CCM":                  0xC09F,
	"TLS_RSA_WITH_AES_128_CCM_8":                    0xC0A0,
	"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256":   0xCCA8,
	"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": 0xCCA9,
	"TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256":     0xCCAA,
}

// SSLv2Kinds names the SSLv2 cipher kinds (3-byte CIPHER-KIND values from
// the SSLv2 draft) for Config.SSLv2Kinds.
var SSLv2Kinds = map[string]uint32{
	"SSL_CK_RC4_128_WITH_MD5":              0x010080,
	"SSL_CK_RC4_128_EXPORT40_WITH_MD5":     0x020080,
	"SSL_CK_RC2_128_CBC_WITH_MD5":          0x030080,
	"SSL_CK_RC2_128_CBC_EXPORT40_WITH_MD5": 0x040080,
	"SSL_CK_IDEA_128_CBC_WITH_MD5":         0x050080,
	"SSL_CK_DES_64_CBC_WITH_MD5":           0x060040,
	"SSL_CK_DES_192_EDE3_CBC_WITH_MD5":     0x0700C0,
}

// suiteInfo is what the responder must know about a suite beyond its number
// to behave like a real server.
type suiteInfo struct {
	tls12Only bool // AEAD or SHA-2 PRF suites, defined for TLS 1.2 only
	anonymous bool // no server certificate is sent for these
}

var suiteInfos = func() map[uint16]suiteInfo {
	m := make(map[uint16]suiteInfo, len(Suites))
	for name, id := range Suites {
		if id>>8 == 0x13 {
			continue
		}
		m[id] = suiteInfo{
			tls12Only: strings.HasSuffix(name, "_SHA256") || strings.HasSuffix(name, "_SHA384") ||
				strings.Contains(name, "_GCM") || strings.Contains(name, "_CCM") ||
				strings.Contains(name, "CHACHA20"),
			anonymous: strings.Contains(name, "_anon_"),
		}
	}
	return m
}()

// Signalling cipher suite values (RFC 5746, RFC 7507).
const (
	scsvRenegotiation uint16 = 0x00FF
	scsvFallback      uint16 = 0x5600
)

// validSuite reports whether a server may select suite for version v: TLS 1.3
// suites only with 1.3 and vice versa, TLS 1.2-only suites not below 1.2, and
// never a signalling value.
func validSuite(suite, v uint16) bool {
	if suite == scsvRenegotiation || suite == scsvFallback {
		return false
	}
	if is13 := suite>>8 == 0x13; v == VersionTLS13 || is13 {
		return v == VersionTLS13 && is13
	}
	return v >= VersionTLS12 || !suiteInfos[suite].tls12Only
}
