package sslyze

import (
	"crypto"
	"crypto/dsa" //nolint:staticcheck // old servers still use DSA keys; sslyze reported them
	"crypto/ecdsa"
	"crypto/ed25519"
	_ "crypto/md5" // registers MD5 for verifying MD5-signed chains
	"crypto/rsa"
	_ "crypto/sha1"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"strings"
	"time"
)

// evPolicy is the CA/Browser Forum's EV policy OID.
const evPolicy = "2.23.140.1.1"

// applyCertificates fills the certificate columns from the chain the
// server sent (leaf first) and the chain built from it to a trusted root.
func applyCertificates(row *Row, served []*x509.Certificate, roots []*x509.Certificate, now time.Time) {
	leaf := served[0]
	switch k := leaf.PublicKey.(type) {
	case *rsa.PublicKey:
		row.KeyType, row.KeyLength = ptr("RSA"), ptr(k.N.BitLen())
		row.ShortKey = ptr(k.N.BitLen() < 2048)
	case *ecdsa.PublicKey:
		bits := k.Curve.Params().BitSize
		// An EC key is short below 224 bits (NIST SP 800-57: 224-bit curves
		// match 2048-bit RSA); the original applied 2048 to EC keys too.
		row.KeyType, row.KeyLength, row.ShortKey = ptr("ECDSA"), ptr(bits), ptr(bits < 224)
	case *dsa.PublicKey:
		row.KeyType, row.KeyLength = ptr("DSA"), ptr(k.P.BitLen())
		row.ShortKey = ptr(k.P.BitLen() < 2048)
	case ed25519.PublicKey:
		row.KeyType, row.ShortKey = ptr("Ed25519"), ptr(false)
	}
	if h := hashName(leaf.SignatureAlgorithm); h != "" {
		row.SignatureAlgorithm = ptr(h)
	}
	row.MD5Signed = ptr(hashName(leaf.SignatureAlgorithm) == "md5")
	row.SHA1Signed = ptr(hashName(leaf.SignatureAlgorithm) == "sha1")
	sha1Served := false
	for _, c := range served {
		if hashName(c.SignatureAlgorithm) == "sha1" {
			sha1Served = true
		}
	}
	row.SHA1Served = ptr(sha1Served)
	row.NotBefore = ptr(leaf.NotBefore.UTC().Format("2006-01-02T15:04:05"))
	row.NotAfter = ptr(leaf.NotAfter.UTC().Format("2006-01-02T15:04:05"))
	// Not yet valid counts as expired, as in the original (the column says
	// "the certificate is outside its validity period").
	row.Expired = ptr(now.Before(leaf.NotBefore) || now.After(leaf.NotAfter))
	row.ServedIssuer = ptr(issuerName(served[len(served)-1], "(None found)"))

	var oids []string
	asserts := false
	for _, p := range leaf.Policies {
		o := p.String()
		oids = append(oids, o)
		if o == evPolicy {
			asserts = true // any of the policies (the original kept only the last one's verdict)
		}
	}
	row.AssertsEV = ptr(asserts)
	evOIDs, browsers := EVTrust(oids)
	row.TrustedEV = ptr(len(evOIDs) > 0)
	if len(evOIDs) > 0 {
		row.EVOIDs = ptr(strings.Join(evOIDs, ", "))
		row.EVBrowsers = ptr(strings.Join(browsers, ", "))
	}

	chain := buildChain(served, roots, now)
	if chain == nil {
		return
	}
	row.ConstructedIssuer = ptr(issuerName(chain[len(chain)-1], "(None constructed)"))
	sha1 := false
	for _, c := range chain[:len(chain)-1] { // the anchor's own signature does not count
		if hashName(c.SignatureAlgorithm) == "sha1" {
			sha1 = true
		}
	}
	row.SHA1Constructed = ptr(sha1)
	sym := IsSymantecChain(chain)
	row.Symantec = ptr(sym)
	if sym {
		row.SymantecDate = ptr(SymantecDistrustDate(leaf))
	}
}

// issuerName is the issuer's CN, else its first OU, else none.
func issuerName(c *x509.Certificate, none string) string {
	if c.Issuer.CommonName != "" {
		return c.Issuer.CommonName
	}
	if len(c.Issuer.OrganizationalUnit) > 0 {
		return c.Issuer.OrganizationalUnit[0]
	}
	return none
}

