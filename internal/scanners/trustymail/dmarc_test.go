package trustymail

import (
	"fmt"
	"reflect"
	"testing"
)

// The messages of spec/scanners.md §2.8, verbatim.
const (
	msgMissingP  = "Record missing required policy (p) tag"
	msgBadP      = "Unknown DMARC policy p"
	msgFoExcl    = "fo tag values 0 and 1 are mutually exclusive"
	msgPctWarn   = "Warning: The DMARC pct tag value may be less than 100 (the implicit default) during deployment, but should be removed or set to 100 upon full deployment"
	msgNoURIs    = "Warning: A DMARC policy is specified but no reporting URIs.  This makes the DMARC implementation considerably less useful than it could be.  See https://tools.ietf.org/html/rfc7489#section-6.5 for more details."
	msgSPOnSub   = "Warning: The sp tag will be ignored for DMARC records published on subdomains. See here for details:  https://tools.ietf.org/html/rfc7489#section-6.3."
	rua          = "rua=mailto:dmarc@example.test"
	ruaURI       = "mailto:dmarc@example.test"
	msgUnknownSP = "Unknown DMARC subdomain policy %s"
)

func msgURIs(tag string, n int) string {
	return fmt.Sprintf("Warning: The %s tag specifies %d URIs.  Receivers are not required to send reports to more than two URIs - https://tools.ietf.org/html/rfc7489#section-6.2.", tag, n)
}

func strp(s string) *string { return &s }
func intp(n int) *int       { return &n }

func showStr(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%q", *p)
}

func showInt(p *int) string {
	if p == nil {
		return "<nil>"
	}
	return fmt.Sprint(*p)
}

