// Package pyjson writes JSON byte for byte as the original Python tool did
// with json.dumps(obj, sort_keys=True, indent=2) (ensure_ascii left on), so
// that cache files and meta.json stay readable by existing pipelines and
// diff cleanly against files the original wrote.
//
// It accepts what encoding/json accepts and follows its rules for struct
// tags, Marshaler, TextMarshaler, map keys and []byte. It differs where
// Python differs: every object's keys are sorted (struct fields too), the
// output is indented, all non-ASCII is \u-escaped, '<', '>' and '&' are
// not, and floats are written as Python's repr writes them (1.0, 1e+16).
package pyjson

import (
	"bytes"
	"encoding"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxDepth bounds nesting so that a pointer cycle fails instead of
// overflowing the stack; it matches encoding/json's decoder limit.
const maxDepth = 10000

// Marshal encodes v (anything encoding/json can marshal) as the original
// tool wrote JSON: keys sorted by code point, two-space indent, ": " after
// keys, ",\n" between items, "[]" and "{}" when empty, non-ASCII as
// lowercase \uXXXX (surrogate pairs above U+FFFF), no trailing newline.
// NaN and infinite floats are an error, as in encoding/json (Python would
// write NaN/Infinity, which no JSON parser here would read back).
func Marshal(v any) ([]byte, error) {
	e := &encoder{}
	if err := e.value(reflect.ValueOf(v), 0, false); err != nil {
		return nil, err
	}
	return e.buf.Bytes(), nil
}

// Reformat re-encodes the JSON value in data the way Marshal does, keeping
// numbers exactly as written. Duplicate keys keep the last value, as
// Python's json.loads does.
func Reformat(data []byte) ([]byte, error) {
	tree, err := decode(data)
	if err != nil {
		return nil, err
	}
	e := &encoder{}
	if err := e.tree(tree, 0); err != nil {
		return nil, err
	}
	return e.buf.Bytes(), nil
}

// decode parses exactly one JSON value, numbers kept as json.Number.
func decode(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, fmt.Errorf("pyjson: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("pyjson: invalid JSON: data after the top-level value")
	}
	return tree, nil
}

type encoder struct {
	buf bytes.Buffer
	// nesting counts value calls in progress, pointers and interfaces
	// included, to stop at maxDepth; indent depth is passed separately.
	nesting int
}

var (
	marshalerType     = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	numberType        = reflect.TypeFor[json.Number]()
)

func (e *encoder) newline(depth int) {
	e.buf.WriteByte('\n')
	for range depth {
		e.buf.WriteString("  ")
	}
}

// tree encodes a decoded JSON tree (the output of decode).
func (e *encoder) tree(v any, depth int) error {
	if depth > maxDepth {
		return errors.New("pyjson: nesting too deep")
	}
	switch x := v.(type) {
	case nil:
		e.buf.WriteString("null")
	case bool:
		e.buf.WriteString(strconv.FormatBool(x))
	case string:
		writeString(&e.buf, x)
	case json.Number:
		e.buf.WriteString(string(x))
	case []any:
		if len(x) == 0 {
			e.buf.WriteString("[]")
			return nil
		}
		e.buf.WriteByte('[')
		for i, item := range x {
			if i > 0 {
				e.buf.WriteByte(',')
			}
			e.newline(depth + 1)
			if err := e.tree(item, depth+1); err != nil {
				return err
			}
		}
		e.newline(depth)
		e.buf.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return e.object(keys, depth, func(i int) error {
			return e.tree(x[keys[i]], depth+1)
		})
	default:
		return fmt.Errorf("pyjson: unexpected %T in decoded JSON", v)
	}
	return nil
}

// object writes an object whose keys are already sorted; value(i) writes
// the value of keys[i].
func (e *encoder) object(keys []string, depth int, value func(i int) error) error {
	if len(keys) == 0 {
		e.buf.WriteString("{}")
		return nil
	}
	e.buf.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			e.buf.WriteByte(',')
		}
		e.newline(depth + 1)
		writeString(&e.buf, k)
		e.buf.WriteString(": ")
		if err := value(i); err != nil {
			return err
		}
	}
	e.newline(depth)
	e.buf.WriteByte('}')
	return nil
}

// writeString writes s as a JSON string the way Python's ensure_ascii
// encoder does: only printable ASCII is written as is. Invalid UTF-8 bytes
// become U+FFFD, as encoding/json does (Python strings cannot hold them).
func writeString(b *bytes.Buffer, s string) { writeJSONString(b, s, true) }