// hashName is the lower-case name of a signature's hash, as Python's
// cryptography names it ("" when the algorithm has none, as Ed25519).
func hashName(a x509.SignatureAlgorithm) string {
	switch a {
	case x509.MD2WithRSA:
		return "md2"
	case x509.MD5WithRSA:
		return "md5"
	case x509.SHA1WithRSA, x509.DSAWithSHA1, x509.ECDSAWithSHA1:
		return "sha1"
	case x509.SHA256WithRSA, x509.SHA256WithRSAPSS, x509.DSAWithSHA256, x509.ECDSAWithSHA256:
		return "sha256"
	case x509.SHA384WithRSA, x509.SHA384WithRSAPSS, x509.ECDSAWithSHA384:
		return "sha384"
	case x509.SHA512WithRSA, x509.SHA512WithRSAPSS, x509.ECDSAWithSHA512:
		return "sha512"
	}
	return ""
}

// buildChain finds a path from the leaf through the served certificates to
// a trusted root, as OpenSSL's verification did for sslyze: every
// certificate within its validity period, every signature checked (SHA-1
// and MD5 allowed, which Go's verifier refuses), no host name check. It
// returns the chain, anchor last, or nil.
func buildChain(served, roots []*x509.Certificate, now time.Time) []*x509.Certificate {
	valid := func(c *x509.Certificate) bool { return !now.Before(c.NotBefore) && !now.After(c.NotAfter) }
	isRoot := func(c *x509.Certificate) bool {
		for _, r := range roots {
			if r.Equal(c) {
				return true
			}
		}
		return false
	}
	var walk func(path []*x509.Certificate) []*x509.Certificate
	walk = func(path []*x509.Certificate) []*x509.Certificate {
		cur := path[len(path)-1]
		if !valid(cur) || len(path) > 10 {
			return nil
		}
		if isRoot(cur) {
			return path
		}
		for _, r := range roots {
			if string(r.RawSubject) == string(cur.RawIssuer) && valid(r) && signedBy(cur, r) {
				return append(path, r)
			}
		}
		for _, c := range served[1:] {
			if string(c.RawSubject) != string(cur.RawIssuer) || inPath(path, c) || !signedBy(cur, c) {
				continue
			}
			if got := walk(append(append([]*x509.Certificate{}, path...), c)); got != nil {
				return got
			}
		}
		return nil
	}
	return walk([]*x509.Certificate{served[0]})
}

func inPath(path []*x509.Certificate, c *x509.Certificate) bool {
	for _, p := range path {
		if p.Equal(c) {
			return true
		}
	}
	return false
}

// signedBy checks c's signature with parent's key, allowing the SHA-1 and
// MD5 signatures crypto/x509 refuses.
func signedBy(c, parent *x509.Certificate) bool {
	err := c.CheckSignatureFrom(parent)
	if err == nil {
		return true
	}
	var insecure x509.InsecureAlgorithmError
	if !errors.As(err, &insecure) || !parent.BasicConstraintsValid || !parent.IsCA {
		return false
	}
	var h crypto.Hash
	switch c.SignatureAlgorithm {
	case x509.SHA1WithRSA, x509.ECDSAWithSHA1:
		h = crypto.SHA1
	case x509.MD5WithRSA:
		h = crypto.MD5
	default:
		return false
	}
	d := h.New()
	d.Write(c.RawTBSCertificate)
	digest := d.Sum(nil)
	switch k := parent.PublicKey.(type) {
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(k, h, digest, c.Signature) == nil
	case *ecdsa.PublicKey:
		return ecdsa.VerifyASN1(k, digest, c.Signature)
	}
	return false
}

// loadRoots reads the trust anchors: --ca_file first (sslyze tried its
// custom store before Mozilla's), then the system bundle.
func loadRoots(caFile string) ([]*x509.Certificate, error) {
	var roots []*x509.Certificate
	if caFile != "" {
		pemBytes, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		roots = parsePEM(pemBytes)
		if len(roots) == 0 {
			return nil, errors.New(caFile + " holds no PEM certificate")
		}
	}
	for _, f := range systemBundles() {
		if b, err := os.ReadFile(f); err == nil {
			roots = append(roots, parsePEM(b)...)
			break
		}
	}
	return roots, nil
}

func systemBundles() []string {
	if f := os.Getenv("SSL_CERT_FILE"); f != "" {
		return []string{f}
	}
	return []string{
		"/etc/ssl/certs/ca-certificates.crt", // Debian, Ubuntu, Alpine
		"/etc/pki/tls/certs/ca-bundle.crt",   // Fedora, RHEL, Amazon Linux
		"/etc/ssl/ca-bundle.pem",             // openSUSE
		"/etc/pki/tls/cacert.pem",
		"/etc/ssl/cert.pem",
	}
}

func parsePEM(b []byte) []*x509.Certificate {
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return out
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		if c, err := x509.ParseCertificate(blk.Bytes); err == nil {
			out = append(out, c)
		}
	}
}
