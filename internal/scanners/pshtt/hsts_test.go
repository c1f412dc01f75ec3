package pshtt

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// hstsWant is the expected outcome; maxAge and the flags use nil for None.
type hstsWant struct {
	present bool
	maxAge  any // nil or int64
	sub     any // nil or true
	preload any // nil or true
	unknown bool
}

func hstsGot(h HSTS) hstsWant {
	w := hstsWant{present: h.Present, unknown: h.UnknownError}
	if h.MaxAge != nil {
		w.maxAge = *h.MaxAge
	}
	if h.AllSubdomains != nil {
		w.sub = *h.AllSubdomains
	}
	if h.Preload != nil {
		w.preload = *h.Preload
	}
	return w
}

func TestParseHSTS(t *testing.T) {
	const big = int64(math.MaxInt64)
	tests := []struct {
		name   string
		values []string
		want   hstsWant
	}{
		// The examples table of spec §1.5, row for row.
		{"full", []string{"max-age=31536000; includeSubDomains; preload"}, hstsWant{true, int64(31536000), true, true, false}},
		{"upper case", []string{"MAX-AGE=300"}, hstsWant{true, int64(300), nil, nil, false}},
		{"zero", []string{"max-age=0; includeSubDomains"}, hstsWant{false, int64(0), nil, nil, false}},
		{"max-age not first", []string{"includeSubDomains; max-age=31536000"}, hstsWant{true, nil, nil, nil, true}},
		{"double quoted", []string{`max-age="31536000"`}, hstsWant{true, nil, nil, nil, true}},
		{"single quoted", []string{"max-age='31536000'"}, hstsWant{true, int64(31536000), nil, nil, false}},
		{"spaces around =", []string{"max-age = 300"}, hstsWant{true, nil, nil, nil, true}},
		{"two headers", []string{"max-age=300", "max-age=600; includeSubDomains"}, hstsWant{true, int64(300), true, nil, false}},
		{"preload only", []string{"preload"}, hstsWant{false, nil, nil, nil, false}},
		{"negative", []string{"max-age=-1"}, hstsWant{false, int64(-1), nil, nil, false}},

		// Python int() forms.
		{"plus sign", []string{"max-age=+300"}, hstsWant{true, int64(300), nil, nil, false}},
		{"surrounding spaces", []string{"max-age= 300 "}, hstsWant{true, int64(300), nil, nil, false}},
		{"space before ;", []string{"max-age=300 ; preload"}, hstsWant{true, int64(300), nil, true, false}},
		{"tabs, NEL and NBSP", []string{"max-age=\t\x85300\xa0\v"}, hstsWant{true, int64(300), nil, nil, false}},
		{"0x1F is not int() space", []string{"max-age=300\x1f"}, hstsWant{true, nil, nil, nil, true}},
		{"underscore", []string{"max-age=3_00"}, hstsWant{true, int64(300), nil, nil, false}},
		{"double underscore", []string{"max-age=3__00"}, hstsWant{true, nil, nil, nil, true}},
		{"leading underscore", []string{"max-age=_300"}, hstsWant{true, nil, nil, nil, true}},
		{"trailing underscore", []string{"max-age=300_"}, hstsWant{true, nil, nil, nil, true}},
		{"sign then space", []string{"max-age=- 5"}, hstsWant{true, nil, nil, nil, true}},
		{"two signs", []string{"max-age=+-5"}, hstsWant{true, nil, nil, nil, true}},
		{"leading zeros", []string{"max-age=0010"}, hstsWant{true, int64(10), nil, nil, false}},
		{"minus zero", []string{"max-age=-0"}, hstsWant{false, int64(0), nil, nil, false}},
		{"exponent", []string{"max-age=1e3"}, hstsWant{true, nil, nil, nil, true}},
		{"hex", []string{"max-age=0x10"}, hstsWant{true, nil, nil, nil, true}},
		{"empty value", []string{"max-age="}, hstsWant{true, nil, nil, nil, true}},
		{"empty value then directive", []string{"max-age=; includeSubDomains"}, hstsWant{true, nil, nil, nil, true}},
		{"int64 max", []string{"max-age=9223372036854775807"}, hstsWant{true, big, nil, nil, false}},
		// Python's int is unbounded; we saturate (documented on parsePyInt).
		{"huge", []string{"max-age=99999999999999999999"}, hstsWant{true, big, nil, nil, false}},
		{"huge with underscores", []string{"max-age=1_000_000_000_000_000_000_000"}, hstsWant{true, big, nil, nil, false}},
		{"huge negative", []string{"max-age=-99999999999999999999"}, hstsWant{false, int64(math.MinInt64), nil, nil, false}},
		{"int64 min", []string{"max-age=-9223372036854775808"}, hstsWant{false, int64(math.MinInt64), nil, nil, false}},

		// The 8-character slice ignores what it cuts off.
		{"other 8 chars", []string{"xxxxxxxx300; max-age"}, hstsWant{true, int64(300), nil, nil, false}},
		{"leading space", []string{" max-age=300"}, hstsWant{true, nil, nil, nil, true}},
		{"max_age mention only", []string{"foo; max-age"}, hstsWant{true, nil, nil, nil, true}},

		// Substring tests for the flags, across all header instances.
		{"flag case", []string{"Max-Age=10; INCLUDESUBDOMAINS; PreLoad"}, hstsWant{true, int64(10), true, true, false}},
		{"flags as substrings", []string{"max-age=10; xincludesubdomainsx; nopreloading"}, hstsWant{true, int64(10), true, true, false}},
		{"flag in second header", []string{"max-age=10", "preload"}, hstsWant{true, int64(10), nil, true, false}},
		{"comma in first header", []string{"max-age=10, includeSubDomains"}, hstsWant{true, int64(10), true, nil, false}},
		{"bad second header ignored", []string{"max-age=10", "max-age=oops"}, hstsWant{true, int64(10), nil, nil, false}},
		{"bad first header", []string{"max-age=oops", "max-age=10"}, hstsWant{true, nil, nil, nil, true}},
		{"zero then valid", []string{"max-age=0", "max-age=10; preload"}, hstsWant{false, int64(0), nil, nil, false}},

		// Present but useless headers: pshtt only stops early on None.
		{"empty header", []string{""}, hstsWant{false, nil, nil, nil, false}},
		{"whitespace header", []string{"   "}, hstsWant{false, nil, nil, nil, false}},
		{"no max-age", []string{"includeSubDomains; preload"}, hstsWant{false, nil, nil, nil, false}},
		// Latin-1 bytes are single characters and never fold to ASCII.
		{"slice counts bytes", []string{"\xc3\xa9xxxxxx5; max-age"}, hstsWant{true, int64(5), nil, nil, false}},
		{"non-ASCII after max-age", []string{"max-age\xc3\xa9=5"}, hstsWant{true, nil, nil, nil, true}},
		{"dotted capital I", []string{"max-age=5; \xc4\xb0ncludeSubDomains"}, hstsWant{true, int64(5), nil, nil, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := ParseHSTS(tt.values, false)
			if got := hstsGot(h); got != tt.want {
				t.Errorf("ParseHSTS(%q) = %+v, want %+v", tt.values, got, tt.want)
			}
			wantHeader := strings.Join(tt.values, ", ")
			if h.Header == nil || *h.Header != wantHeader {
				t.Errorf("Header = %v, want %q", h.Header, wantHeader)
			}
		})
	}
}

