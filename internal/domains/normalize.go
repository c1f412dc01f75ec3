// Package domains turns the scan command's <domains> argument (a comma list,
// a CSV file or the URL of one) into a clean, de-duplicated list of names.
package domains

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

// DNS limits (RFC 1035), counted on the ASCII (punycode) form without the
// trailing dot.
const (
	maxLabelLen = 63
	maxNameLen  = 253
	// Raw (pre-idna) bounds. Punycode encoding is quadratic in the label
	// length, so absurd input is refused before it reaches idna. The bounds
	// leave room for UTF-8 and for sequences that NFC composes, so no name
	// that would be valid is refused by them.
	maxRawLabel = 1024
	maxRawName  = 4096
)

// Normalize trims spaces, removes one trailing dot, lower-cases, converts
// IDNs to punycode (idna), and validates. Errors are plain errors with a
// short reason, e.g. "empty name", "label \"xxx…\" longer than 63
// characters", "name longer than 253 characters", "bad character '/' (a
// URL? give the host name only)", "empty label".
//
// Allowed after lower-casing: a-z 0-9 '-' '_' with '.' between labels; no
// empty labels and no label starting or ending with '-'. '_' is accepted
// because real inventories list service names such as _dmarc.example.gov.
func Normalize(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	s = strings.TrimSuffix(s, ".")
	if s == "" {
		return "", errors.New("empty name")
	}
	if !utf8.ValidString(s) {
		return "", errors.New("invalid UTF-8")
	}
	if len(s) > maxRawName {
		return "", fmt.Errorf("name longer than %d characters", maxNameLen)
	}

	// One pass over the ASCII bytes: reject bad characters early (before
	// idna, whose messages about them are less helpful) and note whether we
	// need to allocate at all.
	ascii, upper := true, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= utf8.RuneSelf:
			ascii = false
		case 'A' <= c && c <= 'Z':
			upper = true
		case !allowedASCII(c):
			return "", badChar(c)
		}
	}
	if upper {
		s = lowerASCII(s)
	}

	// Labels that are Unicode, or claim to be punycode, go through the idna
	// Lookup profile (UTS #46 mapping + validation, as browsers do). Plain
	// ASCII labels skip it because its STD3 rules would reject '_'.
	if !ascii || strings.Contains(s, "xn--") {
		labels := strings.Split(s, ".")
		for i, l := range labels {
			if l == "" || (isASCII(l) && !strings.HasPrefix(l, "xn--")) {
				continue // empty labels are reported below, in order
			}
			if len(l) > maxRawLabel {
				return "", labelTooLong(l)
			}
			a, err := idna.Lookup.ToASCII(l)
			if err != nil {
				return "", fmt.Errorf("not a valid international name (%v)", err)
			}
			labels[i] = a
		}
		s = strings.Join(labels, ".")
		// idna may map a Unicode full stop to '.', leaving a trailing dot.
		s = strings.TrimSuffix(s, ".")
	}
	if err := checkASCII(s); err != nil {
		return "", err
	}
	return s, nil
}

// checkASCII validates the final ASCII form: characters, labels, length.
func checkASCII(s string) error {
	if s == "" {
		return errors.New("empty name")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !allowedASCII(c) {
			return badChar(c)
		}
	}
	for l := range strings.SplitSeq(s, ".") {
		switch {
		case l == "":
			return errors.New("empty label")
		case len(l) > maxLabelLen:
			return labelTooLong(l)
		case l[0] == '-' || l[len(l)-1] == '-':
			return fmt.Errorf("label %q starts or ends with '-'", l)
		}
	}
	if len(s) > maxNameLen {
		return fmt.Errorf("name longer than %d characters", maxNameLen)
	}
	return nil
}

func labelTooLong(l string) error {
	// Show a prefix only, cut on a rune boundary.
	short := []rune(l[:min(len(l), 64)])
	return fmt.Errorf("label %q longer than %d characters", string(short[:min(len(short), 16)])+"…", maxLabelLen)
}

func allowedASCII(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.'
}

// badChar names the character and, for the usual mistakes, what to do.
func badChar(c byte) error {
	var hint string
	switch c {
	case '/', ':':
		hint = " (a URL? give the host name only)"
	case '@':
		hint = " (an e-mail address? give the host name only)"
	case '*':
		hint = " (wildcards are not supported)"
	case ' ', '\t':
		hint = " (space inside the name)"
	}
	if c >= utf8.RuneSelf {
		return fmt.Errorf("bad byte 0x%02x", c) // cannot happen after idna; be safe
	}
	return fmt.Errorf("bad character %q%s", rune(c), hint)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// BaseDomain returns the registrable domain (eTLD+1 using the compiled-in
// Public Suffix List of golang.org/x/net/publicsuffix, ICANN and private
// sections), e.g. www.nasa.gov -> nasa.gov, a.b.example.co.uk ->
// example.co.uk, foo.blogspot.com -> foo.blogspot.com. A name that is itself
// a public suffix (gov, co.uk, dni.us) returns itself. name should be
// normalised. (fed.us, once a suffix, is no longer on the list, so
// www.fed.us -> fed.us.)
//
// The original used the publicsuffix package's get_public_suffix, which
// (despite its name) also returns the registrable domain. The one known
// difference is a TLD missing from the list: the original returned just the
// TLD, while we apply the PSL's default "*" rule, so a.b.zz -> b.zz.
func BaseDomain(name string) string {
	base, err := publicsuffix.EffectiveTLDPlusOne(name)
	if err != nil {
		// The name is a public suffix itself (or not a usable name).
		return name
	}
	return base
}