// writeJSONString is writeString, or with ascii false the same escapes
// but non-ASCII characters kept as UTF-8.
func writeJSONString(b *bytes.Buffer, s string, ascii bool) {
	const hexDigits = "0123456789abcdef"
	u4 := func(r rune) {
		b.WriteString(`\u`)
		b.WriteByte(hexDigits[r>>12&0xf])
		b.WriteByte(hexDigits[r>>8&0xf])
		b.WriteByte(hexDigits[r>>4&0xf])
		b.WriteByte(hexDigits[r&0xf])
	}
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			switch c {
			case '"':
				b.WriteString(`\"`)
			case '\\':
				b.WriteString(`\\`)
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			case '\t':
				b.WriteString(`\t`)
			case '\b':
				b.WriteString(`\b`)
			case '\f':
				b.WriteString(`\f`)
			default:
				if c < 0x20 || c == 0x7f {
					u4(rune(c))
				} else {
					b.WriteByte(c)
				}
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if !ascii {
			b.WriteRune(r)
			continue
		}
		if r > 0xffff {
			// UTF-16 surrogate pair, as Python writes astral characters.
			r -= 0x10000
			u4(0xd800 + r>>10)
			u4(0xdc00 + r&0x3ff)
			continue
		}
		u4(r)
	}
	b.WriteByte('"')
}

// value encodes v following encoding/json's rules for which encoding a
// type gets. quoted is the ",string" struct tag option.
func (e *encoder) value(v reflect.Value, depth int, quoted bool) error {
	e.nesting++
	defer func() { e.nesting-- }()
	if e.nesting > maxDepth {
		return errors.New("pyjson: nesting too deep (pointer cycle?)")
	}
	if !v.IsValid() {
		e.buf.WriteString("null")
		return nil
	}
	t := v.Type()

	// Marshalers first, a pointer receiver only when addressable, in the
	// same order as encoding/json.
	if t.Kind() != reflect.Pointer && v.CanAddr() && reflect.PointerTo(t).Implements(marshalerType) {
		return e.marshaler(v.Addr(), depth)
	}
	if t.Implements(marshalerType) {
		return e.marshaler(v, depth)
	}
	if t.Kind() != reflect.Pointer && v.CanAddr() && reflect.PointerTo(t).Implements(textMarshalerType) {
		return e.textMarshaler(v.Addr())
	}
	if t.Implements(textMarshalerType) {
		return e.textMarshaler(v)
	}

	switch t.Kind() {
	case reflect.Bool:
		e.quotedScalar(strconv.FormatBool(v.Bool()), quoted)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.quotedScalar(strconv.FormatInt(v.Int(), 10), quoted)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		e.quotedScalar(strconv.FormatUint(v.Uint(), 10), quoted)
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return &json.UnsupportedValueError{Value: v, Str: strconv.FormatFloat(f, 'g', -1, t.Bits())}
		}
		e.quotedScalar(formatFloat(f, t.Bits()), quoted)
	case reflect.String:
		if t == numberType {
			n := v.String()
			if n == "" {
				n = "0" // as encoding/json does
			}
			if !isValidNumber(n) {
				return fmt.Errorf("pyjson: invalid number literal %q", n)
			}
			e.quotedScalar(n, quoted)
			return nil
		}
		if quoted {
			// The inner encoding keeps UTF-8 so that the outer one
			// escapes it once: the decoded string then matches
			// encoding/json's.
			var inner bytes.Buffer
			writeJSONString(&inner, v.String(), false)
			writeString(&e.buf, inner.String())
			return nil
		}
		writeString(&e.buf, v.String())
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			e.buf.WriteString("null")
			return nil
		}
		return e.value(v.Elem(), depth, quoted)
	case reflect.Struct:
		return e.structValue(v, depth)
	case reflect.Map:
		return e.mapValue(v, depth)
	case reflect.Slice:
		if v.IsNil() {
			e.buf.WriteString("null")
			return nil
		}
		if t.Elem().Kind() == reflect.Uint8 {
			p := reflect.PointerTo(t.Elem())
			if !p.Implements(marshalerType) && !p.Implements(textMarshalerType) {
				writeString(&e.buf, base64.StdEncoding.EncodeToString(v.Bytes()))
				return nil
			}
		}
		return e.array(v, depth)
	case reflect.Array:
		return e.array(v, depth)
	default:
		return &json.UnsupportedTypeError{Type: t}
	}
	return nil
}

func (e *encoder) quotedScalar(s string, quoted bool) {
	if quoted {
		e.buf.WriteByte('"')
		e.buf.WriteString(s)
		e.buf.WriteByte('"')
		return
	}
	e.buf.WriteString(s)
}

// marshaler re-lays out a MarshalJSON result (json.RawMessage included) in
// our format, keeping its numbers as written.
func (e *encoder) marshaler(v reflect.Value, depth int) error {
	if v.Kind() == reflect.Pointer && v.IsNil() {
		e.buf.WriteString("null")
		return nil
	}
	m, ok := v.Interface().(json.Marshaler)
	if !ok { // a nil interface value
		e.buf.WriteString("null")
		return nil
	}
	raw, err := m.MarshalJSON()
	if err != nil {
		return &json.MarshalerError{Type: v.Type(), Err: err}
	}
	tree, err := decode(raw)
	if err != nil {
		return &json.MarshalerError{Type: v.Type(), Err: err}
	}
	return e.tree(tree, depth)
}

