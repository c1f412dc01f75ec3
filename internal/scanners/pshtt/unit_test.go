package pshtt

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/url"
	"testing"
	"time"
)

func TestHostOf(t *testing.T) {
	tests := map[string]string{
		"https://Other.TEST/x":        "other.test",
		"https://d.test/%zz":          "d.test",
		"http://user:pw@d.test:8080/": "d.test",
		"https://[::1]:443/":          "::1",
		"https://d.test?q=1":          "d.test",
		"/relative":                   "",
	}
	for in, want := range tests {
		if got := hostOf(in); got != want {
			t.Errorf("hostOf(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestURLJoin(t *testing.T) {
	tests := []struct{ base, loc, want string }{
		{"http://d.test", "/x", "http://d.test/x"},
		{"https://d.test", "//www.d.test/", "https://www.d.test/"},
		{"http://d.test", "next", "http://d.test/next"},
		{"http://d.test", "/%zz", "http://d.test/%zz"},
	}
	for _, tt := range tests {
		if got := urljoin(tt.base, tt.loc); got != tt.want {
			t.Errorf("urljoin(%q, %q) = %q, want %q", tt.base, tt.loc, got, tt.want)
		}
	}
}

func TestRequestsURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://Www.Other.GOV": "https://www.other.gov/",
		"https://d.test/a?b=1":  "https://d.test/a?b=1",
	} {
		u, _ := url.Parse(in)
		if got := requestsURL(u); got != want {
			t.Errorf("requestsURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// A self-signed certificate without the CA flag (as `openssl req -x509
// -addext basicConstraints=CA:FALSE` or keytool make) is still
// self-signed for OpenSSL, and so here.
func TestSelfSignedWithoutCAFlag(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, tc := range []struct {
		name string
		tmpl x509.Certificate
		want bool
	}{
		{"no basic constraints, no key usage", x509.Certificate{}, true},
		{"CA:FALSE", x509.Certificate{BasicConstraintsValid: true}, true},
		{"key usage without certSign", x509.Certificate{KeyUsage: x509.KeyUsageDigitalSignature}, false},
	} {
		tmpl := tc.tmpl
		tmpl.SerialNumber = big.NewInt(7)
		tmpl.Subject = pkix.Name{CommonName: "self.test"}
		tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
		der, err := x509.CreateCertificate(rand.Reader, &tmpl, &tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := x509.ParseCertificate(der)
		if got := selfSigned(c); got != tc.want {
			t.Errorf("%s: selfSigned = %v, want %v", tc.name, got, tc.want)
		}
		if tc.want {
			f := classify([]*x509.Certificate{c}, x509.NewCertPool(), time.Now())
			if !f.selfSigned || !f.badChain {
				t.Errorf("%s: classify = %+v, want self-signed and bad chain", tc.name, f)
			}
		}
	}
}
