package sslyze

import (
	"crypto"
	"crypto/dsa" //nolint:staticcheck // DSA chains are what this tests
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"testing"
	"time"
)

var certNow = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

// testCert issues a certificate for subject, signed by parentKey as
// parent (self-signed when parent is nil).
func testCert(t testing.TB, serial int64, subject string, pub crypto.PublicKey, parent *x509.Certificate, parentKey crypto.Signer, ca bool, alg x509.SignatureAlgorithm) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               pkix.Name{CommonName: subject},
		NotBefore:             certNow.Add(-24 * time.Hour),
		NotAfter:              certNow.Add(365 * 24 * time.Hour),
		BasicConstraintsValid: true,
		IsCA:                  ca,
		SignatureAlgorithm:    alg,
	}
	if ca {
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
	}
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ecKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestBuildChainSameSubjectCAs: a server sending its leaf with 20 CA
// certificates of one subject and key (different serials), each signing
// every other, costs a bounded search, not one walk per ordering.
func TestBuildChainSameSubjectCAs(t *testing.T) {
	caKey, leafKey, rootKey := ecKey(t), ecKey(t), ecKey(t)
	var cas []*x509.Certificate
	for i := range 20 {
		cas = append(cas, testCert(t, int64(100+i), "Loop CA", &caKey.PublicKey, nil, caKey, true, x509.ECDSAWithSHA256))
	}
	leaf := testCert(t, 1, "leaf.test", &leafKey.PublicKey, cas[0], caKey, false, x509.ECDSAWithSHA256)
	root := testCert(t, 2, "Real Root", &rootKey.PublicKey, nil, rootKey, true, x509.ECDSAWithSHA256)
	// The same CA, cross-signed by a trusted root, sent last.
	cross := testCert(t, 3, "Loop CA", &caKey.PublicKey, root, rootKey, true, x509.ECDSAWithSHA256)

	for _, tc := range []struct {
		name      string
		served    []*x509.Certificate
		roots     []*x509.Certificate
		wantChain bool
	}{
		{"no way to a root", append([]*x509.Certificate{leaf}, cas...), []*x509.Certificate{root}, false},
		{"cross-signed copy last", append(append([]*x509.Certificate{leaf}, cas...), cross), []*x509.Certificate{root}, true},
		{"duplicates served", append(append([]*x509.Certificate{leaf, cas[3], cas[3], cas[3]}, cas...), cross, cross), []*x509.Certificate{root}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var chain []*x509.Certificate
			done := make(chan struct{})
			start := time.Now()
			go func() { chain = buildChain(tc.served, tc.roots, certNow); close(done) }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("buildChain still running after 5 s")
			}
			if el := time.Since(start); el > time.Second {
				t.Errorf("took %s", el)
			}
			if !tc.wantChain {
				if chain != nil {
					t.Errorf("chain of %d certificates, want none", len(chain))
				}
				return
			}
			if chain == nil {
				t.Fatal("no chain, want one to the root")
			}
			checkChain(t, chain, tc.roots)
		})
	}
}

// checkChain: leaf first, every certificate signed by the next, a root
// last, no certificate twice.
func checkChain(t *testing.T, chain, roots []*x509.Certificate) {
	t.Helper()
	seen := map[string]bool{}
	for i, c := range chain {
		if seen[string(c.Raw)] {
			t.Errorf("certificate %d repeats", i)
		}
		seen[string(c.Raw)] = true
		if i+1 < len(chain) && !signedBy(c, chain[i+1]) {
			t.Errorf("certificate %d is not signed by %d", i, i+1)
		}
	}
	last := chain[len(chain)-1]
	for _, r := range roots {
		if r.Equal(last) {
			return
		}
	}
	t.Errorf("the chain ends at %q, not at a root", last.Subject.CommonName)
}