func (e *encoder) textMarshaler(v reflect.Value) error {
	if v.Kind() == reflect.Pointer && v.IsNil() {
		e.buf.WriteString("null")
		return nil
	}
	m, ok := v.Interface().(encoding.TextMarshaler)
	if !ok {
		e.buf.WriteString("null")
		return nil
	}
	text, err := m.MarshalText()
	if err != nil {
		return &json.MarshalerError{Type: v.Type(), Err: err}
	}
	writeString(&e.buf, string(text))
	return nil
}

func (e *encoder) array(v reflect.Value, depth int) error {
	n := v.Len()
	if n == 0 {
		e.buf.WriteString("[]")
		return nil
	}
	e.buf.WriteByte('[')
	for i := range n {
		if i > 0 {
			e.buf.WriteByte(',')
		}
		e.newline(depth + 1)
		if err := e.value(v.Index(i), depth+1, false); err != nil {
			return err
		}
	}
	e.newline(depth)
	e.buf.WriteByte(']')
	return nil
}

func (e *encoder) mapValue(v reflect.Value, depth int) error {
	if v.IsNil() {
		e.buf.WriteString("null")
		return nil
	}
	kt := v.Type().Key()
	switch kt.Kind() {
	case reflect.String,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
	default:
		if !kt.Implements(textMarshalerType) {
			return &json.UnsupportedTypeError{Type: v.Type()}
		}
	}
	type member struct {
		key string
		val reflect.Value
	}
	members := make([]member, 0, v.Len())
	for it := v.MapRange(); it.Next(); {
		k, err := mapKey(it.Key())
		if err != nil {
			return err
		}
		members = append(members, member{k, it.Value()})
	}
	// Sort by the key as written: invalid UTF-8 is written as U+FFFD, and
	// Python sorts what it writes. Byte order of valid UTF-8 is code point
	// order.
	slices.SortFunc(members, func(a, b member) int { return strings.Compare(a.key, b.key) })
	keys := make([]string, len(members))
	for i, m := range members {
		keys[i] = m.key
	}
	return e.object(keys, depth, func(i int) error {
		return e.value(members[i].val, depth+1, false)
	})
}

// mapKey resolves a map key to its JSON string as encoding/json does, with
// invalid UTF-8 already replaced so that sorting sees what is written.
func mapKey(k reflect.Value) (string, error) {
	var s string
	switch {
	case k.Kind() == reflect.String:
		s = k.String()
	case k.Type().Implements(textMarshalerType):
		if k.Kind() == reflect.Pointer && k.IsNil() {
			return "", nil
		}
		text, err := k.Interface().(encoding.TextMarshaler).MarshalText()
		if err != nil {
			return "", &json.MarshalerError{Type: k.Type(), Err: err}
		}
		s = string(text)
	case k.CanInt():
		s = strconv.FormatInt(k.Int(), 10)
	default:
		s = strconv.FormatUint(k.Uint(), 10)
	}
	return validUTF8(s), nil
}

// validUTF8 replaces each invalid byte with U+FFFD, as encoding/json does
// (strings.ToValidUTF8 would merge runs of them).
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r)
	}
	return b.String()
}

func (e *encoder) structValue(v reflect.Value, depth int) error {
	fields := cachedFields(v.Type())
	type member struct {
		f   *field
		val reflect.Value
	}
	members := make([]member, 0, len(fields))
	for i := range fields {
		f := &fields[i]
		fv, ok := fieldByIndex(v, f.index)
		if !ok {
			continue // behind a nil embedded pointer
		}
		if f.omitEmpty && isEmptyValue(fv) {
			continue
		}
		if f.omitZero && f.isZero(fv) {
			continue
		}
		members = append(members, member{f, fv})
	}
	keys := make([]string, len(members))
	for i, m := range members {
		keys[i] = m.f.name
	}
	return e.object(keys, depth, func(i int) error {
		return e.value(members[i].val, depth+1, members[i].f.quoted)
	})
}

// fieldByIndex walks index like reflect.Value.FieldByIndex but reports
// false instead of panicking at a nil embedded pointer.
func fieldByIndex(v reflect.Value, index []int) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, true
}

func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64,
		reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

// isValidNumber reports whether s is a JSON number literal and nothing
// else (no surrounding space), the check encoding/json makes for Number.
func isValidNumber(s string) bool {
	digits := func() int {
		n := 0
		for n < len(s) && '0' <= s[n] && s[n] <= '9' {
			n++
		}
		s = s[n:]
		return n
	}
	if s != "" && s[0] == '-' {
		s = s[1:]
	}
	switch {
	case s == "":
		return false
	case s[0] == '0':
		s = s[1:]
	case '1' <= s[0] && s[0] <= '9':
		digits()
	default:
		return false
	}
	if s != "" && s[0] == '.' {
		s = s[1:]
		if digits() == 0 {
			return false
		}
	}
	if s != "" && (s[0] == 'e' || s[0] == 'E') {
		s = s[1:]
		if s != "" && (s[0] == '+' || s[0] == '-') {
			s = s[1:]
		}
		if digits() == 0 {
			return false
		}
	}
	return s == ""
}
