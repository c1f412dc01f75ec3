package tlsprobe

import (
	"crypto/tls"
	"strings"
	"testing"

	"github.com/domainscan/domain-scan/internal/lab/legacytls"
)

func TestVersionString(t *testing.T) {
	want := []string{"SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"}
	for i, v := range Versions {
		if v.String() != want[i] {
			t.Errorf("%#04x: got %q, want %q", uint16(v), v.String(), want[i])
		}
	}
	if got := Version(0x7f1c).String(); got != "Version(0x7f1c)" {
		t.Errorf("unknown version: %q", got)
	}
}

func TestCandidatesShape(t *testing.T) {
	counts := map[Version]int{}
	for _, v := range Versions {
		seen := map[uint32]bool{}
		for _, s := range Candidates(v) {
			counts[v]++
			if seen[s.ID] {
				t.Errorf("%v: duplicate suite %#x", v, s.ID)
			}
			seen[s.ID] = true
			if s.IANA == "" || s.OpenSSL == "" {
				t.Errorf("%v %#x: missing name %+v", v, s.ID, s)
			}
			iana := s.IANA
			tls12Only := strings.HasSuffix(iana, "_SHA256") || strings.HasSuffix(iana, "_SHA384") ||
				strings.Contains(iana, "_GCM_") || strings.Contains(iana, "_CCM") || strings.Contains(iana, "CHACHA20")
			switch v {
			case SSL20:
				if s.ID>>16 == 0 || !strings.HasPrefix(iana, "SSL_CK_") {
					t.Errorf("SSLv2 kind %#x %s", s.ID, iana)
				}
			case TLS13:
				if s.ID>>8 != 0x13 || s.OpenSSL != s.IANA || !s.ForwardSecret {
					t.Errorf("TLS 1.3 suite %+v", s)
				}
			default:
				if s.ID > 0xffff || s.ID>>8 == 0x13 || s.ID == 0x00ff || s.ID == 0x5600 {
					t.Errorf("%v: suite %#x does not belong", v, s.ID)
				}
				if tls12Only && v != TLS12 {
					t.Errorf("%v: TLS 1.2-only suite %s offered", v, iana)
				}
				for _, bad := range []string{"PSK", "SRP", "KRB5", "GOST"} {
					if strings.Contains(iana, bad) {
						t.Errorf("%v: %s excluded by the brief", v, iana)
					}
				}
			}
			if s.Export != strings.Contains(iana, "EXPORT") {
				t.Errorf("%s: Export=%v", iana, s.Export)
			}
			if s.Anonymous != strings.Contains(iana, "_anon_") {
				t.Errorf("%s: Anonymous=%v", iana, s.Anonymous)
			}
			if got, ok := Lookup(v, s.ID); !ok || got != s {
				t.Errorf("Lookup(%v, %#x) = %+v, %v", v, s.ID, got, ok)
			}
		}
	}
	t.Logf("candidates per version: %v", counts)
	if counts[TLS13] != 5 || counts[SSL20] != 7 || counts[SSL30] != counts[TLS11] || counts[TLS12] <= counts[TLS10] {
		t.Errorf("counts %v", counts)
	}
	if _, ok := Lookup(TLS10, 0xc02f); ok {
		t.Error("a GCM suite was found for TLS 1.0")
	}
	c := Candidates(TLS12)
	c[0].IANA = "changed"
	if Candidates(TLS12)[0].IANA == "changed" {
		t.Error("Candidates shares its slice")
	}
}

// TestSuiteNamesGo checks the IANA names against Go's own table.
func TestSuiteNamesGo(t *testing.T) {
	all := append(tls.CipherSuites(), tls.InsecureCipherSuites()...)
	if len(all) < 20 {
		t.Fatalf("only %d Go suites", len(all))
	}
	for _, cs := range all {
		v := TLS12
		if cs.ID>>8 == 0x13 {
			v = TLS13
		}
		s, ok := Lookup(v, uint32(cs.ID))
		if !ok {
			t.Errorf("%s (%#04x) missing", cs.Name, cs.ID)
			continue
		}
		if s.IANA != tls.CipherSuiteName(cs.ID) {
			t.Errorf("%#04x: IANA %q, Go %q", cs.ID, s.IANA, tls.CipherSuiteName(cs.ID))
		}
	}
}

// TestSuiteNamesLab checks consistency with the lab responder's names.
func TestSuiteNamesLab(t *testing.T) {
	for name, id := range legacytls.Suites {
		if id == 0x00ff || id == 0x5600 {
			continue
		}
		v := TLS12
		if id>>8 == 0x13 {
			v = TLS13
		}
		s, ok := Lookup(v, uint32(id))
		if !ok || s.IANA != name {
			t.Errorf("lab %s (%#04x): got %+v, %v", name, id, s, ok)
		}
	}
	for name, kind := range legacytls.SSLv2Kinds {
		s, ok := Lookup(SSL20, kind)
		if !ok || s.IANA != name {
			t.Errorf("lab %s (%#06x): got %+v, %v", name, kind, s, ok)
		}
	}
}

func TestSuiteDetails(t *testing.T) {
	tests := []struct {
		v       Version
		id      uint32
		openssl string
		bits    int
		fs      bool
	}{
		{TLS12, 0x000A, "DES-CBC3-SHA", 112, false},
		{TLS10, 0x0033, "DHE-RSA-AES128-SHA", 128, true},
		{TLS10, 0x0003, "EXP-RC4-MD5", 40, false},
		{TLS12, 0xCCA8, "ECDHE-RSA-CHACHA20-POLY1305", 256, true},
		{TLS10, 0x0002, "NULL-SHA", 0, false},
		{TLS12, 0xC02F, "ECDHE-RSA-AES128-GCM-SHA256", 128, true},
		{TLS12, 0x0016, "EDH-RSA-DES-CBC3-SHA", 112, true},
		{TLS10, 0x0014, "EXP-EDH-RSA-DES-CBC-SHA", 40, true},
		{TLS10, 0x0004, "RC4-MD5", 128, false},
		{TLS10, 0x0009, "DES-CBC-SHA", 56, false},
		{TLS10, 0x0062, "EXP1024-DES-CBC-SHA", 56, false},
		{TLS10, 0x0018, "ADH-RC4-MD5", 128, true},
		{TLS10, 0xC016, "AECDH-RC4-SHA", 128, true},
		{TLS10, 0x0096, "SEED-SHA", 128, false},
		{TLS12, 0xC0A0, "AES128-CCM8", 128, false},
		{TLS12, 0xC051, "ARIA256-GCM-SHA384", 256, false},
		// Never implemented by OpenSSL: goes by its IANA name.
		{TLS12, 0xC07A, "TLS_RSA_WITH_CAMELLIA_128_GCM_SHA256", 128, false},
		{TLS13, 0x1305, "TLS_AES_128_CCM_8_SHA256", 128, true},
		{SSL20, 0x0700C0, "DES-CBC3-MD5", 112, false},
		{SSL20, 0x020080, "EXP-RC4-MD5", 40, false},
	}
	for _, tt := range tests {
		s, ok := Lookup(tt.v, tt.id)
		if !ok || s.OpenSSL != tt.openssl || s.KeyBits != tt.bits || s.ForwardSecret != tt.fs {
			t.Errorf("Lookup(%v, %#x) = %+v, %v; want %s %d bits fs=%v", tt.v, tt.id, s, ok, tt.openssl, tt.bits, tt.fs)
		}
	}
}
