// Package pki is the lab's private certificate authority: a trusted root and
// intermediate, plus the deliberately broken issuers (expired or SHA-1
// intermediates, an untrusted root, self-signing) needed to reproduce every
// certificate situation a TLS scanner has to classify, entirely offline.
package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"sync"
	"time"

	"github.com/domainscan/domain-scan/internal/atomicfile"
)

// KeyKind selects the leaf key.
type KeyKind int

const (
	RSA2048 KeyKind = iota
	RSA1024
	ECDSAP256
	ECDSAP384
	numKeyKinds
)

func (k KeyKind) String() string {
	switch k {
	case RSA2048:
		return "RSA2048"
	case RSA1024:
		return "RSA1024"
	case ECDSAP256:
		return "ECDSAP256"
	case ECDSAP384:
		return "ECDSAP384"
	}
	return fmt.Sprintf("KeyKind(%d)", int(k))
}

// Issuer selects who signs the leaf.
type Issuer int

const (
	ByIntermediate  Issuer = iota // lab root -> lab intermediate -> leaf (the normal, trusted case)
	ByRoot                        // lab root signs the leaf directly
	SelfSigned                    // the leaf signs itself
	ByUntrustedRoot               // a second root, absent from the lab trust store, signs the leaf
	// ByECDSAIntermediate: lab root -> an ECDSA P-256 intermediate -> leaf.
	// Its signatures are some 30 times cheaper than the RSA intermediate's,
	// for the synthetic mode's many certificates.
	ByECDSAIntermediate
)

// Chain selects what the server sends after the leaf.
type Chain int

const (
	WithIntermediate Chain = iota // leaf + issuing intermediate (normal); leaf only when a root or the leaf itself signed
	LeafOnly                      // leaf only: "missing intermediate" when issued ByIntermediate
	WithRoot                      // leaf + intermediate (if any) + root
)

// Spec describes one leaf certificate situation.
type Spec struct {
	DNSNames            []string      // SANs; empty with CommonName set gives a CN-only certificate (no SAN extension)
	CommonName          string        // default: DNSNames[0], else IPs[0]
	IPs                 []net.IP      // IP SANs
	Key                 KeyKind       // leaf key; one pooled key per kind and CA
	Issuer              Issuer        // who signs the leaf
	Chain               Chain         // what is served after the leaf
	Expired             bool          // valid from now-2y to now-1d
	NotYetValid         bool          // valid from now+1d to now+1y
	ExpiredIntermediate bool          // issue under an intermediate whose NotAfter is in the past
	SHA1                bool          // sign the leaf with SHA-1 (SHA1WithRSA, or ECDSAWithSHA1 for an ECDSA signer)
	SHA1Intermediate    bool          // issue under an intermediate the root signed with SHA-1
	EV                  bool          // add the CA/Browser Forum EV policy OID and the lab's own policy OID
	ClientAuth          bool          // informational only; does not change the certificate
	Lifetime            time.Duration // default 90 days, valid from now-1h
}

const (
	labOrg          = "domain-scan lab"
	defaultLifetime = 90 * 24 * time.Hour
	year            = 365 * 24 * time.Hour
	day             = 24 * time.Hour
)

var (
	// OIDEV is the CA/Browser Forum extended-validation policy.
	OIDEV = mustOID("2.23.140.1.1")
	// OIDLabPolicy is the lab CA's own policy (a UUID-derived 2.25 arc, so it
	// needs no registration and cannot collide with a real CA's OID).
	OIDLabPolicy = mustOID("2.25.116004534758934287011536537612555084609")

	oidAnyPolicy = mustOID("2.5.29.32.0")
	asn1EV       = asn1.ObjectIdentifier{2, 23, 140, 1, 1}
)

func mustOID(s string) x509.OID {
	oid, err := x509.ParseOID(s)
	if err != nil {
		panic(err)
	}
	return oid
}

// authority is one CA certificate with its signing key.
type authority struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// lazyAuthority defers creating a rarely used intermediate, since each costs
// an RSA key generation that New should not pay for.
type lazyAuthority struct {
	once sync.Once
	a    *authority
	err  error
	make func() (*authority, error)
}

func (l *lazyAuthority) get() (*authority, error) {
	l.once.Do(func() { l.a, l.err = l.make() })
	return l.a, l.err
}