func TestParseDMARC(t *testing.T) {
	for _, tc := range []struct {
		name   string
		text   string
		isBase bool

		valid     bool
		policy    *string
		subPolicy *string
		pct       *int
		agg, forn []string
		syntax    []string
		debug     []string
	}{
		{
			name: "complete", text: "v=DMARC1; p=reject; " + rua, isBase: true,
			valid: true, policy: strp("reject"), subPolicy: strp("reject"), pct: intp(100),
			agg: []string{ruaURI},
		},
		{
			name: "missing p", text: "v=DMARC1; " + rua, isBase: true,
			pct: intp(100), agg: []string{ruaURI},
			syntax: []string{msgMissingP},
		},
		{
			name: "missing p, nothing else", text: "v=DMARC1;", isBase: true,
			pct: intp(100), syntax: []string{msgMissingP},
		},
		{
			name: "missing p, sp kept", text: "v=DMARC1; sp=none; " + rua, isBase: true,
			subPolicy: strp("none"), pct: intp(100), agg: []string{ruaURI},
			syntax: []string{msgMissingP},
		},
		{
			// sp defaults to the (bad) p, and is reported with its value.
			name: "p=Reject", text: "v=DMARC1; p=Reject; " + rua, isBase: true,
			pct: intp(100), agg: []string{ruaURI},
			syntax: []string{msgBadP, fmt.Sprintf(msgUnknownSP, "Reject")},
		},
		{
			name: "p=Reject with sp", text: "v=DMARC1; p=Reject; sp=none; " + rua, isBase: true,
			subPolicy: strp("none"), pct: intp(100), agg: []string{ruaURI},
			syntax: []string{msgBadP},
		},
		{
			name: "sp=bogus", text: "v=DMARC1; p=none; sp=bogus; " + rua, isBase: true,
			policy: strp("none"), pct: intp(100), agg: []string{ruaURI},
			syntax: []string{fmt.Sprintf(msgUnknownSP, "bogus")},
		},
		{
			name: "sp defaults to p", text: "v=DMARC1; p=quarantine; " + rua, isBase: true,
			valid: true, policy: strp("quarantine"), subPolicy: strp("quarantine"), pct: intp(100),
			agg: []string{ruaURI},
		},
		{
			name: "sp defaults to p on a subdomain, no warning", text: "v=DMARC1; p=quarantine; " + rua,
			valid: true, policy: strp("quarantine"), subPolicy: strp("quarantine"), pct: intp(100),
			agg: []string{ruaURI},
		},
		{
			name: "sp on a subdomain", text: "v=DMARC1; p=reject; sp=none; " + rua,
			valid: true, policy: strp("reject"), subPolicy: strp("none"), pct: intp(100),
			agg: []string{ruaURI}, debug: []string{msgSPOnSub},
		},
		{
			name: "sp on a base domain", text: "v=DMARC1; p=reject; sp=none; " + rua, isBase: true,
			valid: true, policy: strp("reject"), subPolicy: strp("none"), pct: intp(100),
			agg: []string{ruaURI},
		},
		{
			name: "pct=0", text: "v=DMARC1; p=none; pct=0; " + rua, isBase: true,
			valid: true, policy: strp("none"), subPolicy: strp("none"), pct: intp(0),
			agg: []string{ruaURI}, syntax: []string{msgPctWarn},
		},
		{
			name: "pct=50", text: "v=DMARC1; p=none; pct=50; " + rua, isBase: true,
			valid: true, policy: strp("none"), subPolicy: strp("none"), pct: intp(50),
			agg: []string{ruaURI}, syntax: []string{msgPctWarn},
		},
		{
			name: "pct=100", text: "v=DMARC1; p=none; pct=100; " + rua, isBase: true,
			valid: true, policy: strp("none"), subPolicy: strp("none"), pct: intp(100),
			agg: []string{ruaURI},
		},
		{
			name: "pct=101", text: "v=DMARC1; p=none; pct=101; " + rua, isBase: true,
			policy: strp("none"), subPolicy: strp("none"), pct: intp(101), agg: []string{ruaURI},
			syntax: []string{"Error: invalid DMARC pct tag value: 101 - must be an integer between 0 and 100"},
		},
		{
			name: "pct=-1", text: "v=DMARC1; p=none; pct=-1; " + rua, isBase: true,
			policy: strp("none"), subPolicy: strp("none"), pct: intp(-1), agg: []string{ruaURI},
			syntax: []string{"Error: invalid DMARC pct tag value: -1 - must be an integer between 0 and 100", msgPctWarn},
		},
		{
			name: "pct=x", text: "v=DMARC1; p=none; pct=x; " + rua, isBase: true,
			policy: strp("none"), subPolicy: strp("none"), agg: []string{ruaURI},
			syntax: []string{"invalid DMARC pct tag value: x - must be an integer"},
		},
		{
			name: "pct= (empty)", text: "v=DMARC1; p=none; pct=; " + rua, isBase: true,
			policy: strp("none"), subPolicy: strp("none"), agg: []string{ruaURI},
			syntax: []string{"invalid DMARC pct tag value:  - must be an integer"},
		},
		{
			name: "pct Python int syntax", text: "v=DMARC1; p=none; pct=+1_0; " + rua, isBase: true,
			valid: true, policy: strp("none"), subPolicy: strp("none"), pct: intp(10),
			agg: []string{ruaURI}, syntax: []string{msgPctWarn},
		},
		{
			name: "fo=0:1", text: "v=DMARC1; p=none; fo=0:1; " + rua, isBase: true,
			valid: true, policy: strp("none"), subPolicy: strp("none"), pct: intp(100),
			agg: []string{ruaURI}, syntax: []string{msgFoExcl},
		},
		{
			name: "fo=2", text: "v=DMARC1; p=none; fo=2; " + rua, isBase: true,
			policy: strp("none"), subPolicy: strp("none"), pct: intp(100), agg: []string{ruaURI},
			syntax: []string{"Unknown DMARC fo tag value 2"},
		},
		{
			name: "fo=d:s", text: "v=DMARC1; p=none; fo=d:s; " + rua, isBase: true,
			valid: true, policy: strp("none"), subPolicy: strp("none"), pct: intp(100), agg: []string{ruaURI},
		},
		{
			name: "fo=1:x:0", text: "v=DMARC1; p=none; fo=1:x:0; " + rua, isBase: true,
			policy: strp("none"), subPolicy: strp("none"), pct: intp(100), agg: []string{ruaURI},
			syntax: []string{msgFoExcl, "Unknown DMARC fo tag value x"},
		},
		{
			name: "rf=iodef", text: "v=DMARC1; p=none; rf=iodef; " + rua, isBase: true,
			policy: strp("none"), subPolicy: strp("none"), pct: intp(100), agg: []string{ruaURI},
			syntax: []string{"Unknown DMARC rf tag value iodef"},
		},
		{
			name: "rf=afrf:iodef", text: "v=DMARC1; p=none; rf=afrf:iodef; " + rua, isBase: true,
			policy: strp("none"), subPolicy: strp("none"), pct: intp(100), agg: []string{ruaURI},
			syntax: []string{"Unknown DMARC rf tag value iodef"},
		},
		{
			name: "ri=abc", text: "v=DMARC1; p=none; ri=abc; " + rua, isBase: true,
			policy: strp("none"), subPolicy: strp("none"), pct: intp(100), agg: []string{ruaURI},
			syntax: []string{"Invalid DMARC ri tag value: abc - must be an integer"},
		},
		{
			name: "ri=3600, adkim and aspf not validated", text: "v=DMARC1; p=none; ri=3600; adkim=x; aspf=y; " + rua, isBase: true,
			valid: true, policy: strp("none"), subPolicy: strp("none"), pct: intp(100), agg: []string{ruaURI},
		},
		{
			name: "unknown tag", text: "v=DMARC1; p=none; foo=1; " + rua, isBase: true,
			policy: strp("none"), subPolicy: strp("none"), pct: intp(100), agg: []string{ruaURI},
			syntax: []string{"Unknown DMARC tag foo"},
		},
		{
			name: "tags are case-sensitive", text: "v=DMARC1; P=none", isBase: true,
			pct: intp(100), syntax: []string{msgMissingP, "Unknown DMARC tag P"},
		},
		{
			name: "mailto is a known tag", text: "v=DMARC1; p=none; mailto=x; " + rua, isBase: true,
			valid: true, policy: strp("none"), subPolicy: strp("none"), pct: intp(100), agg: []string{ruaURI},
		},
		{
			name: "empty tag name", text: "v=DMARC1; p=none; =x; " + rua, isBase: true,
			policy: strp("none"), subPolicy: strp("none"), pct: intp(100), agg: []string{ruaURI},
			syntax: []string{"Unknown DMARC tag "},
		},
		{
			name: "three rua URIs",
			text: "v=DMARC1; p=none; rua=mailto:a@example.test,mailto:b@example.test,mailto:c@example.test", isBase: true,
			valid: true, policy: strp("none"), subPolicy: strp("none"), pct: intp(100),
			agg:   []string{"mailto:a@example.test", "mailto:b@example.test", "mailto:c@example.test"},
			debug: []string{msgURIs("rua", 3)},
		},
		{
			name: "three ruf URIs, two rua",
			text: "v=DMARC1; p=none; rua=mailto:a@example.test,mailto:b@example.test; ruf=mailto:c@example.test,mailto:d@example.test,mailto:e@example.test", isBase: true,
			valid: true, policy: strp("none"), subPolicy: strp("none"), pct: intp(100),
			agg:   []string{"mailto:a@example.test", "mailto:b@example.test"},
			forn:  []string{"mailto:c@example.test", "mailto:d@example.test", "mailto:e@example.test"},
			debug: []string{msgURIs("ruf", 3)},
		},
		{
			name: "rua=https://x", text: "v=DMARC1; p=none; rua=https://x", isBase: true,
			policy: strp("none"), subPolicy: strp("none"), pct: intp(100),
			syntax: []string{"Error: https://x is an invalid DMARC URI"},
		},
		{
			name: "rua with a size limit", text: "v=DMARC1; p=none; rua=mailto:a@b!10m", isBase: true,
			valid: true, policy: strp("none"), subPolicy: strp("none"), pct: intp(100),
			agg: []string{"mailto:a@b!10m"},
		},
		{
			name: "URIs kept unstripped", text: "v=DMARC1; p=none; rua=mailto:a@example.test, mailto:b@example.test ,mailto:c@example.test", isBase: true,
			valid: true, policy: strp("none"), subPolicy: strp("none"), pct: intp(100),
			agg:   []string{"mailto:a@example.test", " mailto:b@example.test ", "mailto:c@example.test"},
			debug: []string{msgURIs("rua", 3)},
		},
		{
			name: "MAILTO is not mailto", text: "v=DMARC1; p=none; ruf=MAILTO:a@example.test", isBase: true,
			policy: strp("none"), subPolicy: strp("none"), pct: intp(100),
			syntax: []string{"Error: MAILTO:a@example.test is an invalid DMARC URI"},
		},
		{
			name: "two addresses in one URI", text: "v=DMARC1; p=none; rua=mailto:a@example.test mailto:b@example.test", isBase: true,
			policy: strp("none"), subPolicy: strp("none"), pct: intp(100),
			syntax: []string{"Error: mailto:a@example.test mailto:b@example.test is an invalid DMARC URI"},
		},
		{
			name: "empty rua", text: "v=DMARC1; p=none; rua=", isBase: true,
			policy: strp("none"), subPolicy: strp("none"), pct: intp(100),
			syntax: []string{"Error:  is an invalid DMARC URI"},
		},
		{
			name: "duplicated tags: last value wins", text: "v=DMARC1; p=none; pct=10; p=reject; pct=20; " + rua, isBase: true,
			valid: true, policy: strp("reject"), subPolicy: strp("reject"), pct: intp(20),
			agg: []string{ruaURI}, syntax: []string{msgPctWarn},
		},
		{
			name: "duplicated tags: a bad last value", text: "v=DMARC1; p=reject; p=Bogus; sp=none; " + rua, isBase: true,
			subPolicy: strp("none"), pct: intp(100), agg: []string{ruaURI},
			syntax: []string{msgBadP},
		},
		{
			name: "no reporting URIs", text: "v=DMARC1; p=none", isBase: true,
			valid: true, policy: strp("none"), subPolicy: strp("none"), pct: intp(100),
			syntax: []string{msgNoURIs},
		},
		{
			name: "ruf only", text: "v=DMARC1; p=none; ruf=mailto:f@example.test", isBase: true,
			valid: true, policy: strp("none"), subPolicy: strp("none"), pct: intp(100),
			forn: []string{"mailto:f@example.test"},
		},
		{
			name: "white space, a second = and parts without =",
			text: "  v = DMARC1 ; p = reject=none ; junk ; rua = mailto:dmarc@example.test ;  ", isBase: true,
			valid: true, policy: strp("reject"), subPolicy: strp("reject"), pct: intp(100),
			agg: []string{ruaURI},
		},
		{
			// Messages follow the tags' first appearance, then the
			// defaults (sp, ri, pct, adkim, aspf, fo, rf).
			name:   "message order",
			text:   "v=DMARC1; p=none; sp=none; pct=50; fo=0:1; rf=iodef; ri=x; foo=1; rua=https://x",
			policy: strp("none"), subPolicy: strp("none"), pct: intp(50),
			syntax: []string{
				msgPctWarn, msgFoExcl, "Unknown DMARC rf tag value iodef",
				"Invalid DMARC ri tag value: x - must be an integer", "Unknown DMARC tag foo",
				"Error: https://x is an invalid DMARC URI",
			},
			debug: []string{msgSPOnSub},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := ParseDMARC(tc.text, tc.isBase, nil)
			if d.Valid != tc.valid {
				t.Errorf("Valid = %v, want %v (syntax errors %q)", d.Valid, tc.valid, d.SyntaxErrors)
			}
			if showStr(d.Policy) != showStr(tc.policy) {
				t.Errorf("Policy = %s, want %s", showStr(d.Policy), showStr(tc.policy))
			}
			if showStr(d.SubPolicy) != showStr(tc.subPolicy) {
				t.Errorf("SubPolicy = %s, want %s", showStr(d.SubPolicy), showStr(tc.subPolicy))
			}
			if showInt(d.Pct) != showInt(tc.pct) {
				t.Errorf("Pct = %s, want %s", showInt(d.Pct), showInt(tc.pct))
			}
			checkList(t, "AggregateURIs", d.AggregateURIs, tc.agg)
			checkList(t, "ForensicURIs", d.ForensicURIs, tc.forn)
			checkList(t, "SyntaxErrors", d.SyntaxErrors, tc.syntax)
			checkList(t, "DebugInfo", d.DebugInfo, tc.debug)
			if d.ReportsAddressError {
				t.Error("ReportsAddressError without a report checker")
			}
		})
	}
}

