package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// One CA for the whole package: New costs RSA key generations.
var sharedCA = sync.OnceValues(New)

func testCA(t testing.TB) *CA {
	t.Helper()
	ca, err := sharedCA()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return ca
}

func issue(t testing.TB, ca *CA, spec Spec) (tls.Certificate, []*x509.Certificate) {
	t.Helper()
	cert, err := ca.Issue(spec)
	if err != nil {
		t.Fatalf("Issue(%+v): %v", spec, err)
	}
	chain := make([]*x509.Certificate, len(cert.Certificate))
	for i, der := range cert.Certificate {
		if chain[i], err = x509.ParseCertificate(der); err != nil {
			t.Fatalf("parsing served cert %d: %v", i, err)
		}
	}
	if !bytes.Equal(cert.Leaf.Raw, chain[0].Raw) {
		t.Fatal("Leaf is not the first served certificate")
	}
	return cert, chain
}

// verify checks chain[0] the way a client would: trusting only the lab root,
// optionally using the served intermediates, plus any extra ones.
func verify(ca *CA, chain []*x509.Certificate, name string, at time.Time, useServed bool, extra ...*x509.Certificate) ([][]*x509.Certificate, error) {
	inter := x509.NewCertPool()
	if useServed {
		for _, c := range chain[1:] {
			inter.AddCert(c)
		}
	}
	for _, c := range extra {
		inter.AddCert(c)
	}
	return chain[0].Verify(x509.VerifyOptions{
		Roots:         ca.RootPool(),
		Intermediates: inter,
		DNSName:       name,
		CurrentTime:   at,
	})
}

func wantUnknownAuthority(t *testing.T, err error) {
	t.Helper()
	var uae x509.UnknownAuthorityError
	if !errors.As(err, &uae) {
		t.Fatalf("want x509.UnknownAuthorityError, got %T: %v", err, err)
	}
}

func wantExpired(t *testing.T, err error) *x509.Certificate {
	t.Helper()
	var cie x509.CertificateInvalidError
	if !errors.As(err, &cie) || cie.Reason != x509.Expired {
		t.Fatalf("want x509.CertificateInvalidError{Reason: Expired}, got %T: %v", err, err)
	}
	return cie.Cert
}

func hasExtension(c *x509.Certificate, oid asn1.ObjectIdentifier) bool {
	return slices.ContainsFunc(c.Extensions, func(e pkix.Extension) bool { return e.Id.Equal(oid) })
}

var oidSAN = asn1.ObjectIdentifier{2, 5, 29, 17}