// pooledKey is the single leaf key of one KeyKind, shared by every leaf of
// that kind so issuing costs only a signature.
type pooledKey struct {
	once sync.Once
	key  crypto.Signer
	ski  []byte
	err  error
}

// CA is a lab certificate authority. It is safe for concurrent use.
type CA struct {
	root         *authority
	intermediate *authority
	untrusted    *authority
	expiredInt   lazyAuthority
	sha1Int      lazyAuthority
	ecdsaInt     lazyAuthority
	leafKeys     [numKeyKinds]pooledKey
	rootPEM      []byte
	pool         *x509.CertPool
}

// New makes a lab CA. Only the three RSA-2048 keys (root, intermediate,
// untrusted root) are generated here, concurrently; the expired and SHA-1
// intermediates and the leaf keys are created on first use.
func New() (*CA, error) {
	var keys [3]*rsa.PrivateKey
	var errs [3]error
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() { keys[i], errs[i] = rsa.GenerateKey(rand.Reader, 2048) })
	}
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		return nil, fmt.Errorf("pki: generating CA keys: %w", err)
	}

	// Wide validity windows so that leaves dated years in the past or future
	// still chain to currently valid CA certificates.
	now := time.Now().Truncate(time.Second)
	root, err := newAuthority(caTemplate("domain-scan lab root CA", "domain-scan lab root",
		now.Add(-10*year), now.Add(20*year), 1), nil, keys[0], 0)
	if err != nil {
		return nil, err
	}
	inter, err := newAuthority(intermediateTemplate("domain-scan lab intermediate CA",
		now.Add(-5*year), now.Add(10*year)), root, keys[1], 0)
	if err != nil {
		return nil, err
	}
	untrusted, err := newAuthority(caTemplate("domain-scan untrusted lab root CA", "domain-scan lab untrusted root",
		now.Add(-10*year), now.Add(20*year), 1), nil, keys[2], 0)
	if err != nil {
		return nil, err
	}

	ca := &CA{root: root, intermediate: inter, untrusted: untrusted, pool: x509.NewCertPool()}
	ca.pool.AddCert(root.cert)
	ca.rootPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.cert.Raw})
	ca.expiredInt.make = func() (*authority, error) {
		return ca.extraIntermediate(intermediateTemplate("domain-scan lab expired intermediate CA",
			now.Add(-3*year), now.Add(-day)), 0)
	}
	ca.sha1Int.make = func() (*authority, error) {
		return ca.extraIntermediate(intermediateTemplate("domain-scan lab SHA-1 intermediate CA",
			now.Add(-5*year), now.Add(10*year)), x509.SHA1WithRSA)
	}
	ca.ecdsaInt.make = func() (*authority, error) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("pki: generating intermediate key: %w", err)
		}
		return newAuthority(intermediateTemplate("domain-scan lab ECDSA intermediate CA",
			now.Add(-5*year), now.Add(10*year)), ca.root, key, 0)
	}
	return ca, nil
}

func (ca *CA) extraIntermediate(tmpl *x509.Certificate, alg x509.SignatureAlgorithm) (*authority, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("pki: generating intermediate key: %w", err)
	}
	return newAuthority(tmpl, ca.root, key, alg)
}

func caTemplate(cn, ou string, notBefore, notAfter time.Time, maxPathLen int) *x509.Certificate {
	return &x509.Certificate{
		Subject: pkix.Name{
			Organization:       []string{labOrg},
			OrganizationalUnit: []string{ou},
			CommonName:         cn,
		},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            maxPathLen,
		MaxPathLenZero:        maxPathLen == 0,
	}
}

// intermediateTemplate follows the usual public-CA profile: path length 0,
// server/client EKUs and anyPolicy, so that EV leaves also pass RFC 5280
// policy validation when a scanner asks for it.
func intermediateTemplate(cn string, notBefore, notAfter time.Time) *x509.Certificate {
	t := caTemplate(cn, "domain-scan lab issuing", notBefore, notAfter, 0)
	t.KeyUsage |= x509.KeyUsageDigitalSignature
	t.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	t.Policies = []x509.OID{oidAnyPolicy}
	t.PolicyIdentifiers = []asn1.ObjectIdentifier{{2, 5, 29, 32, 0}}
	return t
}