func checkList(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s =\n\t%q\nwant\n\t%q", what, got, want)
	}
}

// TestParseDMARCReportChecker: the checker is called for each well-formed
// report URI, rua before ruf in the record's order, with the address and
// its domain; what it returns is merged.
func TestParseDMARCReportChecker(t *testing.T) {
	type call struct{ address, domain string }
	type verdict struct {
		syntax, debug    []string
		addrErr, invalid bool
	}
	for _, tc := range []struct {
		name     string
		text     string
		verdicts map[string]verdict // by e-mail domain
		calls    []call
		valid    bool
		addrErr  bool
		syntax   []string
		debug    []string
	}{
		{
			name:  "all accepted",
			text:  "v=DMARC1; p=none; rua=mailto:a@one.test!10m, mailto:b@Two.Test; ruf=mailto:c@x.three.test",
			calls: []call{{"a@one.test", "one.test"}, {"b@Two.Test", "Two.Test"}, {"c@x.three.test", "x.three.test"}},
			valid: true,
		},
		{
			name: "refused and invalid",
			text: "v=DMARC1; p=none; ruf=mailto:c@three.test; rua=mailto:a@one.test,https://bad,mailto:b@two.test!5m",
			verdicts: map[string]verdict{
				"two.test": {syntax: []string{"S2"}, debug: []string{"D2"}, addrErr: true, invalid: true},
			},
			calls:   []call{{"c@three.test", "three.test"}, {"a@one.test", "one.test"}, {"b@two.test", "two.test"}},
			addrErr: true,
			syntax:  []string{"Error: https://bad is an invalid DMARC URI", "S2"},
			debug:   []string{msgURIs("rua", 3), "D2"},
		},
		{
			name: "messages only",
			text: "v=DMARC1; p=none; rua=mailto:a@one.test",
			verdicts: map[string]verdict{
				"one.test": {syntax: []string{"S1"}, debug: []string{"D1a", "D1b"}},
			},
			calls:  []call{{"a@one.test", "one.test"}},
			valid:  true,
			syntax: []string{"S1"},
			debug:  []string{"D1a", "D1b"},
		},
		{
			name: "address error without invalid",
			text: "v=DMARC1; p=none; rua=mailto:a@one.test",
			verdicts: map[string]verdict{
				"one.test": {addrErr: true},
			},
			calls:   []call{{"a@one.test", "one.test"}},
			valid:   true,
			addrErr: true,
		},
		{
			name: "invalid without address error",
			text: "v=DMARC1; p=none; rua=mailto:a@one.test",
			verdicts: map[string]verdict{
				"one.test": {invalid: true, syntax: []string{"The domain for reporting address a@one.test does not have any MX records"}},
			},
			calls:  []call{{"a@one.test", "one.test"}},
			syntax: []string{"The domain for reporting address a@one.test does not have any MX records"},
		},
		{
			name:   "no well-formed URI, no call",
			text:   "v=DMARC1; p=none; rua=https://x",
			syntax: []string{"Error: https://x is an invalid DMARC URI"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls []call
			d := ParseDMARC(tc.text, true, func(address, emailDomain string) ([]string, []string, bool, bool) {
				calls = append(calls, call{address, emailDomain})
				v := tc.verdicts[emailDomain]
				return v.syntax, v.debug, v.addrErr, v.invalid
			})
			if !reflect.DeepEqual(calls, tc.calls) && (len(calls) != 0 || len(tc.calls) != 0) {
				t.Errorf("calls = %q, want %q", calls, tc.calls)
			}
			if d.Valid != tc.valid {
				t.Errorf("Valid = %v, want %v", d.Valid, tc.valid)
			}
			if d.ReportsAddressError != tc.addrErr {
				t.Errorf("ReportsAddressError = %v, want %v", d.ReportsAddressError, tc.addrErr)
			}
			checkList(t, "SyntaxErrors", d.SyntaxErrors, tc.syntax)
			checkList(t, "DebugInfo", d.DebugInfo, tc.debug)
		})
	}
}

