package sslyze

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestEVDataTablesWellFormed(t *testing.T) {
	wantNames := []string{"Mozilla", "Google", "Microsoft", "Apple"}
	wantCounts := []int{40, 43, 65, 44}
	if len(evBrowsers) != len(wantNames) {
		t.Fatalf("evBrowsers has %d entries, want %d", len(evBrowsers), len(wantNames))
	}
	for i, b := range evBrowsers {
		if b.Name != wantNames[i] {
			t.Errorf("evBrowsers[%d].Name = %q, want %q", i, b.Name, wantNames[i])
		}
		if len(b.OIDs) != wantCounts[i] {
			t.Errorf("%s: %d OIDs, want %d", b.Name, len(b.OIDs), wantCounts[i])
		}
		seen := map[string]bool{}
		for _, oid := range b.OIDs {
			if seen[oid] {
				t.Errorf("%s: duplicate OID %q", b.Name, oid)
			}
			seen[oid] = true
			arcs := strings.Split(oid, ".")
			if len(arcs) < 2 {
				t.Errorf("%s: OID %q has fewer than two arcs", b.Name, oid)
				continue
			}
			parsed := make(asn1.ObjectIdentifier, 0, len(arcs))
			for _, a := range arcs {
				n, err := strconv.Atoi(a)
				if err != nil || n < 0 || strconv.Itoa(n) != a {
					t.Errorf("%s: OID %q has bad arc %q", b.Name, oid, a)
					break
				}
				parsed = append(parsed, n)
			}
			if parsed.String() != oid {
				t.Errorf("%s: OID %q does not round-trip (%q)", b.Name, oid, parsed.String())
			}
			if _, err := x509.ParseOID(oid); err != nil {
				t.Errorf("%s: x509.ParseOID(%q): %v", b.Name, oid, err)
			}
		}
	}
}

func TestEVTrustKnownOIDs(t *testing.T) {
	all := []string{"Mozilla", "Google", "Microsoft", "Apple"}
	cases := []struct {
		name         string
		in           []string
		wantOIDs     []string
		wantBrowsers []string
	}{
		{
			name:         "DigiCert EV",
			in:           []string{"2.16.840.1.114412.2.1"},
			wantOIDs:     []string{"2.16.840.1.114412.2.1"},
			wantBrowsers: all,
		},
		{
			name:         "Entrust EV",
			in:           []string{"2.16.840.1.114028.10.1.2"},
			wantOIDs:     []string{"2.16.840.1.114028.10.1.2"},
			wantBrowsers: all,
		},
		{
			name:         "not in Mozilla list",
			in:           []string{"2.16.756.1.83.21.0"},
			wantOIDs:     []string{"2.16.756.1.83.21.0"},
			wantBrowsers: []string{"Google", "Microsoft", "Apple"},
		},
		{
			// Browsers are appended per OID in order of first appearance,
			// so an Apple-only OID first puts Apple ahead of the others.
			name:         "Apple-only OID first, then DigiCert EV",
			in:           []string{"2.16.840.1.114412.1.3.0.2", "2.16.840.1.114412.2.1"},
			wantOIDs:     []string{"2.16.840.1.114412.1.3.0.2", "2.16.840.1.114412.2.1"},
			wantBrowsers: []string{"Apple", "Mozilla", "Google", "Microsoft"},
		},
		{
			name:         "Mozilla+Microsoft OID then Google+Microsoft+Apple OID",
			in:           []string{"1.2.156.112559.1.1.6.1", "2.16.756.1.83.21.0"},
			wantOIDs:     []string{"1.2.156.112559.1.1.6.1", "2.16.756.1.83.21.0"},
			wantBrowsers: []string{"Mozilla", "Microsoft", "Google", "Apple"},
		},
		{
			name:         "duplicates and non-EV OIDs are skipped",
			in:           []string{"2.23.140.1.1", "2.16.840.1.114412.2.1", "2.16.840.1.114412.2.1", "1.2.3.4"},
			wantOIDs:     []string{"2.16.840.1.114412.2.1"},
			wantBrowsers: all,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			oids, browsers := EVTrust(tc.in)
			if !slices.Equal(oids, tc.wantOIDs) {
				t.Errorf("oids = %q, want %q", oids, tc.wantOIDs)
			}
			if !slices.Equal(browsers, tc.wantBrowsers) {
				t.Errorf("browsers = %q, want %q", browsers, tc.wantBrowsers)
			}
		})
	}
}