// newAuthority signs tmpl with parent (self-signed when parent is nil).
func newAuthority(tmpl *x509.Certificate, parent *authority, key crypto.Signer, alg x509.SignatureAlgorithm) (*authority, error) {
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial
	tmpl.SignatureAlgorithm = alg
	parentCert, parentKey := tmpl, key
	if parent != nil {
		parentCert, parentKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, key.Public(), parentKey)
	if err != nil {
		return nil, fmt.Errorf("pki: creating %q: %w", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &authority{cert: cert, key: key}, nil
}

// randomSerial returns a positive random serial of at most 128 bits.
func randomSerial() (*big.Int, error) {
	b := make([]byte, 16)
	for {
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		if n := new(big.Int).SetBytes(b); n.Sign() > 0 {
			return n, nil
		}
	}
}

// RootPEM returns the trusted lab root in PEM, as a scanner's --ca_file.
func (ca *CA) RootPEM() []byte { return bytes.Clone(ca.rootPEM) }

// RootPool returns a new pool holding only the trusted lab root; it is a
// copy so a caller adding to it cannot widen the lab's trust for others.
func (ca *CA) RootPool() *x509.CertPool { return ca.pool.Clone() }

// Root returns the trusted lab root certificate.
func (ca *CA) Root() *x509.Certificate { return ca.root.cert }

// Intermediate returns the normal lab intermediate, the one a client would
// need to fetch to repair a LeafOnly chain.
func (ca *CA) Intermediate() *x509.Certificate { return ca.intermediate.cert }

// UntrustedRoot returns the root that is deliberately absent from RootPool.
func (ca *CA) UntrustedRoot() *x509.Certificate { return ca.untrusted.cert }

// WriteRootPEM writes RootPEM to path with mode 0644, via a temporary file
// and rename so concurrent readers never see a partial file.
func (ca *CA) WriteRootPEM(path string) error {
	return atomicfile.WriteBytes(path, ca.rootPEM, 0o644)
}

func (ca *CA) leafKey(kind KeyKind) (crypto.Signer, []byte, error) {
	if kind < 0 || kind >= numKeyKinds {
		return nil, nil, fmt.Errorf("pki: unknown key kind %d", int(kind))
	}
	p := &ca.leafKeys[kind]
	p.once.Do(func() {
		switch kind {
		case RSA2048:
			p.key, p.err = rsa.GenerateKey(rand.Reader, 2048)
		case RSA1024:
			p.key, p.err = rsa.GenerateKey(rand.Reader, 1024)
		case ECDSAP256:
			p.key, p.err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		case ECDSAP384:
			p.key, p.err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		}
		if p.err == nil {
			p.ski, p.err = subjectKeyID(p.key.Public())
		}
	})
	return p.key, p.ski, p.err
}

// subjectKeyID is RFC 5280 method 1 (SHA-1 of the subjectPublicKey bits),
// the same as Go computes for CA certificates. Go does not add one to
// leaves, but real leaves nearly always carry it.
func subjectKeyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil, err
	}
	h := sha1.Sum(spki.PublicKey.Bytes)
	return h[:], nil
}

func (s *Spec) validate() error {
	switch {
	case len(s.DNSNames) == 0 && s.CommonName == "" && len(s.IPs) == 0:
		return errors.New("pki: spec needs DNSNames, CommonName or IPs")
	case s.Expired && s.NotYetValid:
		return errors.New("pki: Expired and NotYetValid are exclusive")
	case s.ExpiredIntermediate && s.SHA1Intermediate:
		return errors.New("pki: ExpiredIntermediate and SHA1Intermediate are exclusive")
	case (s.ExpiredIntermediate || s.SHA1Intermediate) && s.Issuer != ByIntermediate:
		return errors.New("pki: ExpiredIntermediate and SHA1Intermediate need Issuer ByIntermediate")
	case s.Issuer < ByIntermediate || s.Issuer > ByECDSAIntermediate:
		return fmt.Errorf("pki: unknown issuer %d", int(s.Issuer))
	case s.Chain < WithIntermediate || s.Chain > WithRoot:
		return fmt.Errorf("pki: unknown chain %d", int(s.Chain))
	case s.Lifetime < 0:
		return errors.New("pki: negative Lifetime")
	}
	return nil
}