func TestNewTiming(t *testing.T) {
	var times []time.Duration
	for range 3 {
		start := time.Now()
		if _, err := New(); err != nil {
			t.Fatal(err)
		}
		times = append(times, time.Since(start))
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	t.Logf("New(): min %v median %v max %v", times[0], times[1], times[2])
	// Generous so -race and loaded CI machines pass; the target is < 1s.
	if times[1] > 5*time.Second {
		t.Errorf("New() median %v, want well under 1s", times[1])
	}
}

func TestCAHierarchy(t *testing.T) {
	ca := testCA(t)
	root, inter, untrusted := ca.Root(), ca.Intermediate(), ca.UntrustedRoot()

	for _, c := range []struct {
		cert       *x509.Certificate
		cn         string
		maxPathLen int
	}{
		{root, "domain-scan lab root CA", 1},
		{inter, "domain-scan lab intermediate CA", 0},
		{untrusted, "domain-scan untrusted lab root CA", 1},
	} {
		t.Run(c.cn, func(t *testing.T) {
			cert := c.cert
			if cert.Subject.CommonName != c.cn || len(cert.Subject.OrganizationalUnit) != 1 ||
				!slices.Equal(cert.Subject.Organization, []string{"domain-scan lab"}) {
				t.Errorf("subject %v", cert.Subject)
			}
			if !cert.BasicConstraintsValid || !cert.IsCA || cert.MaxPathLen != c.maxPathLen {
				t.Errorf("basic constraints valid=%v ca=%v pathlen=%d", cert.BasicConstraintsValid, cert.IsCA, cert.MaxPathLen)
			}
			if cert.KeyUsage&x509.KeyUsageCertSign == 0 || len(cert.SubjectKeyId) == 0 {
				t.Errorf("key usage %v, SKI %x", cert.KeyUsage, cert.SubjectKeyId)
			}
			if k, ok := cert.PublicKey.(*rsa.PublicKey); !ok || k.N.BitLen() != 2048 {
				t.Errorf("public key %T, want RSA-2048", cert.PublicKey)
			}
			if n := cert.SerialNumber; n.Sign() <= 0 || n.BitLen() > 128 {
				t.Errorf("serial %v", n)
			}
		})
	}

	for _, r := range []*x509.Certificate{root, untrusted} {
		if !bytes.Equal(r.RawIssuer, r.RawSubject) || r.CheckSignatureFrom(r) != nil {
			t.Errorf("%s is not self-signed", r.Subject.CommonName)
		}
	}
	if err := inter.CheckSignatureFrom(root); err != nil {
		t.Errorf("intermediate not signed by root: %v", err)
	}
	if !bytes.Equal(inter.AuthorityKeyId, root.SubjectKeyId) {
		t.Error("intermediate AKI != root SKI")
	}
	if bytes.Equal(root.SubjectKeyId, untrusted.SubjectKeyId) {
		t.Error("untrusted root shares the trusted root's key")
	}
	if _, err := inter.Verify(x509.VerifyOptions{Roots: ca.RootPool()}); err != nil {
		t.Errorf("intermediate does not verify: %v", err)
	}
	_, err := untrusted.Verify(x509.VerifyOptions{Roots: ca.RootPool()})
	wantUnknownAuthority(t, err)

	block, rest := pem.Decode(ca.RootPEM())
	if block == nil || block.Type != "CERTIFICATE" || len(bytes.TrimSpace(rest)) != 0 || !bytes.Equal(block.Bytes, root.Raw) {
		t.Error("RootPEM is not exactly the root certificate")
	}
	if ca.RootPool() == ca.RootPool() {
		t.Error("RootPool returns a shared, mutable pool")
	}
}

func TestIssueChains(t *testing.T) {
	ca := testCA(t)
	now := time.Now()
	const host = "www.example.lab"

	tests := []struct {
		name     string
		spec     Spec
		chainLen int
		check    func(t *testing.T, chain []*x509.Certificate)
	}{
		{
			name:     "normal",
			spec:     Spec{DNSNames: []string{host, "example.lab"}},
			chainLen: 2,
			check: func(t *testing.T, chain []*x509.Certificate) {
				leaf := chain[0]
				chains, err := verify(ca, chain, host, now, true)
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if got := chains[0]; len(got) != 3 || !got[2].Equal(ca.Root()) {
					t.Errorf("built chain of %d ending in %v", len(got), got[len(got)-1].Subject)
				}
				if _, err := verify(ca, chain, "example.lab", now, true); err != nil {
					t.Errorf("second SAN: %v", err)
				}
				_, err = verify(ca, chain, "other.example.lab", now, true)
				var he x509.HostnameError
				if !errors.As(err, &he) {
					t.Errorf("other name: want x509.HostnameError, got %T: %v", err, err)
				}
				if !chain[1].Equal(ca.Intermediate()) {
					t.Error("served intermediate is not ca.Intermediate()")
				}
				if leaf.Subject.CommonName != host || !slices.Equal(leaf.Subject.Organization, []string{"domain-scan lab"}) {
					t.Errorf("subject %v", leaf.Subject)
				}
				if leaf.IsCA || !slices.Equal(leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
					t.Errorf("leaf IsCA=%v EKU=%v", leaf.IsCA, leaf.ExtKeyUsage)
				}
				if !bytes.Equal(leaf.AuthorityKeyId, ca.Intermediate().SubjectKeyId) || len(leaf.SubjectKeyId) != 20 {
					t.Errorf("AKI %x SKI %x", leaf.AuthorityKeyId, leaf.SubjectKeyId)
				}
				if d := leaf.NotAfter.Sub(leaf.NotBefore); d != 90*24*time.Hour {
					t.Errorf("lifetime %v, want 90 days", d)
				}
				if len(leaf.PolicyIdentifiers) != 0 || len(leaf.Policies) != 0 {
					t.Error("non-EV leaf has policies")
				}
			},
		},
		{
			name:     "missing intermediate",
			spec:     Spec{DNSNames: []string{host}, Chain: LeafOnly},
			chainLen: 1,
			check: func(t *testing.T, chain []*x509.Certificate) {
				_, err := verify(ca, chain, host, now, true)
				wantUnknownAuthority(t, err)
				if _, err := verify(ca, chain, host, now, true, ca.Intermediate()); err != nil {
					t.Errorf("with the known intermediate added: %v", err)
				}
			},
		},
		{
			name:     "root served",
			spec:     Spec{DNSNames: []string{host}, Chain: WithRoot},
			chainLen: 3,
			check: func(t *testing.T, chain []*x509.Certificate) {
				if !chain[2].Equal(ca.Root()) {
					t.Error("last served cert is not the root")
				}
				if _, err := verify(ca, chain, host, now, true); err != nil {
					t.Error(err)
				}
			},
		},
		{
			name:     "signed by root",
			spec:     Spec{DNSNames: []string{host}, Issuer: ByRoot},
			chainLen: 1,
			check: func(t *testing.T, chain []*x509.Certificate) {
				chains, err := verify(ca, chain, host, now, true)
				if err != nil || len(chains[0]) != 2 {
					t.Errorf("Verify: %v (%d)", err, len(chains))
				}
			},
		},
		{
			name:     "self-signed",
			spec:     Spec{DNSNames: []string{host}, Issuer: SelfSigned, Chain: WithRoot},
			chainLen: 1,
			check: func(t *testing.T, chain []*x509.Certificate) {
				leaf := chain[0]
				if !bytes.Equal(leaf.RawIssuer, leaf.RawSubject) || leaf.Issuer.String() != leaf.Subject.String() {
					t.Errorf("issuer %v != subject %v", leaf.Issuer, leaf.Subject)
				}
				if err := leaf.CheckSignatureFrom(leaf); err != nil {
					t.Errorf("CheckSignatureFrom(itself): %v", err)
				}
				_, err := verify(ca, chain, host, now, true)
				wantUnknownAuthority(t, err)
			},
		},
		{
			name:     "untrusted root served",
			spec:     Spec{DNSNames: []string{host}, Issuer: ByUntrustedRoot, Chain: WithRoot},
			chainLen: 2,
			check: func(t *testing.T, chain []*x509.Certificate) {
				_, err := verify(ca, chain, host, now, true)
				wantUnknownAuthority(t, err)
				last := chain[len(chain)-1]
				if !bytes.Equal(last.RawIssuer, last.RawSubject) || last.CheckSignatureFrom(last) != nil {
					t.Error("last served cert is not self-signed")
				}
				if !last.Equal(ca.UntrustedRoot()) || chain[0].CheckSignatureFrom(last) != nil {
					t.Error("leaf not issued by the untrusted root")
				}
			},
		},
		{
			name:     "expired",
			spec:     Spec{DNSNames: []string{host}, Expired: true},
			chainLen: 2,
			check: func(t *testing.T, chain []*x509.Certificate) {
				leaf := chain[0]
				_, err := verify(ca, chain, host, now, true)
				if c := wantExpired(t, err); !c.Equal(leaf) {
					t.Errorf("expired cert is %v, want the leaf", c.Subject)
				}
				if !leaf.NotAfter.Before(now) {
					t.Errorf("NotAfter %v not in the past", leaf.NotAfter)
				}
				if _, err := verify(ca, chain, host, leaf.NotBefore.Add(time.Hour), true); err != nil {
					t.Errorf("inside validity: %v", err)
				}
			},
		},
		{
			name:     "not yet valid",
			spec:     Spec{DNSNames: []string{host}, NotYetValid: true},
			chainLen: 2,
			check: func(t *testing.T, chain []*x509.Certificate) {
				leaf := chain[0]
				_, err := verify(ca, chain, host, now, true)
				wantExpired(t, err) // x509 uses Expired for both ends of the window
				if !leaf.NotBefore.After(now) {
					t.Errorf("NotBefore %v not in the future", leaf.NotBefore)
				}
				if _, err := verify(ca, chain, host, leaf.NotBefore.Add(time.Hour), true); err != nil {
					t.Errorf("inside validity: %v", err)
				}
			},
		},
		{
			name:     "expired intermediate",
			spec:     Spec{DNSNames: []string{host}, ExpiredIntermediate: true},
			chainLen: 2,
			check: func(t *testing.T, chain []*x509.Certificate) {
				leaf, inter := chain[0], chain[1]
				if now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
					t.Error("leaf itself is not currently valid")
				}
				if !inter.NotAfter.Before(now) || inter.Equal(ca.Intermediate()) || leaf.CheckSignatureFrom(inter) != nil {
					t.Errorf("served intermediate %v (NotAfter %v) is not the expired issuer", inter.Subject, inter.NotAfter)
				}
				_, err := verify(ca, chain, host, now, true)
				if c := wantExpired(t, err); !c.Equal(inter) {
					t.Errorf("expired cert is %v, want the intermediate", c.Subject)
				}
			},
		},
		{
			name:     "SHA-1 leaf",
			spec:     Spec{DNSNames: []string{host}, SHA1: true},
			chainLen: 2,
			check: func(t *testing.T, chain []*x509.Certificate) {
				if got := chain[0].SignatureAlgorithm; got != x509.SHA1WithRSA {
					t.Errorf("leaf signed with %v", got)
				}
				// Go no longer accepts SHA-1 signatures in chains: the issuer is
				// rejected as a candidate, surfacing as an unknown authority.
				_, err := verify(ca, chain, host, now, true)
				wantUnknownAuthority(t, err)
				if err == nil || !strings.Contains(err.Error(), "insecure algorithm") {
					t.Errorf("error %v does not mention the insecure algorithm", err)
				}
			},
		},
		{
			name:     "SHA-1 intermediate",
			spec:     Spec{DNSNames: []string{host}, SHA1Intermediate: true},
			chainLen: 2,
			check: func(t *testing.T, chain []*x509.Certificate) {
				if got := chain[1].SignatureAlgorithm; got != x509.SHA1WithRSA {
					t.Errorf("intermediate signed with %v", got)
				}
				if got := chain[0].SignatureAlgorithm; got != x509.SHA256WithRSA {
					t.Errorf("leaf signed with %v", got)
				}
				_, err := verify(ca, chain, host, now, true)
				wantUnknownAuthority(t, err)
			},
		},
		{
			name:     "SHA-1 self-signed ECDSA",
			spec:     Spec{DNSNames: []string{host}, Issuer: SelfSigned, Key: ECDSAP256, SHA1: true},
			chainLen: 1,
			check: func(t *testing.T, chain []*x509.Certificate) {
				if got := chain[0].SignatureAlgorithm; got != x509.ECDSAWithSHA1 {
					t.Errorf("signed with %v", got)
				}
			},
		},
		{
			name:     "CN only",
			spec:     Spec{CommonName: "cn-only.example.lab"},
			chainLen: 2,
			check: func(t *testing.T, chain []*x509.Certificate) {
				leaf := chain[0]
				if len(leaf.DNSNames) != 0 || len(leaf.IPAddresses) != 0 || hasExtension(leaf, oidSAN) {
					t.Error("CN-only certificate has a SAN extension")
				}
				// Go ignores the Common Name, so even the exact name fails.
				_, err := verify(ca, chain, "cn-only.example.lab", now, true)
				var he x509.HostnameError
				if !errors.As(err, &he) || !strings.Contains(err.Error(), "legacy Common Name") {
					t.Errorf("want legacy-CN x509.HostnameError, got %T: %v", err, err)
				}
				if _, err := verify(ca, chain, "", now, true); err != nil {
					t.Errorf("chain itself should verify: %v", err)
				}
			},
		},
		{
			name:     "IP SAN only",
			spec:     Spec{IPs: []net.IP{net.IPv4(127, 0, 0, 1)}},
			chainLen: 2,
			check: func(t *testing.T, chain []*x509.Certificate) {
				if cn := chain[0].Subject.CommonName; cn != "127.0.0.1" {
					t.Errorf("CN %q", cn)
				}
				if _, err := verify(ca, chain, "127.0.0.1", now, true); err != nil {
					t.Error(err)
				}
			},
		},
		{
			name:     "EV",
			spec:     Spec{DNSNames: []string{host}, EV: true},
			chainLen: 2,
			check: func(t *testing.T, chain []*x509.Certificate) {
				leaf := chain[0]
				if !slices.ContainsFunc(leaf.Policies, OIDEV.Equal) || !slices.ContainsFunc(leaf.Policies, OIDLabPolicy.Equal) {
					t.Errorf("Policies %v", leaf.Policies)
				}
				if !slices.ContainsFunc(leaf.PolicyIdentifiers, asn1EV.Equal) {
					t.Errorf("PolicyIdentifiers %v", leaf.PolicyIdentifiers)
				}
				inter := x509.NewCertPool()
				inter.AddCert(chain[1])
				_, err := leaf.Verify(x509.VerifyOptions{
					Roots: ca.RootPool(), Intermediates: inter, DNSName: host,
					CertificatePolicies: []x509.OID{OIDEV},
				})
				if err != nil {
					t.Errorf("RFC 5280 policy validation for EV: %v", err)
				}
			},
		},
		{
			name:     "custom lifetime and CN",
			spec:     Spec{DNSNames: []string{host}, CommonName: "Custom", Lifetime: 24 * time.Hour},
			chainLen: 2,
			check: func(t *testing.T, chain []*x509.Certificate) {
				leaf := chain[0]
				if d := leaf.NotAfter.Sub(leaf.NotBefore); d != 24*time.Hour || leaf.Subject.CommonName != "Custom" {
					t.Errorf("lifetime %v CN %q", d, leaf.Subject.CommonName)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, chain := issue(t, ca, tt.spec)
			if len(chain) != tt.chainLen {
				t.Fatalf("served %d certs, want %d", len(chain), tt.chainLen)
			}
			tt.check(t, chain)
		})
	}
}

func TestKeyKinds(t *testing.T) {
	ca := testCA(t)
	tests := []struct {
		kind  KeyKind
		bits  int
		curve elliptic.Curve
	}{
		{RSA2048, 2048, nil},
		{RSA1024, 1024, nil},
		{ECDSAP256, 256, elliptic.P256()},
		{ECDSAP384, 384, elliptic.P384()},
	}
	for _, tt := range tests {
		t.Run(tt.kind.String(), func(t *testing.T) {
			spec := Spec{DNSNames: []string{"keys.example.lab"}, Key: tt.kind}
			a, _ := issue(t, ca, spec)
			b, _ := issue(t, ca, spec)
			switch k := a.Leaf.PublicKey.(type) {
			case *rsa.PublicKey:
				if tt.curve != nil || k.N.BitLen() != tt.bits {
					t.Errorf("RSA %d bits", k.N.BitLen())
				}
				if a.Leaf.KeyUsage&x509.KeyUsageKeyEncipherment == 0 {
					t.Error("RSA leaf lacks KeyEncipherment")
				}
			case *ecdsa.PublicKey:
				if k.Curve != tt.curve || k.Curve.Params().BitSize != tt.bits {
					t.Errorf("curve %v", k.Curve.Params().Name)
				}
				if a.Leaf.KeyUsage&x509.KeyUsageKeyEncipherment != 0 {
					t.Error("ECDSA leaf has KeyEncipherment")
				}
			default:
				t.Fatalf("key %T", k)
			}
			if a.Leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
				t.Error("leaf lacks DigitalSignature")
			}
			type publicKey interface{ Equal(crypto.PublicKey) bool }
			if !a.PrivateKey.(crypto.Signer).Public().(publicKey).Equal(a.Leaf.PublicKey) {
				t.Error("PrivateKey does not match the leaf")
			}
			if a.PrivateKey != b.PrivateKey {
				t.Error("key not reused across leaves of the same kind")
			}
			if a.Leaf.SerialNumber.Cmp(b.Leaf.SerialNumber) == 0 {
				t.Error("two leaves share a serial")
			}
		})
	}
}