func TestIsDMARCRecord(t *testing.T) {
	for _, tc := range []struct {
		txt  string
		want bool
	}{
		{"v=DMARC1; p=none", true},
		{"v=DMARC1;p=none", true},
		{"v=DMARC1 ; p=none", true},
		{"v = DMARC1;p=none", true},
		{"v=DMARC1\t;p=none", true},
		{"v=DMARC1;", true},
		{"V=DMARC1; p=none", false},
		{"v=dmarc1; p=none", false},
		{"v=DMARC1", false},
		{"v=DMARC1 p=none", false},
		{"v=DMARC2; p=none", false},
		{"v=DMARC10; p=none", false},
		{"v=spf1 -all", false},
		{" v=DMARC1;", false},
		{"p=none; v=DMARC1;", false},
		{"", false},
	} {
		if got := IsDMARCRecord(tc.txt); got != tc.want {
			t.Errorf("IsDMARCRecord(%q) = %v, want %v", tc.txt, got, tc.want)
		}
	}
}

// TestPyInt: Python's int() on the strings DMARC values can be.
func TestPyInt(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"50", 50}, {"+5", 5}, {"-1", -1}, {"1_0", 10}, {"0", 0}, {"007", 7},
		{"-0", 0}, {"1_000_000", 1000000}, {"86400", 86400},
	} {
		got, err := pyInt(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("pyInt(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{
		"", "x", "1__0", "_1", "1_", "-_1", "+_1", "+-1", "--1", "-", "+", "_",
		"1.5", "0x10", "1e3", "1_-0",
	} {
		if got, err := pyInt(in); err == nil {
			t.Errorf("pyInt(%q) = %d, want an error", in, got)
		}
	}
}

func TestParseDMARCTags(t *testing.T) {
	got := parseDMARCTags("v=DMARC1; p=none; x ; p = reject = quarantine;rua=a,b;; pct=5")
	want := []dmarcTag{{"v", "DMARC1"}, {"p", "reject"}, {"rua", "a,b"}, {"pct", "5"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseDMARCTags = %q, want %q", got, want)
	}
	if got := parseDMARCTags(""); len(got) != 0 {
		t.Errorf("parseDMARCTags(\"\") = %q", got)
	}
}