// Issue creates a leaf per spec. The result's Certificate holds the served
// chain (leaf first, DER), PrivateKey the pooled leaf key and Leaf the parsed
// leaf, so it can go straight into a tls.Config.
func (ca *CA) Issue(spec Spec) (tls.Certificate, error) {
	if err := spec.validate(); err != nil {
		return tls.Certificate{}, err
	}
	key, ski, err := ca.leafKey(spec.Key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("pki: leaf key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return tls.Certificate{}, err
	}

	now := time.Now().Truncate(time.Second)
	lifetime := spec.Lifetime
	if lifetime == 0 {
		lifetime = defaultLifetime
	}
	notBefore, notAfter := now.Add(-time.Hour), now.Add(-time.Hour+lifetime)
	switch {
	case spec.Expired:
		notBefore, notAfter = now.Add(-2*year), now.Add(-day)
	case spec.NotYetValid:
		notBefore, notAfter = now.Add(day), now.Add(year)
	}

	cn := spec.CommonName
	if cn == "" {
		if len(spec.DNSNames) > 0 {
			cn = spec.DNSNames[0]
		} else {
			cn = spec.IPs[0].String()
		}
	}
	keyUsage := x509.KeyUsageDigitalSignature
	if _, ok := key.(*rsa.PrivateKey); ok {
		keyUsage |= x509.KeyUsageKeyEncipherment // RSA key exchange in TLS 1.0-1.2
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{labOrg}, CommonName: cn},
		DNSNames:              spec.DNSNames,
		IPAddresses:           spec.IPs,
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              keyUsage,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		SubjectKeyId:          ski,
	}
	if spec.Issuer == SelfSigned {
		// CA:TRUE like `openssl req -x509`; without it x509's
		// CheckSignatureFrom(itself) refuses, and that is how scanners
		// recognise a self-signed certificate.
		tmpl.IsCA = true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	}
	if spec.EV {
		tmpl.Policies = []x509.OID{OIDEV, OIDLabPolicy}
		// Only consulted under GODEBUG x509usepolicies=0; the lab OID's
		// 128-bit arc does not fit asn1.ObjectIdentifier.
		tmpl.PolicyIdentifiers = []asn1.ObjectIdentifier{asn1EV}
	}

	// served lists the CA certificates sent after the leaf, nearest first.
	var signer *authority
	var served []*authority
	switch spec.Issuer {
	case ByIntermediate, ByECDSAIntermediate:
		signer = ca.intermediate
		switch {
		case spec.Issuer == ByECDSAIntermediate:
			signer, err = ca.ecdsaInt.get()
		case spec.ExpiredIntermediate:
			signer, err = ca.expiredInt.get()
		case spec.SHA1Intermediate:
			signer, err = ca.sha1Int.get()
		}
		if err != nil {
			return tls.Certificate{}, err
		}
		switch spec.Chain {
		case WithIntermediate:
			served = []*authority{signer}
		case WithRoot:
			served = []*authority{signer, ca.root}
		}
	case ByRoot, ByUntrustedRoot:
		signer = ca.root
		if spec.Issuer == ByUntrustedRoot {
			signer = ca.untrusted
		}
		if spec.Chain == WithRoot {
			served = []*authority{signer}
		}
	case SelfSigned:
		// Nothing else to serve whatever Chain says.
	}

	parentCert, parentKey := tmpl, key
	if signer != nil {
		parentCert, parentKey = signer.cert, signer.key
	}
	if spec.SHA1 {
		if _, ok := parentKey.Public().(*ecdsa.PublicKey); ok {
			tmpl.SignatureAlgorithm = x509.ECDSAWithSHA1
		} else {
			tmpl.SignatureAlgorithm = x509.SHA1WithRSA
		}
	}

	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, key.Public(), parentKey)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("pki: issuing %q: %w", cn, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	chain := make([][]byte, 0, 1+len(served))
	chain = append(chain, der)
	for _, a := range served {
		chain = append(chain, a.cert.Raw)
	}
	return tls.Certificate{Certificate: chain, PrivateKey: key, Leaf: leaf}, nil
}
