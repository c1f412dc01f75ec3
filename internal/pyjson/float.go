package pyjson

import (
	"math"
	"strconv"
	"strings"
)

// FormatFloat formats f as Python's repr(float) does, which is also how
// Python's json module writes floats: the shortest digits that round-trip,
// in positional notation while the decimal exponent is in [-4, 16),
// otherwise in scientific notation with a signed, at least two-digit
// exponent; integral values keep a ".0" (1.0, 1e+16, 1e-05, 0.0001).
// NaN and the infinities give "nan", "inf" and "-inf" (repr, not JSON).
func FormatFloat(f float64) string { return formatFloat(f, 64) }

// formatFloat is FormatFloat for a value of the given bit size, so that a
// float32 gets its own shortest digits rather than those of its float64
// widening (0.1 rather than 0.10000000149011612).
func formatFloat(f float64, bitSize int) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	// 'e' with precision -1 gives the shortest round-tripping digits as
	// d.ddddde±XX; re-lay them out by Python's rules.
	s := strconv.FormatFloat(f, 'e', -1, bitSize)
	var b strings.Builder
	if s[0] == '-' {
		b.WriteByte('-')
		s = s[1:]
	}
	mant, expStr, _ := strings.Cut(s, "e")
	exp, _ := strconv.Atoi(expStr)
	digits := strings.Replace(mant, ".", "", 1)
	// decpt is where the decimal point goes relative to the digits:
	// value = 0.<digits> * 10^decpt.
	decpt := exp + 1
	switch {
	case decpt <= -4 || decpt > 16:
		b.WriteByte(digits[0])
		if len(digits) > 1 {
			b.WriteByte('.')
			b.WriteString(digits[1:])
		}
		b.WriteByte('e')
		if exp < 0 {
			b.WriteByte('-')
			exp = -exp
		} else {
			b.WriteByte('+')
		}
		if exp < 10 {
			b.WriteByte('0')
		}
		b.WriteString(strconv.Itoa(exp))
	case decpt <= 0:
		b.WriteString("0.")
		b.WriteString(strings.Repeat("0", -decpt))
		b.WriteString(digits)
	case decpt >= len(digits):
		b.WriteString(digits)
		b.WriteString(strings.Repeat("0", decpt-len(digits)))
		b.WriteString(".0")
	default:
		b.WriteString(digits[:decpt])
		b.WriteByte('.')
		b.WriteString(digits[decpt:])
	}
	return b.String()
}