func TestEVTrustUnknownOID(t *testing.T) {
	for _, in := range [][]string{nil, {}, {"1.2.3.4"}, {"2.23.140.1.1"}, {"2.23.140.1.2.2", "1.3.6.1.4.1.99999.1"}} {
		oids, browsers := EVTrust(in)
		if len(oids) != 0 || len(browsers) != 0 {
			t.Errorf("EVTrust(%q) = %q, %q; want nothing", in, oids, browsers)
		}
	}
}

func TestSymantecTablesWellFormed(t *testing.T) {
	hexRE := regexp.MustCompile(`^[0-9a-f]{64}$`)
	if len(symantecBlacklist) != 58 {
		t.Errorf("symantecBlacklist has %d hashes, want 58", len(symantecBlacklist))
	}
	if len(symantecWhitelist) != 11 {
		t.Errorf("symantecWhitelist has %d hashes, want 11", len(symantecWhitelist))
	}
	for name, m := range map[string]map[string]bool{"blacklist": symantecBlacklist, "whitelist": symantecWhitelist} {
		for h, v := range m {
			if !v {
				t.Errorf("%s: %s maps to false", name, h)
			}
			if !hexRE.MatchString(h) {
				t.Errorf("%s: %q is not 64 lowercase hex characters", name, h)
			}
		}
	}
	for h := range symantecBlacklist {
		if symantecWhitelist[h] {
			t.Errorf("%s is in both tables", h)
		}
	}
}

