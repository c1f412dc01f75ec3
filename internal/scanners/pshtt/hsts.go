package pshtt

import (
	"math"
	"strings"
)

// HSTS is the outcome of pshtt's hsts_check for one response.
type HSTS struct {
	Present       bool    // hsts (after the rules: false when max-age missing/<=0 etc.)
	Header        *string // hsts_header: the raw header value, several headers joined with ", " (nil when absent)
	MaxAge        *int64  // hsts_max_age (nil when not parsed)
	AllSubdomains *bool   // hsts_all_subdomains (nil when not set by the rules)
	Preload       *bool   // hsts_preload
	UnknownError  bool    // the parse failure that pshtt caught and flagged as unknown_error
}

// ParseHSTS applies spec §1.5 (pshtt's hsts_check) to the values of every
// Strict-Transport-Security header of a response, in order; nil or empty
// values means the header was absent. badHostname is step 1: hsts=false and
// nothing else is set.
//
// The quirks are deliberate: max-age is only read when it is the first
// directive of the first header, includeSubDomains and preload are plain
// substring tests on the whole joined header, and an unparsable max-age
// leaves hsts=true with UnknownError set.
//
// Values are treated as bytes, each byte one character. That is what pshtt
// saw: http.client decodes header bytes as ISO-8859-1, so Python's slicing
// by code point is slicing by byte, and no Latin-1 character lower-cases to
// ASCII, which makes ASCII-only case folding exact for the ASCII needles.
func ParseHSTS(values []string, badHostname bool) HSTS {
	var h HSTS
	// pshtt tests `header is None`, so a header sent with an empty value
	// still counts as present (and then fails on max-age); only a missing
	// header stops here.
	if badHostname || len(values) == 0 {
		return h
	}
	header := strings.Join(values, ", ") // as requests folds repeated fields
	h.Present = true
	h.Header = &header
	lower := asciiLowerHSTS(header)

	if strings.Contains(lower, "max-age") {
		// re.split(r",\s?", header)[0], quotes removed, then
		// re.split(r";\s?", ...)[0]: the optional \s only affects later
		// pieces, which pshtt never looks at.
		first, _, _ := strings.Cut(header, ",")
		first = strings.ReplaceAll(first, "'", "")
		directive, _, _ := strings.Cut(first, ";")
		// parts[0][len("max-age="):] drops 8 characters whatever they are,
		// so "max-age =1" or a leading space is a parse failure, not a skip.
		arg := ""
		if len(directive) > len("max-age=") {
			arg = directive[len("max-age="):]
		}
		n, ok := parsePyInt(arg)
		if !ok {
			h.UnknownError = true // the exception pshtt caught; hsts stays true
			return h
		}
		h.MaxAge = &n
	}

	if h.MaxAge == nil || *h.MaxAge <= 0 {
		h.Present = false // MaxAge keeps 0 or a negative value, as pshtt does
		return h
	}
	if strings.Contains(lower, "includesubdomains") {
		t := true
		h.AllSubdomains = &t
	}
	if strings.Contains(lower, "preload") {
		t := true
		h.Preload = &t
	}
	return h
}

// asciiLowerHSTS folds only A-Z, leaving other bytes alone (see ParseHSTS).
func asciiLowerHSTS(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}

// isPyIntSpace reports the Latin-1 characters Python's int() strips around a
// number: ASCII whitespace except the 0x1C-0x1F separators (which str.isspace
// accepts but int() rejects), plus NEL and NO-BREAK SPACE.
func isPyIntSpace(c byte) bool {
	switch c {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0x85, 0xA0:
		return true
	}
	return false
}

// parsePyInt parses s as Python's int(s) (base 10) would for a Latin-1
// string: optional surrounding whitespace, one optional sign, ASCII digits
// with single underscores between digits. Python integers are unbounded;
// out-of-range values saturate at the int64 limits, which keeps the sign
// (all the later rules look at) and any realistic comparison intact.
func parsePyInt(s string) (int64, bool) {
	i, j := 0, len(s)
	for i < j && isPyIntSpace(s[i]) {
		i++
	}
	for j > i && isPyIntSpace(s[j-1]) {
		j--
	}
	s = s[i:j]
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "" {
		return 0, false
	}
	var n uint64 // magnitude, saturating just above MaxInt64
	const limit = uint64(math.MaxInt64) + 1
	prevDigit := false
	for k := 0; k < len(s); k++ {
		c := s[k]
		switch {
		case '0' <= c && c <= '9':
			if d := uint64(c - '0'); n > (limit-d)/10 {
				n = limit // n*10+d would exceed it (or overflow uint64)
			} else {
				n = n*10 + d
			}
			prevDigit = true
		case c == '_' && prevDigit && k+1 < len(s):
			prevDigit = false // the next byte must be a digit
		default:
			return 0, false
		}
	}
	if !prevDigit {
		return 0, false
	}
	switch {
	case neg && n >= limit:
		return math.MinInt64, true
	case neg:
		return -int64(n), true
	case n >= limit:
		return math.MaxInt64, true
	}
	return int64(n), true
}
