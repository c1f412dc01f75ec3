package trustymail

// Fuzz targets; the seeds run with every `go test`. For a fuzzing run:
//
//	go test -run='^$' -fuzz=FuzzParseDMARC -fuzztime=20s ./internal/scanners/trustymail/

import (
	"context"
	"math"
	"math/big"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"blitiri.com.ar/go/spf"
)

var dmarcSeeds = []string{
	"v=DMARC1; p=none",
	"v=DMARC1; p=reject; rua=mailto:dmarc@example.test",
	"v=DMARC1; p=quarantine; sp=none; pct=50; rua=mailto:a@example.test!10m,mailto:b@ext.test; ruf=mailto:f@example.test; fo=1:d; rf=afrf; ri=3600; adkim=s; aspf=r",
	"v=DMARC1;p=reject;pct=100;rua=mailto:dmarc_agg@vali.email,mailto:rua@example.test",
	"v=DMARC1 ; p = none ; rua = mailto:x@y.test",
	"v=DMARC1; rua=mailto:a@b",
	"v=DMARC1; p=Reject; sp=bogus; pct=x; fo=0:1:2; rf=iodef; ri=abc; foo=1; rua=https://x",
	"v=DMARC1; p=none; pct=101; pct=-1; pct=1_0",
	"v=DMARC1; p=none; rua=mailto:a@example.test mailto:b@example.test,,mailto:",
	"v=DMARC1; p=none=reject; =; ;;; p",
	"",
}

// dmarcWarnings are the syntax messages that do not make a record invalid.
var dmarcWarnings = map[string]bool{msgPctWarn: true, msgFoExcl: true, msgNoURIs: true}

func FuzzParseDMARC(f *testing.F) {
	for _, s := range dmarcSeeds {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, text string, isBase bool) {
		d := ParseDMARC(text, isBase, nil)

		// Valid exactly when every syntax message is a mere warning.
		onlyWarnings := true
		for _, e := range d.SyntaxErrors {
			if !dmarcWarnings[e] {
				onlyWarnings = false
			}
			if d.Valid {
				for _, bad := range []string{"Unknown", "invalid", "Error:", "missing"} {
					if strings.Contains(e, bad) {
						t.Errorf("valid record with the syntax error %q", e)
					}
				}
			}
		}
		if d.Valid != onlyWarnings {
			t.Errorf("Valid = %v with syntax errors %q", d.Valid, d.SyntaxErrors)
		}

		for _, u := range append(append([]string(nil), d.AggregateURIs...), d.ForensicURIs...) {
			if !strings.Contains(text, u) {
				t.Errorf("URI %q is not in the record", u)
			}
			if !strings.Contains(u, "mailto:") || !strings.Contains(u, "@") {
				t.Errorf("URI %q kept without a mailto address", u)
			}
		}

		if d.Pct == nil && !strings.Contains(text, "pct") {
			t.Error("Pct nil without a pct tag")
		}
		if !strings.Contains(text, "pct") && (d.Pct == nil || *d.Pct != 100) {
			t.Errorf("Pct = %v without a pct tag, want the default 100", d.Pct)
		}
		for _, p := range []*string{d.Policy, d.SubPolicy} {
			if p != nil && !dmarcPolicies[*p] {
				t.Errorf("policy %q", *p)
			}
		}
		tags := parseDMARCTags(strings.TrimSpace(text))
		_, hasP := lookupTag(tags, "p")
		_, hasSP := lookupTag(tags, "sp")
		if d.Policy != nil && !hasP {
			t.Error("Policy without a p tag")
		}
		if d.SubPolicy != nil && !hasP && !hasSP {
			t.Error("SubPolicy without p or sp")
		}
		spWarned := false
		for _, m := range d.DebugInfo {
			switch {
			case m == msgSPOnSub:
				spWarned = true
			case strings.HasPrefix(m, "Warning: The ru"):
			default:
				t.Errorf("debug message %q", m)
			}
		}
		if spWarned != (hasSP && !isBase) {
			t.Errorf("sp warning %v for sp tag %v on base %v", spWarned, hasSP, isBase)
		}
		if d.ReportsAddressError {
			t.Error("ReportsAddressError without a checker")
		}

		// A checker that accepts everything changes nothing, and is called
		// once per kept URI with the address and its domain.
		calls := 0
		d2 := ParseDMARC(text, isBase, func(address, emailDomain string) ([]string, []string, bool, bool) {
			calls++
			at := strings.LastIndex(address, "@")
			if at < 0 || address[at+1:] != emailDomain {
				t.Errorf("checker called with %q, %q", address, emailDomain)
			}
			if !strings.Contains(text, "mailto:"+address) {
				t.Errorf("address %q is not in the record", address)
			}
			return nil, nil, false, false
		})
		if !reflect.DeepEqual(d, d2) {
			t.Errorf("an accepting checker changed the result:\n%+v\n%+v", d, d2)
		}
		if n := len(d.AggregateURIs) + len(d.ForensicURIs); calls != n {
			t.Errorf("checker called %d times for %d URIs", calls, n)
		}
	})
}