func TestSerials(t *testing.T) {
	ca := testCA(t)
	seen := map[string]bool{}
	for range 64 {
		c, _ := issue(t, ca, Spec{DNSNames: []string{"serial.example.lab"}, Key: ECDSAP256})
		n := c.Leaf.SerialNumber
		if n.Sign() <= 0 || n.BitLen() > 128 || seen[n.String()] {
			t.Fatalf("bad or repeated serial %v", n)
		}
		seen[n.String()] = true
	}
}

func TestIssueRejectsBadSpecs(t *testing.T) {
	ca := testCA(t)
	name := []string{"bad.example.lab"}
	for _, spec := range []Spec{
		{},
		{DNSNames: name, Expired: true, NotYetValid: true},
		{DNSNames: name, ExpiredIntermediate: true, SHA1Intermediate: true},
		{DNSNames: name, ExpiredIntermediate: true, Issuer: ByRoot},
		{DNSNames: name, SHA1Intermediate: true, Issuer: SelfSigned},
		{DNSNames: name, Key: KeyKind(99)},
		{DNSNames: name, Issuer: Issuer(99)},
		{DNSNames: name, Chain: Chain(-1)},
		{DNSNames: name, Lifetime: -time.Hour},
	} {
		if _, err := ca.Issue(spec); err == nil {
			t.Errorf("Issue(%+v) succeeded", spec)
		}
	}
}

