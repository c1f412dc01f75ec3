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
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"math/big"
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

// Limits of a chain search (Go's verifier has the same signature limit).
const (
	maxChainLength          = 10
	maxChainSignatureChecks = 100
)

// buildChain finds a path from the leaf through the served certificates to
// a trusted root, as OpenSSL's verification did for sslyze: every
// certificate within its validity period, every signature checked (SHA-1
// and MD5 allowed, which Go's verifier refuses), no host name check. It
// returns the chain, anchor last, or nil. The search is bounded: each
// served certificate is considered once (duplicates skipped), a
// certificate that led nowhere from some depth is not tried again from
// that depth or deeper, and at most maxChainSignatureChecks signatures are
// checked.
func buildChain(served, roots []*x509.Certificate, now time.Time) []*x509.Certificate {
	return buildChainWith(served, roots, now, signedBy)
}

// buildChainWith is buildChain with the signature check given (for tests).
func buildChainWith(served, roots []*x509.Certificate, now time.Time, signed func(c, parent *x509.Certificate) bool) []*x509.Certificate {
	if len(served) == 0 {
		return nil
	}
	valid := func(c *x509.Certificate) bool { return !now.Before(c.NotBefore) && !now.After(c.NotAfter) }
	isRoot := func(c *x509.Certificate) bool {
		for _, r := range roots {
			if r.Equal(c) {
				return true
			}
		}
		return false
	}
	// The served certificates after the leaf, each once.
	var cands []*x509.Certificate
	seen := map[string]bool{string(served[0].Raw): true}
	for _, c := range served[1:] {
		if !seen[string(c.Raw)] {
			seen[string(c.Raw)] = true
			cands = append(cands, c)
		}
	}
	checks := 0
	check := func(c, parent *x509.Certificate) bool {
		if checks >= maxChainSignatureChecks {
			return false
		}
		checks++
		return signed(c, parent)
	}
	// deadEnd[i] is the shortest path length at which cands[i], placed
	// last, led to no root: from there or deeper it is not tried again.
	deadEnd := map[int]int{}
	var walk func(path []*x509.Certificate) []*x509.Certificate
	walk = func(path []*x509.Certificate) []*x509.Certificate {
		cur := path[len(path)-1]
		if !valid(cur) || len(path) > maxChainLength {
			return nil
		}
		if isRoot(cur) {
			return path
		}
		for _, r := range roots {
			if string(r.RawSubject) == string(cur.RawIssuer) && valid(r) && check(cur, r) {
				return append(path, r)
			}
		}
		next := len(path) + 1
		for i, c := range cands {
			if string(c.RawSubject) != string(cur.RawIssuer) || inPath(path, c) {
				continue
			}
			if d, ok := deadEnd[i]; ok && d <= next {
				continue
			}
			if checks >= maxChainSignatureChecks {
				return nil
			}
			if !check(cur, c) {
				continue
			}
			if got := walk(append(append([]*x509.Certificate{}, path...), c)); got != nil {
				return got
			}
			deadEnd[i] = next
		}
		return nil
	}
	return walk([]*x509.Certificate{served[0]})
}

// inPath says whether path holds c, or another certificate of the same
// subject and key (which would make the chain go round: Go's verifier
// refuses such candidates too).
func inPath(path []*x509.Certificate, c *x509.Certificate) bool {
	for _, p := range path {
		if p.Equal(c) || string(p.RawSubject) == string(c.RawSubject) && string(p.RawSubjectPublicKeyInfo) == string(c.RawSubjectPublicKeyInfo) {
			return true
		}
	}
	return false
}

// mayIssue is crypto/x509's rule for a parent's key to sign certificates
// (RFC 5280 §4.2.1.9): a version 3 certificate needs basic constraints
// with cA set; version 1 and 2 certificates, which have no extensions,
// may; the key usage, when given, must include keyCertSign.
func mayIssue(parent *x509.Certificate) bool {
	if parent.Version == 3 && !parent.BasicConstraintsValid || parent.BasicConstraintsValid && !parent.IsCA {
		return false
	}
	return parent.KeyUsage == 0 || parent.KeyUsage&x509.KeyUsageCertSign != 0
}

// signedBy checks c's signature with parent's key, allowing what
// crypto/x509 refuses and OpenSSL 1.x accepted: SHA-1 and MD5 signatures
// (RSA, ECDSA, DSA) and DSA keys.
func signedBy(c, parent *x509.Certificate) bool {
	err := c.CheckSignatureFrom(parent)
	if err == nil {
		return true
	}
	var insecure x509.InsecureAlgorithmError
	if !errors.As(err, &insecure) && !errors.Is(err, x509.ErrUnsupportedAlgorithm) || !mayIssue(parent) {
		return false
	}
	var h crypto.Hash
	var algo x509.PublicKeyAlgorithm
	switch c.SignatureAlgorithm {
	case x509.SHA1WithRSA:
		h, algo = crypto.SHA1, x509.RSA
	case x509.MD5WithRSA:
		h, algo = crypto.MD5, x509.RSA
	case x509.ECDSAWithSHA1:
		h, algo = crypto.SHA1, x509.ECDSA
	case x509.DSAWithSHA1:
		h, algo = crypto.SHA1, x509.DSA
	case x509.DSAWithSHA256:
		h, algo = crypto.SHA256, x509.DSA
	default:
		return false
	}
	d := h.New()
	d.Write(c.RawTBSCertificate)
	digest := d.Sum(nil)
	switch k := parent.PublicKey.(type) {
	case *rsa.PublicKey:
		return algo == x509.RSA && rsa.VerifyPKCS1v15(k, h, digest, c.Signature) == nil
	case *ecdsa.PublicKey:
		return algo == x509.ECDSA && ecdsa.VerifyASN1(k, digest, c.Signature)
	case *dsa.PublicKey:
		return algo == x509.DSA && verifyDSA(k, digest, c.Signature)
	}
	return false
}

// verifyDSA checks a DER signature (SEQUENCE of r and s), with the digest
// cut to the length of the subgroup order (FIPS 186-4 §4.6).
func verifyDSA(k *dsa.PublicKey, digest, sig []byte) bool {
	var rs struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(sig, &rs)
	if err != nil || len(rest) > 0 || rs.R == nil || rs.S == nil || rs.R.Sign() <= 0 || rs.S.Sign() <= 0 {
		return false
	}
	if k.Q == nil || k.P == nil || k.G == nil || k.Y == nil || k.Q.Sign() <= 0 {
		return false
	}
	if n := (k.Q.BitLen() + 7) / 8; len(digest) > n {
		digest = digest[:n]
	}
	return dsa.Verify(k, digest, rs.R, rs.S)
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