// dmarcPrefixRef is IsDMARCRecord written without a regular expression.
func dmarcPrefixRef(s string) bool {
	skip := func(s string) string { return strings.TrimLeft(s, " \t") }
	var ok bool
	if s, ok = strings.CutPrefix(s, "v"); !ok {
		return false
	}
	if s, ok = strings.CutPrefix(skip(s), "="); !ok {
		return false
	}
	if s, ok = strings.CutPrefix(skip(s), "DMARC1"); !ok {
		return false
	}
	return strings.HasPrefix(skip(s), ";")
}

func FuzzIsDMARCRecord(f *testing.F) {
	for _, s := range append(dmarcSeeds, "v = DMARC1;", "V=DMARC1;", "v=DMARC1", " v=DMARC1;", "v=DMARC1\t \t;", "v=spf1 -all") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := IsDMARCRecord(s)
		if want := dmarcPrefixRef(s); got != want {
			t.Errorf("IsDMARCRecord(%q) = %v, want %v", s, got, want)
		}
		if got && IsSPFRecord(s) {
			t.Errorf("%q is both a DMARC and an SPF record", s)
		}
	})
}

func FuzzIsSPFRecord(f *testing.F) {
	for _, s := range []string{"v=spf1", "v=spf1 -all", "V=SPF1 -all", "v=spf10 -all", "v=spf1-all", "spf1", "", "v=spf1\t-all", "v=ſpf1 -all", "v=SPF1 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := IsSPFRecord(s)
		lower := strings.ToLower(s)
		if got && !strings.HasPrefix(lower, "v=spf1") {
			t.Errorf("IsSPFRecord(%q) without the prefix v=spf1", s)
		}
		// The SPF library's own notion of a record (getDNSRecord): the
		// records the scanner shows are the ones it evaluates.
		if lib := strings.HasPrefix(lower, "v=spf1 ") || lower == "v=spf1"; got != lib {
			t.Errorf("IsSPFRecord(%q) = %v, the SPF library says %v", s, got, lib)
		}
		if n := len(SPFRecords([]string{s, "x", s})); (n == 2) != got || (n != 0 && n != 2) {
			t.Errorf("SPFRecords of %q twice: %d", s, n)
		}
	})
}

// pyIntRef is what Python's int() accepts among ASCII strings without
// white space, written apart from pyInt's own pattern.
var pyIntRef = regexp.MustCompile(`^[+-]?[0-9]+(_[0-9]+)*$`)

func FuzzPyInt(f *testing.F) {
	for _, s := range []string{"50", "+5", "-1", "1_0", "", "x", "1__0", "_1", "1_", "-_1", "007", "1_000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := pyInt(s)
		if !pyIntRef.MatchString(s) {
			if err == nil {
				t.Errorf("pyInt(%q) = %d, Python's int() refuses it", s, n)
			}
			return
		}
		want, _ := new(big.Int).SetString(strings.ReplaceAll(s, "_", ""), 10)
		// Beyond int64, the nearest int64 (only its comparison with 0 and
		// 100 matters).
		if want.Cmp(big.NewInt(math.MaxInt64)) > 0 {
			want = big.NewInt(math.MaxInt64)
		} else if want.Cmp(big.NewInt(math.MinInt64)) < 0 {
			want = big.NewInt(math.MinInt64)
		}
		if err != nil || int64(n) != want.Int64() {
			t.Errorf("pyInt(%q) = %d, %v; want %v", s, n, err, want)
		}
	})
}