func TestParseHSTSAbsentOrBadHostname(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values []string
		bad    bool
	}{
		{"nil", nil, false},
		{"empty slice", []string{}, false},
		{"bad hostname", []string{"max-age=31536000; includeSubDomains; preload"}, true},
		{"bad hostname, bad value", []string{"max-age=oops"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if h := ParseHSTS(tc.values, tc.bad); h != (HSTS{}) {
				t.Errorf("ParseHSTS(%q, %v) = %+v, want zero HSTS", tc.values, tc.bad, h)
			}
		})
	}
}

func TestParsePyInt(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"+0", 0, true},
		{"1_2_3", 123, true},
		{" \t\n+42\r\f", 42, true},
		{"9223372036854775806", math.MaxInt64 - 1, true},
		{"9223372036854775808", math.MaxInt64, true},
		{"-9223372036854775807", math.MinInt64 + 1, true},
		{"-9223372036854775809", math.MinInt64, true},
		{"184467440737095516150", math.MaxInt64, true}, // would wrap uint64
		{"", 0, false},
		{" ", 0, false},
		{"+", 0, false},
		{"-", 0, false},
		{"_", 0, false},
		{"1 2", 0, false},
		{"1\x00", 0, false},
		{"\x1c1", 0, false},
		{"\xd9\xa3", 0, false}, // ARABIC-INDIC THREE as UTF-8 bytes: not digits in Latin-1
	} {
		got, ok := parsePyInt(tc.in)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("parsePyInt(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func FuzzParseHSTS(f *testing.F) {
	for _, s := range []string{
		"max-age=31536000; includeSubDomains; preload",
		"max-age='300'", "max-age=3_00", "max-age=-1", "preload",
		"includeSubDomains; max-age=1", "max-age=99999999999999999999", "",
	} {
		f.Add(s, "", false, false)
	}
	f.Add("max-age=300", "max-age=600; includeSubDomains", true, false)
	f.Add("max-age=300", "", false, true)
	f.Fuzz(func(t *testing.T, a, b string, two, bad bool) {
		values := []string{a}
		if two {
			values = append(values, b)
		}
		h := ParseHSTS(values, bad)
		desc := fmt.Sprintf("ParseHSTS(%q, %v) = %+v", values, bad, h)
		if bad {
			if h != (HSTS{}) {
				t.Fatalf("%s: bad hostname must set nothing", desc)
			}
			return
		}
		if h.Header == nil || *h.Header != strings.Join(values, ", ") {
			t.Fatalf("%s: header not kept", desc)
		}
		if h.Present && !h.UnknownError && (h.MaxAge == nil || *h.MaxAge <= 0) {
			t.Fatalf("%s: present without a positive max-age", desc)
		}
		if h.UnknownError && (!h.Present || h.MaxAge != nil) {
			t.Fatalf("%s: unknown error must leave hsts=true, max-age=None", desc)
		}
		if (h.AllSubdomains != nil || h.Preload != nil) && (!h.Present || h.UnknownError) {
			t.Fatalf("%s: flags set outside a valid header", desc)
		}
		if (h.AllSubdomains != nil && !*h.AllSubdomains) || (h.Preload != nil && !*h.Preload) {
			t.Fatalf("%s: flags are only ever set to true", desc)
		}
	})
}
