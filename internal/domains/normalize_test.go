package domains

import (
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	label63 := strings.Repeat("a", 63)
	label64 := strings.Repeat("a", 64)
	// 4 labels of 62 plus separators = 251; "x." prefix makes 253, "xy." 254.
	name251 := strings.Join([]string{strings.Repeat("b", 62), strings.Repeat("c", 62), strings.Repeat("d", 62), strings.Repeat("e", 62)}, ".")
	tests := []struct {
		in, want, err string
	}{
		{in: "nasa.gov", want: "nasa.gov"},
		{in: "  nasa.gov\t", want: "nasa.gov"},
		{in: "NASA.Gov", want: "nasa.gov"},
		{in: "nasa.gov.", want: "nasa.gov"},
		{in: " WWW.NASA.GOV. ", want: "www.nasa.gov"},
		{in: "nasa.gov..", err: "empty label"},
		{in: "gov", want: "gov"},
		{in: "_dmarc.nasa.gov", want: "_dmarc.nasa.gov"},
		{in: "a-b.c_d.gov", want: "a-b.c_d.gov"},
		{in: "18f.gov", want: "18f.gov"},
		{in: "bücher.de", want: "xn--bcher-kva.de"},
		{in: "BÜCHER.de", want: "xn--bcher-kva.de"},
		{in: "xn--bcher-kva.de", want: "xn--bcher-kva.de"},
		{in: "XN--BCHER-KVA.DE", want: "xn--bcher-kva.de"},
		{in: "bücher。de", want: "xn--bcher-kva.de"}, // ideographic full stop
		{in: "xn--ab-.de", err: "not a valid international name"},
		{in: "b\u00a0ü.de", err: "not a valid international name"},
		{in: "\xff.gov", err: "invalid UTF-8"},
		{in: label63 + ".gov", want: label63 + ".gov"},
		{in: label64 + ".gov", err: `label "aaaaaaaaaaaaaaaa…" longer than 63 characters`},
		{in: "x." + name251, want: "x." + name251},
		{in: "xy." + name251, err: "name longer than 253 characters"},
		{in: "xy." + name251 + ".", err: "name longer than 253 characters"},
		{in: "", err: "empty name"},
		{in: "   ", err: "empty name"},
		{in: ".", err: "empty name"},
		{in: "a..b", err: "empty label"},
		{in: ".nasa.gov", err: "empty label"},
		{in: "-a.gov", err: `label "-a" starts or ends with '-'`},
		{in: "a-.gov", err: `label "a-" starts or ends with '-'`},
		{in: "http://x.gov", err: "bad character ':' (a URL? give the host name only)"},
		{in: "x.gov/", err: "bad character '/' (a URL? give the host name only)"},
		{in: "x.gov:443", err: "bad character ':'"},
		{in: "*.x.gov", err: "bad character '*' (wildcards are not supported)"},
		{in: "a b.gov", err: "bad character ' ' (space inside the name)"},
		{in: "me@x.gov", err: "bad character '@'"},
		{in: "x,y.gov", err: "bad character ','"},
		{in: "x\x00.gov", err: `bad character '\x00'`},
	}
	for _, tc := range tests {
		got, err := Normalize(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Normalize(%q) = %q, %v; want error containing %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestBaseDomain(t *testing.T) {
	tests := []struct{ in, want string }{
		{"www.nasa.gov", "nasa.gov"},
		{"nasa.gov", "nasa.gov"},
		{"a.b.example.co.uk", "example.co.uk"},
		{"example.co.uk", "example.co.uk"},
		{"foo.blogspot.com", "foo.blogspot.com"},
		{"x.foo.blogspot.com", "foo.blogspot.com"},
		// fed.us is no longer on the PSL, so it is an ordinary eTLD+1 now;
		// dni.us still is a suffix.
		{"www.fed.us", "fed.us"},
		{"fed.us", "fed.us"},
		{"dni.us", "dni.us"},
		{"www.dni.us", "www.dni.us"},
		{"gov", "gov"},
		{"co.uk", "co.uk"},
		{"a.b.zz", "b.zz"}, // unknown TLD: PSL default "*" rule
		{"xn--bcher-kva.de", "xn--bcher-kva.de"},
		{"_dmarc.nasa.gov", "nasa.gov"},
	}
	for _, tc := range tests {
		if got := BaseDomain(tc.in); got != tc.want {
			t.Errorf("BaseDomain(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// Punycode is quadratic; huge Unicode labels must be refused quickly.
func TestNormalizeHugeIDN(t *testing.T) {
	var b strings.Builder
	for i := range 200_000 {
		b.WriteRune(rune(0x4e00 + i%20000))
	}
	for _, s := range []string{b.String() + ".de", "x." + b.String()[:3000]} {
		if _, err := Normalize(s); err == nil || !strings.Contains(err.Error(), "longer than") {
			t.Fatalf("got %v", err)
		}
	}
}