func TestSymantecDecision(t *testing.T) {
	var black, white string
	for h := range symantecBlacklist {
		black = h
		break
	}
	for h := range symantecWhitelist {
		white = h
		break
	}
	other := strings.Repeat("0", 64)
	cases := []struct {
		name   string
		hashes []string
		want   bool
	}{
		{"empty", nil, false},
		{"unrelated", []string{other, other}, false},
		{"blacklisted anchor", []string{other, other, black}, true},
		{"blacklisted leaf", []string{black, other}, true},
		{"blacklisted and whitelisted", []string{other, white, black}, false},
		{"whitelisted only", []string{other, white}, false},
		// The real kSymantecRoots entry for VeriSign Class 3 G5 and the
		// kSymantecExceptions entry for DigiCert Global Root G2.
		{"VeriSign G5", []string{other, "25b41b506e4930952823a6eb9f1d31def645ea38a5c6c6a96d71957e384df058"}, true},
		{"VeriSign G5 + DigiCert G2", []string{other, "8bb593a93be1d0e8a822bb887c547890c3e706aad2dab76254f97fb36b82fc26", "25b41b506e4930952823a6eb9f1d31def645ea38a5c6c6a96d71957e384df058"}, false},
		{"upper-case hex does not match", []string{strings.ToUpper(black)}, false},
	}
	for _, tc := range cases {
		if got := symantecDecision(tc.hashes); got != tc.want {
			t.Errorf("%s: symantecDecision = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestIsSymantecChainRealRoots uses two public root certificates (as shipped
// in sslyze 2.1.4's bundled trust stores) to check that spkiHash produces the
// same fingerprints as the tables, and IsSymantecChain end to end.
func TestIsSymantecChainRealRoots(t *testing.T) {
	const verisignG5PEM = `-----BEGIN CERTIFICATE-----
MIIE0zCCA7ugAwIBAgIQGNrRniZ96LtKIVjNzGs7SjANBgkqhkiG9w0BAQUFADCB
yjELMAkGA1UEBhMCVVMxFzAVBgNVBAoTDlZlcmlTaWduLCBJbmMuMR8wHQYDVQQL
ExZWZXJpU2lnbiBUcnVzdCBOZXR3b3JrMTowOAYDVQQLEzEoYykgMjAwNiBWZXJp
U2lnbiwgSW5jLiAtIEZvciBhdXRob3JpemVkIHVzZSBvbmx5MUUwQwYDVQQDEzxW
ZXJpU2lnbiBDbGFzcyAzIFB1YmxpYyBQcmltYXJ5IENlcnRpZmljYXRpb24gQXV0
aG9yaXR5IC0gRzUwHhcNMDYxMTA4MDAwMDAwWhcNMzYwNzE2MjM1OTU5WjCByjEL
MAkGA1UEBhMCVVMxFzAVBgNVBAoTDlZlcmlTaWduLCBJbmMuMR8wHQYDVQQLExZW
ZXJpU2lnbiBUcnVzdCBOZXR3b3JrMTowOAYDVQQLEzEoYykgMjAwNiBWZXJpU2ln
biwgSW5jLiAtIEZvciBhdXRob3JpemVkIHVzZSBvbmx5MUUwQwYDVQQDEzxWZXJp
U2lnbiBDbGFzcyAzIFB1YmxpYyBQcmltYXJ5IENlcnRpZmljYXRpb24gQXV0aG9y
aXR5IC0gRzUwggEiMA0GCSqGSIb3DQEBAQUAA4IBDwAwggEKAoIBAQCvJAgIKXo1
nmAMqudLO07cfLw8RRy7K+D+KQL5VwijZIUVJ/XxrcgxiV0i6CqqpkKzj/i5Vbex
t0uz/o9+B1fs70PbZmIVYc9gDaTY3vjgw2IIPVQT60nKWVSFJuUrjxuf6/WhkcIz
SdhDY2pSS9KP6HBRTdGJaXvHcPaz3BJ023tdS1bTlr8Vd6Gw9KIl8q8ckmcY5fQG
BO+QueQA5N06tRn/Arr0PO7gi+s3i+z016zy9vA9r911kTMZHRxAy3QkGSGT2RT+
rCpSx4/VBEnkjWNHiDxpg8v+R70rfk/Fla4OndTRQ8Bnc+MUCH7lP59zuDMKz10/
NIeWiu5T6CUVAgMBAAGjgbIwga8wDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8E
BAMCAQYwbQYIKwYBBQUHAQwEYTBfoV2gWzBZMFcwVRYJaW1hZ2UvZ2lmMCEwHzAH
BgUrDgMCGgQUj+XTGoasjY5rw8+AatRIGCx7GS4wJRYjaHR0cDovL2xvZ28udmVy
aXNpZ24uY29tL3ZzbG9nby5naWYwHQYDVR0OBBYEFH/TZafC3ey78DAJ80M5+gKv
MzEzMA0GCSqGSIb3DQEBBQUAA4IBAQCTJEowX2LP2BqYLz3q3JktvXf2pXkiOOzE
p6B4Eq1iDkVwZMXnl2YtmAl+X6/WzChl8gGqCBpH3vn5fJJaCGkgDdk+bW48DW7Y
5gaRQBi5+MHt39tBquCWIMnNZBU4gcmU7qKEKQsTb47bDN0lAtukixlE0kF6BWlK
WE9gyn6CagsCqiUXObXbf+eEZSqVir2G3l6BFoMtEMze/aiCKm0oHw0LxOXnGiYZ
4fQRbxC1lfznQgUy286dUV4otp6F01vvpX1FQHKOtw5rDgb7MzVIcbidJ4vEZV8N
hnacRHr2lVz2XTIIM6RUthg/aFzyQkqFOFSDX9HoLPKsEdao7WNq
-----END CERTIFICATE-----
`
	const digicertG2PEM = `-----BEGIN CERTIFICATE-----
MIIDjjCCAnagAwIBAgIQAzrx5qcRqaC7KGSxHQn65TANBgkqhkiG9w0BAQsFADBh
MQswCQYDVQQGEwJVUzEVMBMGA1UEChMMRGlnaUNlcnQgSW5jMRkwFwYDVQQLExB3
d3cuZGlnaWNlcnQuY29tMSAwHgYDVQQDExdEaWdpQ2VydCBHbG9iYWwgUm9vdCBH
MjAeFw0xMzA4MDExMjAwMDBaFw0zODAxMTUxMjAwMDBaMGExCzAJBgNVBAYTAlVT
MRUwEwYDVQQKEwxEaWdpQ2VydCBJbmMxGTAXBgNVBAsTEHd3dy5kaWdpY2VydC5j
b20xIDAeBgNVBAMTF0RpZ2lDZXJ0IEdsb2JhbCBSb290IEcyMIIBIjANBgkqhkiG
9w0BAQEFAAOCAQ8AMIIBCgKCAQEAuzfNNNx7a8myaJCtSnX/RrohCgiN9RlUyfuI
2/Ou8jqJkTx65qsGGmvPrC3oXgkkRLpimn7Wo6h+4FR1IAWsULecYxpsMNzaHxmx
1x7e/dfgy5SDN67sH0NO3Xss0r0upS/kqbitOtSZpLYl6ZtrAGCSYP9PIUkY92eQ
q2EGnI/yuum06ZIya7XzV+hdG82MHauVBJVJ8zUtluNJbd134/tJS7SsVQepj5Wz
tCO7TG1F8PapspUwtP1MVYwnSlcUfIKdzXOS0xZKBgyMUNGPHgm+F6HmIcr9g+UQ
vIOlCsRnKPZzFBQ9RnbDhxSJITRNrw9FDKZJobq7nMWxM4MphQIDAQABo0IwQDAP
BgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB/wQEAwIBhjAdBgNVHQ4EFgQUTiJUIBiV
5uNu5g/6+rkS7QYXjzkwDQYJKoZIhvcNAQELBQADggEBAGBnKJRvDkhj6zHd6mcY
1Yl9PMWLSn/pvtsrF9+wX3N3KjITOYFnQoQj8kVnNeyIv/iPsGEMNKSuIEyExtv4
NeF22d+mQrvHRAiGfzZ0JFrabA0UWTW98kndth/Jsw1HKj2ZL7tcu7XUIOGZX1NG
Fdtom/DzMNU+MeKNhJ7jitralj41E6Vf8PlwUHBHQRFXGU7Aj64GxJUTFy8bJZ91
8rGOmaFvE7FBcf6IKshPECBV1/MUReXgRPTqh5Uykw7+U0b6LJ3/iyK5S9kJRaTe
pLiaWN0bfVKfjllDiIGknibVb63dDcY3fe0Dkhvld1927jyNxF1WW6LZZm6zNTfl
MrY=
-----END CERTIFICATE-----
`
	parse := func(s string) *x509.Certificate {
		t.Helper()
		block, _ := pem.Decode([]byte(s))
		if block == nil {
			t.Fatal("no PEM block")
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	verisign := parse(verisignG5PEM)
	digicert := parse(digicertG2PEM)

	if got, want := spkiHash(verisign), "25b41b506e4930952823a6eb9f1d31def645ea38a5c6c6a96d71957e384df058"; got != want {
		t.Errorf("spkiHash(VeriSign G5) = %s, want %s", got, want)
	}
	if !symantecBlacklist[spkiHash(verisign)] {
		t.Error("VeriSign G5 SPKI hash not blacklisted")
	}
	if got, want := spkiHash(digicert), "8bb593a93be1d0e8a822bb887c547890c3e706aad2dab76254f97fb36b82fc26"; got != want {
		t.Errorf("spkiHash(DigiCert G2) = %s, want %s", got, want)
	}
	if !symantecWhitelist[spkiHash(digicert)] {
		t.Error("DigiCert G2 SPKI hash not whitelisted")
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "leaf.example"},
		NotBefore:    time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := spkiHash(leaf), spkiHash(&x509.Certificate{RawSubjectPublicKeyInfo: leaf.RawSubjectPublicKeyInfo}); got != want {
		t.Errorf("spkiHash re-encoding differs from raw SPKI: %s vs %s", got, want)
	}

	cases := []struct {
		name  string
		chain []*x509.Certificate
		want  bool
	}{
		{"empty", nil, false},
		{"leaf only", []*x509.Certificate{leaf}, false},
		{"leaf + VeriSign G5", []*x509.Certificate{leaf, verisign}, true},
		{"VeriSign G5 anywhere", []*x509.Certificate{verisign, leaf}, true},
		{"leaf + DigiCert G2", []*x509.Certificate{leaf, digicert}, false},
		{"leaf + DigiCert G2 + VeriSign G5", []*x509.Certificate{leaf, digicert, verisign}, false},
	}
	for _, tc := range cases {
		if got := IsSymantecChain(tc.chain); got != tc.want {
			t.Errorf("%s: IsSymantecChain = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestSymantecDistrustDateBoundary(t *testing.T) {
	cutoff := time.Date(2016, time.June, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		notBefore time.Time
		want      string
	}{
		{cutoff.Add(-time.Second), "MARCH_2018"},
		{time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC), "MARCH_2018"},
		{cutoff, "SEPTEMBER_2018"},
		{cutoff.Add(time.Second), "SEPTEMBER_2018"},
		{time.Date(2017, 12, 1, 0, 0, 0, 0, time.UTC), "SEPTEMBER_2018"},
		// The cutoff is midnight UTC regardless of the time zone the
		// NotBefore value happens to carry.
		{cutoff.In(time.FixedZone("UTC-5", -5*3600)), "SEPTEMBER_2018"},
		{cutoff.Add(-time.Second).In(time.FixedZone("UTC+9", 9*3600)), "MARCH_2018"},
	}
	for _, tc := range cases {
		if got := SymantecDistrustDate(&x509.Certificate{NotBefore: tc.notBefore}); got != tc.want {
			t.Errorf("NotBefore %v: got %q, want %q", tc.notBefore, got, tc.want)
		}
	}
	if got := SymantecDistrustDate(nil); got != "" {
		t.Errorf("nil leaf: got %q, want empty", got)
	}
}
