// Package output writes scan results in the original tool's formats:
// CSV cells as Python's csv module wrote Python values, results CSVs and
// their sorting, JSON lines, and meta.json.
package output

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/domainscan/domain-scan/internal/pyjson"
)

// Cell formats one cell as Python's csv module wrote the original's values,
// which is str() of each value: nil is "", bools are True/False, strings
// are as is, integers decimal, floats Python's repr, json.Number as
// written, lists and maps (any slice, array or string-keyed map) Python's
// list and dict repr, time.Time as Timestamp. Dict keys are sorted, the
// order the original's dicts had after their JSON round trip. Other
// values (structs, Marshalers) are formatted as their JSON decodes to.
func Cell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case time.Time:
		return Timestamp(x)
	}
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface {
		if rv.IsNil() {
			return ""
		}
		rv = rv.Elem()
	}
	if rv.Kind() == reflect.String && !hasMarshaler(rv.Type()) {
		return rv.String()
	}
	if t, ok := rv.Interface().(time.Time); ok {
		return Timestamp(t)
	}
	if rv.Kind() == reflect.Struct || hasMarshaler(rv.Type()) || isBytes(rv.Type()) {
		// The original's values were JSON-shaped; format others as their
		// JSON (which the engine caches and decodes rows from) reads.
		tree, err := jsonTree(rv.Interface())
		if err != nil {
			return fmt.Sprint(v)
		}
		if s, ok := tree.(string); ok {
			return s
		}
		return Cell(tree)
	}
	var b strings.Builder
	writeRepr(&b, rv, 0)
	return b.String()
}

var (
	marshalerType     = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	numberType        = reflect.TypeFor[json.Number]()
	timeType          = reflect.TypeFor[time.Time]()
)

func hasMarshaler(t reflect.Type) bool {
	if t == numberType {
		return false
	}
	return t.Implements(marshalerType) || t.Implements(textMarshalerType) ||
		reflect.PointerTo(t).Implements(marshalerType) || reflect.PointerTo(t).Implements(textMarshalerType)
}

// isBytes reports a []byte-like slice, which JSON (and so the cache the
// rows are built from) holds as a base64 string.
func isBytes(t reflect.Type) bool {
	return t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8
}

// jsonTree is v after a JSON round trip, numbers kept as written.
func jsonTree(v any) (any, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var tree any
	err = dec.Decode(&tree)
	return tree, err
}

// maxReprDepth stops a self-referencing value; Python prints [...] there.
const maxReprDepth = 1000

// writeRepr writes Python's repr of v, as str() of a list or dict shows its
// elements.
func writeRepr(b *strings.Builder, v reflect.Value, depth int) {
	if depth > maxReprDepth {
		b.WriteString("...")
		return
	}
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			b.WriteString("None")
			return
		}
		v = v.Elem()
	}
	t := v.Type()
	switch {
	case t == numberType:
		b.WriteString(v.String())
		return
	case t == timeType:
		writeStrRepr(b, Timestamp(v.Interface().(time.Time)))
		return
	case t.Kind() == reflect.Struct || hasMarshaler(t) || isBytes(t) ||
		(t.Kind() == reflect.Map && t.Key().Kind() != reflect.String):
		// Python's data was JSON-shaped; give other values that shape.
		tree, err := jsonTree(v.Interface())
		if err != nil {
			writeStrRepr(b, fmt.Sprint(v.Interface()))
			return
		}
		writeRepr(b, reflect.ValueOf(&tree).Elem(), depth+1)
		return
	}
	switch t.Kind() {
	case reflect.Bool:
		if v.Bool() {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		b.WriteString(strconv.FormatInt(v.Int(), 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		b.WriteString(strconv.FormatUint(v.Uint(), 10))
	case reflect.Float32:
		// Shortest float32 digits, as encoding/json would have cached it.
		f, _ := strconv.ParseFloat(strconv.FormatFloat(v.Float(), 'g', -1, 32), 64)
		b.WriteString(pyjson.FormatFloat(f))
	case reflect.Float64:
		b.WriteString(pyjson.FormatFloat(v.Float()))
	case reflect.String:
		writeStrRepr(b, v.String())
	case reflect.Slice, reflect.Array:
		if t.Kind() == reflect.Slice && v.IsNil() {
			b.WriteString("[]")
			return
		}
		b.WriteByte('[')
		for i := range v.Len() {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, v.Index(i), depth+1)
		}
		b.WriteByte(']')
	case reflect.Map:
		keys := v.MapKeys()
		slices.SortFunc(keys, func(x, y reflect.Value) int { return strings.Compare(x.String(), y.String()) })
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			writeStrRepr(b, k.String())
			b.WriteString(": ")
			writeRepr(b, v.MapIndex(k), depth+1)
		}
		b.WriteByte('}')
	default:
		b.WriteString(fmt.Sprint(v.Interface()))
	}
}

// writeStrRepr writes Python's repr of a str: single quotes unless the
// string has a ' and no ", backslash escapes for the backslash, the quote,
// \t \n \r, other ASCII controls as \xNN, and non-printable non-ASCII as
// \xNN, \uNNNN or \UNNNNNNNN (printable non-ASCII is kept). unicode.IsPrint
// is Python's str.isprintable for non-ASCII: both exclude categories C and
// Z except the space. Invalid UTF-8 is shown as U+FFFD.
func writeStrRepr(b *strings.Builder, s string) {
	quote := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		quote = '"'
	}
	const hexDigits = "0123456789abcdef"
	hex := func(prefix string, r rune, n int) {
		b.WriteString(prefix)
		for shift := (n - 1) * 4; shift >= 0; shift -= 4 {
			b.WriteByte(hexDigits[r>>shift&0xf])
		}
	}
	b.WriteByte(quote)
	for _, r := range s {
		switch {
		case r == rune(quote) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			hex(`\x`, r, 2)
		case r < utf8.RuneSelf || unicode.IsPrint(r):
			b.WriteRune(r)
		case r <= 0xff:
			hex(`\x`, r, 2)
		case r <= 0xffff:
			hex(`\u`, r, 4)
		default:
			hex(`\U`, r, 8)
		}
	}
	b.WriteByte(quote)
}

// Timestamp formats t in UTC as the original's RFC 3339 timestamps:
// YYYY-MM-DDTHH:MM:SS, then up to six fraction digits with trailing zeros
// dropped, then Z. The fraction is rounded to microseconds, as the
// original's strict_rfc3339 did. The zero time, the original's None, gives "".
func Timestamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.UTC().Round(time.Microsecond)
	s := t.Format("2006-01-02T15:04:05")
	if us := t.Nanosecond() / 1000; us != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%06d", us), "0")
	}
	return s + "Z"
}

// Seconds formats d as the original's durations, "%.6f" of seconds. It
// rounds the integer nanoseconds to microseconds instead of going through
// a float, so the result is exact.
func Seconds(d time.Duration) string {
	us := d.Round(time.Microsecond) / time.Microsecond
	sign := ""
	if us < 0 {
		sign = "-"
		us = -us
	}
	return fmt.Sprintf("%s%d.%06d", sign, us/1e6, us%1e6)
}