func TestTLSHandshake(t *testing.T) {
	ca := testCA(t)
	const host = "tls.example.lab"
	tests := []struct {
		name    string
		spec    Spec
		wantErr bool // verification failure expected on the client
	}{
		{"RSA2048", Spec{DNSNames: []string{host}}, false},
		{"RSA1024", Spec{DNSNames: []string{host}, Key: RSA1024}, false},
		{"ECDSAP256", Spec{DNSNames: []string{host}, Key: ECDSAP256}, false},
		{"ECDSAP384 root served", Spec{DNSNames: []string{host}, Key: ECDSAP384, Chain: WithRoot}, false},
		{"EV", Spec{DNSNames: []string{host}, EV: true}, false},
		{"missing intermediate", Spec{DNSNames: []string{host}, Chain: LeafOnly}, true},
		{"self-signed", Spec{DNSNames: []string{host}, Issuer: SelfSigned}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cert, _ := issue(t, ca, tt.spec)
			addr := serveTLS(t, &tls.Config{Certificates: []tls.Certificate{cert}})
			conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: ca.RootPool(), ServerName: host})
			if tt.wantErr {
				wantUnknownAuthority(t, err)
				var cve *tls.CertificateVerificationError
				if !errors.As(err, &cve) || len(cve.UnverifiedCertificates) != len(cert.Certificate) {
					t.Errorf("want tls.CertificateVerificationError with the served chain, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			defer conn.Close()
			peers := conn.ConnectionState().PeerCertificates
			if len(peers) != len(cert.Certificate) {
				t.Fatalf("peer sent %d certs, want %d", len(peers), len(cert.Certificate))
			}
			for i, p := range peers {
				if !bytes.Equal(p.Raw, cert.Certificate[i]) {
					t.Errorf("peer cert %d differs from the served chain", i)
				}
			}
		})
	}
}

