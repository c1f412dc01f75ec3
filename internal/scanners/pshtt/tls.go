package pshtt

import (
	"crypto/x509"
	"errors"
	"time"
)

// certFacts is the rest of pshtt's https_check once the TLS probe
// succeeded: the certificate facts sslyze gave, computed with crypto/x509.
func (p *prober) certFacts(e *Endpoint, probe tlsProbe) {
	if e.IP == nil && probe.ip != "" {
		e.IP = ptr(probe.ip)
	}
	if probe.clientAuthRequired {
		e.HTTPSClientAuthRequired = true
	}
	if len(probe.chain) == 0 {
		// No certificate to judge (the handshake stopped at the client
		// certificate request before the server's chain arrived).
		return
	}
	chain := probe.chain
	leaf := chain[0]
	now := time.Now()

	// Trust per store, as sslyze validated the served chain (no hostname).
	public := p.public != nil && verifies(leaf, chain, p.public, now)
	e.HTTPSPublicTrusted = ptr(public)
	var custom *bool
	if p.custom != nil {
		custom = ptr(verifies(leaf, chain, p.custom, now))
	}
	e.HTTPSCustomTrusted = custom

	// The flags come from the store pshtt called STORE: the custom one
	// when a CA file is given, else the public one.
	store := p.public
	if p.custom != nil {
		store = p.custom
	}
	f := classify(chain, store, now)
	e.HTTPSBadChain, e.HTTPSExpiredCert, e.HTTPSSelfSignedCert = ptr(f.badChain), ptr(f.expired), ptr(f.selfSigned)
	e.HTTPSBadHostname = ptr(len(leaf.DNSNames) == 0 || leaf.VerifyHostname(e.name) != nil)

	e.HTTPSCertChainLen = ptr(len(chain))
	missing := !f.selfSigned && len(chain) < 2
	e.HTTPSMissingInterCert = ptr(missing)
	if missing && is(custom) && !public && p.ptInt != nil && verifies(leaf, chain, p.ptInt, now) {
		e.HTTPSPublicTrusted = ptr(true)
	}
	// A leaf that is not yet valid raises no flag (OpenSSL's error had
	// none), but unlike pshtt 0.6.7 it does not count as valid HTTPS.
	if f.badChain || f.expired || f.selfSigned || is(e.HTTPSBadHostname) || now.Before(leaf.NotBefore) {
		e.HTTPSValid = ptr(false)
	}
}

// verifies reports whether the served chain builds to a root of pool.
func verifies(leaf *x509.Certificate, chain []*x509.Certificate, pool *x509.CertPool, at time.Time) bool {
	_, err := leaf.Verify(x509.VerifyOptions{Roots: pool, Intermediates: intermediates(chain), CurrentTime: at,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	return err == nil
}

func intermediates(chain []*x509.Certificate) *x509.CertPool {
	pool := x509.NewCertPool()
	for _, c := range chain[1:] {
		pool.AddCert(c)
	}
	return pool
}

// flags are the verify results pshtt read from sslyze's text.
type flags struct{ badChain, expired, selfSigned bool }

// classify gives the single verify error OpenSSL would have reported: it
// builds the chain before it checks dates, and stops at the first problem.
// So a self-signed certificate (leaf, or an untrusted root the server sent)
// is "self signed" and a bad chain whatever its dates; a chain that does not
// reach a root is a bad chain whatever its dates; only a chain that builds
// can be "expired" (any certificate of it, as OpenSSL reported an expired
// intermediate too). A certificate that is not yet valid raises no flag.
func classify(chain []*x509.Certificate, store *x509.CertPool, now time.Time) flags {
	leaf := chain[0]
	if store == nil {
		return flags{badChain: true}
	}
	if verifies(leaf, chain, store, now) {
		return flags{}
	}
	for _, c := range chain {
		if selfSigned(c) && !verifies(c, []*x509.Certificate{c}, store, within(c)) {
			return flags{selfSigned: true, badChain: true}
		}
	}
	// Does the chain build when the leaf's dates are not in the way?
	_, err := leaf.Verify(x509.VerifyOptions{Roots: store, Intermediates: intermediates(chain),
		CurrentTime: within(leaf), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	var unknown x509.UnknownAuthorityError
	if errors.As(err, &unknown) {
		return flags{badChain: true}
	}
	for _, c := range chain {
		if now.After(c.NotAfter) {
			return flags{expired: true}
		}
	}
	return flags{}
}

// within is a moment inside c's validity.
func within(c *x509.Certificate) time.Time {
	return c.NotBefore.Add(c.NotAfter.Sub(c.NotBefore) / 2)
}

// selfSigned is OpenSSL's test: issuer equals subject, the authority key
// id (if any) is the subject key id, the key may sign certificates (or no
// key usage is given), and the signature checks. Unlike CheckSignatureFrom
// it does not require the CA flag, which many self-made certificates lack.
func selfSigned(c *x509.Certificate) bool {
	if string(c.RawIssuer) != string(c.RawSubject) {
		return false
	}
	if len(c.AuthorityKeyId) > 0 && len(c.SubjectKeyId) > 0 && string(c.AuthorityKeyId) != string(c.SubjectKeyId) {
		return false
	}
	if c.KeyUsage != 0 && c.KeyUsage&x509.KeyUsageCertSign == 0 {
		return false
	}
	return c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}