var spfSeeds = []string{
	"v=spf1 -all",
	"v=spf1 +all",
	"v=spf1",
	"v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 ~all",
	"v=spf1 ip4:not-an-address -all",
	"v=spf1 include:_spf.fuzz.test -all",
	"v=spf1 include:nospf.fuzz.test -all",
	"v=spf1 include:broken.fuzz.test -all",
	"v=spf1 include:fuzz.test -all",
	"v=spf1 redirect=_spf.fuzz.test",
	"v=spf1 redirect=missing.fuzz.test",
	"v=spf1 mx a mx:fuzz.test/24 a:mail.fuzz.test//64 ?all",
	"v=spf1 ptr ptr:fuzz.test exists:%{i}.%{l}.%{d2}.ex.fuzz.test -all",
	"v=spf1 exists:%{ir}.%{v}._spf.%{d} exp=explain.%{d} -all",
	"v=spf1 a:v1.fuzz.test a:v2.fuzz.test a:v3.fuzz.test -all",
	"v=spf1 include:a include:b include:c include:d include:e include:f include:g include:h include:i include:j include:k -all",
	"v=spf1 redirect=a redirect=b",
	"v=spf1 foo=bar %{ -all",
	"V=SPF1 IP4:100.27.42.254 -ALL",
	"spf1 -all",
}

// FuzzEvaluateSPF evaluates a fuzzed record as the domain's TXT record,
// with its nested lookups answered by the loopback server.
func FuzzEvaluateSPF(f *testing.F) {
	for _, s := range spfSeeds {
		f.Add(s)
	}
	z := newTestZone(f,
		`fuzz.test. MX 10 mail.fuzz.test.`,
		`fuzz.test. A 192.0.2.80`,
		`mail.fuzz.test. A 192.0.2.25`,
		`mail.fuzz.test. AAAA 2001:db8::25`,
		`_spf.fuzz.test. TXT "v=spf1 ip4:192.0.2.0/24 ~all"`,
		`nospf.fuzz.test. TXT "hello"`,
		`explain.fuzz.test. TXT "not allowed"`,
		`100.27.42.254.email_wizard.fuzz.test.ex.fuzz.test. A 127.0.0.2`,
	)
	z.servfail["broken.fuzz.test."] = true
	r := newResolver([]string{startDNS(f, z)}, 2*time.Second)
	results := map[spf.Result]bool{
		spf.None: true, spf.Neutral: true, spf.Pass: true, spf.Fail: true,
		spf.SoftFail: true, spf.TempError: true, spf.PermError: true,
	}
	f.Fuzz(func(t *testing.T, record string) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		start := time.Now()
		res, err := r.evaluateSPF(ctx, "fuzz.test", []string{"other", record})
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("evaluateSPF(%q) took %v", record, took)
		}
		if !results[res] {
			t.Fatalf("evaluateSPF(%q) = %q (%v), not an SPF result", record, res, err)
		}
		// Without an SPF record the answer is none, and only then.
		if (res == spf.None) != !IsSPFRecord(record) {
			t.Errorf("evaluateSPF(%q) = %s (%v), IsSPFRecord %v", record, res, err, IsSPFRecord(record))
		}
		_ = spfErrText(err)
		// Two SPF records: permerror, without looking further.
		if IsSPFRecord(record) {
			if res2, err2 := r.evaluateSPF(ctx, "fuzz.test", []string{record, "v=spf1 -all"}); res2 != spf.PermError {
				t.Errorf("two records with %q: %s (%v), want permerror", record, res2, err2)
			}
		}
	})
}