// serveTLS accepts handshakes on loopback until the test ends.
func serveTLS(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				c.(*tls.Conn).Handshake() // the client reports any failure
			})
		}
	})
	return ln.Addr().String()
}

func TestWriteRootPEM(t *testing.T) {
	ca := testCA(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "lab-root.pem")
	if err := os.WriteFile(path, []byte("stale"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := ca.WriteRootPEM(path); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, ca.RootPEM()) {
		t.Fatalf("file content mismatch (err %v)", err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	if err := ca.WriteRootPEM(filepath.Join(dir, "missing", "x.pem")); err == nil {
		t.Error("writing into a missing directory succeeded")
	}
}

func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		if _, err := New(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIssueECDSAP256 measures the per-leaf cost once keys are pooled;
// run with -benchtime=10000x for the 10,000-leaf figure.
func BenchmarkIssueECDSAP256(b *testing.B) {
	ca := testCA(b)
	spec := Spec{DNSNames: []string{"bench.example.lab"}, Key: ECDSAP256}
	if _, err := ca.Issue(spec); err != nil { // generate the pooled key outside the timer
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := ca.Issue(spec); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "leaves/s")
}

func BenchmarkIssueECDSAP256Parallel(b *testing.B) {
	ca := testCA(b)
	spec := Spec{DNSNames: []string{"bench.example.lab"}, Key: ECDSAP256}
	if _, err := ca.Issue(spec); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := ca.Issue(spec); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "leaves/s")
}

func TestECDSAIntermediate(t *testing.T) {
	ca, err := New()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue(Spec{DNSNames: []string{"fast.test"}, Key: ECDSAP256, Issuer: ByECDSAIntermediate})
	if err != nil {
		t.Fatal(err)
	}
	if len(cert.Certificate) != 2 {
		t.Fatalf("served %d certificates, want leaf + intermediate", len(cert.Certificate))
	}
	inter, err := x509.ParseCertificate(cert.Certificate[1])
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := inter.PublicKey.(*ecdsa.PublicKey); !ok || inter.Subject.CommonName != "domain-scan lab ECDSA intermediate CA" {
		t.Errorf("intermediate %s with %T", inter.Subject, inter.PublicKey)
	}
	pool := x509.NewCertPool()
	pool.AddCert(inter)
	if _, err := cert.Leaf.Verify(x509.VerifyOptions{DNSName: "fast.test", Roots: ca.RootPool(), Intermediates: pool}); err != nil {
		t.Errorf("does not verify: %v", err)
	}
}