// TestBuildChainSignatureBudget: the search checks at most 100 signatures
// however the served certificates are arranged.
func TestBuildChainSignatureBudget(t *testing.T) {
	leafKey := ecKey(t)
	var checks int
	counting := func(c, parent *x509.Certificate) bool { checks++; return signedBy(c, parent) }

	// 60 CAs of one subject, each with its own key: the leaf and the CA
	// that signed it are checked against every other.
	keys := make([]*ecdsa.PrivateKey, 60)
	var cas []*x509.Certificate
	for i := range keys {
		keys[i] = ecKey(t)
		cas = append(cas, testCert(t, int64(10+i), "Many CA", &keys[i].PublicKey, nil, keys[i], true, x509.ECDSAWithSHA256))
	}
	leaf := testCert(t, 1, "leaf.test", &leafKey.PublicKey, cas[59], keys[59], false, x509.ECDSAWithSHA256)
	served := append([]*x509.Certificate{leaf}, cas...)
	if chain := buildChainWith(served, nil, certNow, counting); chain != nil {
		t.Errorf("many keys: chain of %d, want none", len(chain))
	}
	if checks > maxChainSignatureChecks {
		t.Errorf("many keys: %d signature checks, want at most %d", checks, maxChainSignatureChecks)
	}
	checks = 0
	if chain := buildChainWith(served, []*x509.Certificate{cas[59]}, certNow, counting); len(chain) != 2 {
		t.Errorf("many keys, signer trusted: chain %v, want leaf and root", chain)
	}

	// Six CAs of one subject, each cross-signed by every other (30
	// certificates): every order of the six is a path.
	mesh := make([]*ecdsa.PrivateKey, 6)
	for i := range mesh {
		mesh[i] = ecKey(t)
	}
	self := testCert(t, 99, "Mesh CA", &mesh[0].PublicKey, nil, mesh[0], true, x509.ECDSAWithSHA256)
	served = []*x509.Certificate{testCert(t, 2, "leaf.test", &leafKey.PublicKey, self, mesh[0], false, x509.ECDSAWithSHA256)}
	serial := int64(200)
	for i := range mesh {
		for j := range mesh {
			if i != j {
				serial++
				issuer := testCert(t, serial, "Mesh CA", &mesh[j].PublicKey, nil, mesh[j], true, x509.ECDSAWithSHA256)
				served = append(served, testCert(t, serial+1000, "Mesh CA", &mesh[i].PublicKey, issuer, mesh[j], true, x509.ECDSAWithSHA256))
			}
		}
	}
	checks = 0
	start := time.Now()
	if chain := buildChainWith(served, nil, certNow, counting); chain != nil {
		t.Errorf("mesh: chain of %d, want none", len(chain))
	}
	if checks > maxChainSignatureChecks || time.Since(start) > time.Second {
		t.Errorf("mesh: %d signature checks in %s", checks, time.Since(start))
	}
}

// TestSignedByLegacy: SHA-1 and MD5 signatures are checked by hand, from
// CA parents and from version 1 parents (which have no basic
// constraints), and DSA signatures too; a non-CA version 3 parent is
// refused.
func TestSignedByLegacy(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	leafKey := ecKey(t)
	ca := testCert(t, 1, "RSA CA", &rsaKey.PublicKey, nil, rsaKey, true, x509.SHA256WithRSA)
	leafSHA1 := testCert(t, 2, "leaf", &leafKey.PublicKey, ca, rsaKey, false, x509.SHA1WithRSA)
	if !signedBy(leafSHA1, ca) {
		t.Error("SHA-1 from a CA: not verified")
	}
	notCA := testCert(t, 3, "RSA CA", &rsaKey.PublicKey, nil, rsaKey, false, x509.SHA256WithRSA)
	if signedBy(leafSHA1, notCA) {
		t.Error("SHA-1 from a version 3 non-CA: verified")
	}
	v1 := asVersion1(t, ca, rsaKey)
	if v1.Version != 1 {
		t.Fatalf("version %d", v1.Version)
	}
	if !signedBy(leafSHA1, v1) {
		t.Error("SHA-1 from a version 1 parent: not verified")
	}
	if chain := buildChain([]*x509.Certificate{leafSHA1}, []*x509.Certificate{v1}, certNow); len(chain) != 2 {
		t.Errorf("chain to a version 1 root: %v", chain)
	}

	// DSA: a DSA CA signing with dsa-with-sha1 and dsa-with-sha256.
	var params dsa.Parameters
	if err := dsa.GenerateParameters(&params, rand.Reader, dsa.L1024N160); err != nil {
		t.Fatal(err)
	}
	dsaKey := &dsa.PrivateKey{PublicKey: dsa.PublicKey{Parameters: params}}
	if err := dsa.GenerateKey(dsaKey, rand.Reader); err != nil {
		t.Fatal(err)
	}
	dsaCA := withDSAKey(t, ca, rsaKey, &dsaKey.PublicKey)
	if _, ok := dsaCA.PublicKey.(*dsa.PublicKey); !ok {
		t.Fatalf("DSA CA key %T", dsaCA.PublicKey)
	}
	for _, alg := range []x509.SignatureAlgorithm{x509.DSAWithSHA1, x509.DSAWithSHA256} {
		leaf := resignDSA(t, leafSHA1, alg, dsaKey)
		if leaf.SignatureAlgorithm != alg {
			t.Fatalf("signature algorithm %v", leaf.SignatureAlgorithm)
		}
		if !signedBy(leaf, dsaCA) {
			t.Errorf("%v: not verified", alg)
		}
		bad := *leaf
		bad.Signature = append([]byte{}, leaf.Signature...)
		bad.Signature[len(bad.Signature)-1] ^= 1
		if signedBy(&bad, dsaCA) {
			t.Errorf("%v: a damaged signature verified", alg)
		}
		if signedBy(leaf, ca) {
			t.Errorf("%v: verified with an RSA key", alg)
		}
	}
}

