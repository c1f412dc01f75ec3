// Package tlsprobe tests which protocol versions and cipher suites a server
// accepts by sending hand-built ClientHellos (SSLv2 to TLS 1.3) and reading
// only the server's first answer. crypto/tls cannot do this: it offers no
// SSLv2/SSLv3, RC4-MD5, export, NULL, DHE, CCM, ARIA or CAMELLIA suites and
// ignores suite choices for TLS 1.3.
//
// A suite counts as accepted when the server answers a hello of version v
// with a ServerHello (or a TLS 1.3 HelloRetryRequest) for v naming it.
// sslyze 2.1 instead completed one handshake per suite with OpenSSL; the
// results differ only for servers that pick a suite and then fail the
// handshake (for instance an export suite with no export key).
//
// Enumerate needs one connection per accepted suite plus one per version
// (SSLv2: one in all), where sslyze needed one per candidate suite.
package tlsprobe
