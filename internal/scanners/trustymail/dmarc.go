package trustymail

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// dmarcPrefix is how a DMARC record must start (RFC 7489 §6.4: version
// first, then ";", white space allowed around "=" and ";"). The original
// demanded exactly "v=DMARC1;" and dropped "v=DMARC1 ; p=none".
var dmarcPrefix = regexp.MustCompile(`^v[ \t]*=[ \t]*DMARC1[ \t]*;`)

// IsDMARCRecord says whether a TXT record at _dmarc.<domain> is a DMARC
// record; others are ignored, as receivers do.
func IsDMARCRecord(txt string) bool { return dmarcPrefix.MatchString(txt) }

// mailtoURI is the original's MAILTO_REGEX: an unanchored "mailto:" address
// with an optional size limit such as "!10m". (The "+-/" inside the classes
// is a range, so ',' and '.' are allowed too; kept for identical verdicts.)
var mailtoURI = regexp.MustCompile("(mailto):([\\w\\-!#$%&'*+-/=?^_`{|}~][\\w\\-.!#$%&'*+-/=?^_`{|}~]*@[\\w\\-.]+)(!\\w+)?")

// The policies a p or sp tag may name (case-sensitive, as the original).
var dmarcPolicies = map[string]bool{"none": true, "quarantine": true, "reject": true}

var dmarcKnownTags = map[string]bool{
	"v": true, "mailto": true, "rf": true, "p": true, "sp": true, "adkim": true,
	"aspf": true, "fo": true, "pct": true, "ri": true, "rua": true, "ruf": true,
}

// DMARC is a parsed and validated DMARC record.
type DMARC struct {
	Valid         bool
	Policy        *string // p, when it is a known policy
	SubPolicy     *string // sp (defaulting to p), when it is a known policy
	Pct           *int    // pct (default 100), when it is an integer
	AggregateURIs []string
	ForensicURIs  []string
	// ReportsAddressError: an external report destination did not
	// authorise reports about the domain (RFC 7489 §7.1).
	ReportsAddressError bool
	SyntaxErrors        []string
	DebugInfo           []string
}

// reportChecker checks a report address outside the domain's organisation:
// authorisation record and MX. It returns messages for the two lists and
// whether the address is refused.
type reportChecker func(address, emailDomain string) (syntax, debug []string, addrErr, invalid bool)

// dmarcTag is one tag=value, in the order tags first appear.
type dmarcTag struct{ name, value string }

// parseDMARCTags splits a record the way trustymail did: on ";", each
// part with a "=" giving tag and value (trimmed; anything after a second
// "=" dropped); a repeated tag keeps its first position and its last value.
func parseDMARCTags(text string) []dmarcTag {
	var tags []dmarcTag
	for _, part := range strings.Split(text, ";") {
		if !strings.Contains(part, "=") {
			continue
		}
		fields := strings.Split(part, "=")
		name, value := strings.TrimSpace(fields[0]), strings.TrimSpace(fields[1])
		found := false
		for i := range tags {
			if tags[i].name == name {
				tags[i].value = value
				found = true
				break
			}
		}
		if !found {
			tags = append(tags, dmarcTag{name, value})
		}
	}
	return tags
}

func lookupTag(tags []dmarcTag, name string) (string, bool) {
	for _, t := range tags {
		if t.name == name {
			return t.value, true
		}
	}
	return "", false
}