// tbsElements splits a TBSCertificate into its elements.
func tbsElements(t testing.TB, tbs []byte) []asn1.RawValue {
	t.Helper()
	var seq asn1.RawValue
	if _, err := asn1.Unmarshal(tbs, &seq); err != nil {
		t.Fatal(err)
	}
	var out []asn1.RawValue
	for rest := seq.Bytes; len(rest) > 0; {
		var rv asn1.RawValue
		var err error
		if rest, err = asn1.Unmarshal(rest, &rv); err != nil {
			t.Fatal(err)
		}
		out = append(out, rv)
	}
	return out
}

func sequence(t testing.TB, elems []asn1.RawValue) []byte {
	t.Helper()
	var body []byte
	for _, e := range elems {
		body = append(body, e.FullBytes...)
	}
	der, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: body})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func rawOf(t testing.TB, v any) asn1.RawValue {
	t.Helper()
	der, err := asn1.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var rv asn1.RawValue
	if _, err := asn1.Unmarshal(der, &rv); err != nil {
		t.Fatal(err)
	}
	return rv
}

var (
	oidDSA           = asn1.ObjectIdentifier{1, 2, 840, 10040, 4, 1}
	oidDSAWithSHA1   = asn1.ObjectIdentifier{1, 2, 840, 10040, 4, 3}
	oidDSAWithSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 2}
	oidSHA256WithRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
)

type algID struct {
	Algorithm  asn1.ObjectIdentifier
	Parameters asn1.RawValue `asn1:"optional"`
}

// assemble signs tbs with sign and returns the parsed certificate.
func assemble(t testing.TB, tbs []byte, alg algID, sig []byte) *x509.Certificate {
	t.Helper()
	der := sequence(t, []asn1.RawValue{
		{FullBytes: tbs},
		rawOf(t, alg),
		rawOf(t, asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)}),
	})
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func rsaSign(t testing.TB, key *rsa.PrivateKey, tbs []byte) []byte {
	t.Helper()
	d := crypto.SHA256.New()
	d.Write(tbs)
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, d.Sum(nil))
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// asVersion1 is c without its version and extensions (a version 1
// certificate), signed again by key with SHA-256.
func asVersion1(t testing.TB, c *x509.Certificate, key *rsa.PrivateKey) *x509.Certificate {
	t.Helper()
	el := tbsElements(t, c.RawTBSCertificate)
	// version [0], serial, signature, issuer, validity, subject, spki, [3] extensions
	tbs := sequence(t, el[1:7])
	return assemble(t, tbs, algID{Algorithm: oidSHA256WithRSA, Parameters: asn1.NullRawValue}, rsaSign(t, key, tbs))
}

// withDSAKey is c with its public key replaced by pub (signed again by
// key, which does not matter for a trust anchor).
func withDSAKey(t testing.TB, c *x509.Certificate, key *rsa.PrivateKey, pub *dsa.PublicKey) *x509.Certificate {
	t.Helper()
	el := tbsElements(t, c.RawTBSCertificate)
	params := rawOf(t, struct{ P, Q, G *big.Int }{pub.P, pub.Q, pub.G})
	y, _ := asn1.Marshal(pub.Y)
	el[6] = rawOf(t, struct {
		Alg algID
		Key asn1.BitString
	}{algID{oidDSA, params}, asn1.BitString{Bytes: y, BitLength: 8 * len(y)}})
	tbs := sequence(t, el)
	return assemble(t, tbs, algID{Algorithm: oidSHA256WithRSA, Parameters: asn1.NullRawValue}, rsaSign(t, key, tbs))
}

// resignDSA is c signed by key with alg (DSAWithSHA1 or DSAWithSHA256).
func resignDSA(t testing.TB, c *x509.Certificate, alg x509.SignatureAlgorithm, key *dsa.PrivateKey) *x509.Certificate {
	t.Helper()
	oid, h := oidDSAWithSHA1, crypto.SHA1
	if alg == x509.DSAWithSHA256 {
		oid, h = oidDSAWithSHA256, crypto.SHA256
	}
	el := tbsElements(t, c.RawTBSCertificate)
	el[2] = rawOf(t, algID{Algorithm: oid})
	tbs := sequence(t, el)
	d := h.New()
	d.Write(tbs)
	digest := d.Sum(nil)
	if n := (key.Q.BitLen() + 7) / 8; len(digest) > n {
		digest = digest[:n]
	}
	r, s, err := dsa.Sign(rand.Reader, key, digest)
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := asn1.Marshal(struct{ R, S *big.Int }{r, s})
	return assemble(t, tbs, algID{Algorithm: oid}, sig)
}