// ParseDMARC validates one DMARC record (already joined from its strings)
// with trustymail's rules and messages (spec/scanners.md §2.8). isBase says
// whether the record is published on an organisational domain; check is
// called for each well-formed report address, in order (nil: no checks).
func ParseDMARC(text string, isBase bool, check reportChecker) *DMARC {
	d := &DMARC{Valid: true}
	syntax := func(format string, a ...any) { d.SyntaxErrors = append(d.SyntaxErrors, fmt.Sprintf(format, a...)) }
	debug := func(format string, a ...any) { d.DebugInfo = append(d.DebugInfo, fmt.Sprintf(format, a...)) }

	tags := parseDMARCTags(strings.TrimSpace(text))
	if _, ok := lookupTag(tags, "sp"); ok && !isBase {
		debug("Warning: The sp tag will be ignored for DMARC records published on subdomains. See here for details:  https://tools.ietf.org/html/rfc7489#section-6.3.")
	}
	p, hasP := lookupTag(tags, "p")
	if !hasP {
		syntax("Record missing required policy (p) tag")
		d.Valid = false
	} else if _, ok := lookupTag(tags, "sp"); !ok {
		tags = append(tags, dmarcTag{"sp", p})
	}
	for _, def := range []dmarcTag{{"ri", "86400"}, {"pct", "100"}, {"adkim", "r"}, {"aspf", "r"}, {"fo", "0"}, {"rf", "afrf"}} {
		if _, ok := lookupTag(tags, def.name); !ok {
			tags = append(tags, def)
		}
	}

	for _, t := range tags {
		if !dmarcKnownTags[t.name] {
			syntax("Unknown DMARC tag %s", t.name)
			d.Valid = false
			continue
		}
		switch t.name {
		case "p":
			if dmarcPolicies[t.value] {
				d.Policy = ptr(t.value)
			} else {
				syntax("Unknown DMARC policy p")
				d.Valid = false
			}
		case "sp":
			if dmarcPolicies[t.value] {
				d.SubPolicy = ptr(t.value)
			} else {
				syntax("Unknown DMARC subdomain policy %s", t.value)
				d.Valid = false
			}
		case "fo":
			values := strings.Split(t.value, ":")
			has := map[string]bool{}
			for _, v := range values {
				has[v] = true
			}
			if has["0"] && has["1"] {
				syntax("fo tag values 0 and 1 are mutually exclusive")
			}
			for _, v := range values {
				if v != "0" && v != "1" && v != "d" && v != "s" {
					syntax("Unknown DMARC fo tag value %s", v)
					d.Valid = false
				}
			}
		case "rf":
			for _, v := range strings.Split(t.value, ":") {
				if v != "afrf" {
					syntax("Unknown DMARC rf tag value %s", v)
					d.Valid = false
				}
			}
		case "ri":
			if _, err := pyInt(t.value); err != nil {
				syntax("Invalid DMARC ri tag value: %s - must be an integer", t.value)
				d.Valid = false
			}
		case "pct":
			pct, err := pyInt(t.value)
			if err != nil {
				syntax("invalid DMARC pct tag value: %s - must be an integer", t.value)
				d.Valid = false
				continue
			}
			if pct < 0 || pct > 100 {
				syntax("Error: invalid DMARC pct tag value: %s - must be an integer between 0 and 100", t.value)
				d.Valid = false
			}
			d.Pct = ptr(pct)
			if pct < 100 {
				syntax("Warning: The DMARC pct tag value may be less than 100 (the implicit default) during deployment, but should be removed or set to 100 upon full deployment")
			}
		case "rua", "ruf":
			uris := strings.Split(t.value, ",")
			if len(uris) > 2 {
				debug("Warning: The %s tag specifies %d URIs.  Receivers are not required to send reports to more than two URIs - https://tools.ietf.org/html/rfc7489#section-6.2.", t.name, len(uris))
			}
			for _, uri := range uris {
				m := mailtoURI.FindAllStringSubmatch(strings.TrimSpace(uri), -1)
				if len(m) != 1 {
					syntax("Error: %s is an invalid DMARC URI", uri)
					d.Valid = false
					continue
				}
				if t.name == "rua" {
					d.AggregateURIs = append(d.AggregateURIs, uri)
				} else {
					d.ForensicURIs = append(d.ForensicURIs, uri)
				}
				if check == nil {
					continue
				}
				address := m[0][2]
				s, dbg, addrErr, invalid := check(address, address[strings.LastIndex(address, "@")+1:])
				d.SyntaxErrors = append(d.SyntaxErrors, s...)
				d.DebugInfo = append(d.DebugInfo, dbg...)
				if addrErr {
					d.ReportsAddressError = true
				}
				if invalid {
					d.Valid = false
				}
			}
		}
	}
	_, hasRua := lookupTag(tags, "rua")
	_, hasRuf := lookupTag(tags, "ruf")
	if hasP && !hasRua && !hasRuf {
		syntax("Warning: A DMARC policy is specified but no reporting URIs.  This makes the DMARC implementation considerably less useful than it could be.  See https://tools.ietf.org/html/rfc7489#section-6.5 for more details.")
	}
	return d
}

// pyInt parses an integer as Python's int() does for the values DMARC
// tags hold: optional sign, decimal digits, single underscores between
// digits, any size (beyond int64, the nearest int64: the values are only
// compared with 0 and 100).
func pyInt(s string) (int, error) {
	if !pyIntSyntax.MatchString(s) {
		return 0, strconv.ErrSyntax
	}
	n, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 10, 64)
	if errors.Is(err, strconv.ErrRange) {
		err = nil
	}
	return int(n), err
}

var pyIntSyntax = regexp.MustCompile(`^[+-]?[0-9](_?[0-9])*$`)
