package output

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

type cellStruct struct {
	B string `json:"b"`
	A int    `json:"a"`
}

// Expected values are Python's str() of the same values, checked with
// python3 (dicts written with sorted keys, as cached data had them).
func TestCell(t *testing.T) {
	str := "s"
	var nilPtr *int
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"nil", nil, ""},
		{"nil pointer", nilPtr, ""},
		{"true", true, "True"},
		{"false", false, "False"},
		{"string as is", "a,b 'q' \"x\"\n", "a,b 'q' \"x\"\n"},
		{"string pointer", &str, "s"},
		{"zero", 0, "0"},
		{"negative", -12, "-12"},
		{"uint64", uint64(math.MaxUint64), "18446744073709551615"},
		{"float integral", 1.0, "1.0"},
		{"float", 0.1, "0.1"},
		{"float big", 1e16, "1e+16"},
		{"float small", 1e-05, "1e-05"},
		{"float 100", 100.0, "100.0"},
		{"negative zero", math.Copysign(0, -1), "-0.0"},
		{"inf", math.Inf(1), "inf"},
		{"-inf", math.Inf(-1), "-inf"},
		{"nan", math.NaN(), "nan"},
		{"float32", float32(0.1), "0.1"},
		{"number as written", json.Number("1.50"), "1.50"},
		{"big number", json.Number("12345678901234567890"), "12345678901234567890"},
		{"string list", []string{"a", "b"}, "['a', 'b']"},
		{"mixed list", []any{1, true, nil}, "[1, True, None]"},
		{"empty list", []any{}, "[]"},
		{"nil list", []string(nil), "[]"},
		{"nested list", []any{[]any{}}, "[[]]"},
		{"dict sorted", map[string]any{"k": "v", "a": []any{1.5, map[string]any{"x": nil}}}, "{'a': [1.5, {'x': None}], 'k': 'v'}"},
		{"empty dict", map[string]any{}, "{}"},
		{"apostrophe", []string{"it's"}, `["it's"]`},
		{"double quotes", []string{`say "hi"`}, `['say "hi"']`},
		{"both quotes", []string{`both ' and "`}, `['both \' and "']`},
		{"escapes", []string{"back\\slash", "nl\n", "cr\r", "tab\t", "ctl\x01\x7f", "é", "\u00a0", "\u200b", "😀", "\U000e0001", "\u0085"},
			`['back\\slash', 'nl\n', 'cr\r', 'tab\t', 'ctl\x01\x7f', 'é', '\xa0', '\u200b', '😀', '\U000e0001', '\x85']`},
		{"number in list", []any{json.Number("1E5")}, "[1E5]"},
		{"time", time.Date(2018, 3, 25, 15, 1, 46, 0, time.UTC), "2018-03-25T15:01:46Z"},
		{"time in list", []time.Time{time.Date(2018, 3, 25, 15, 1, 46, 0, time.UTC)}, "['2018-03-25T15:01:46Z']"},
		{"struct as its JSON", cellStruct{B: "x", A: 1}, "{'a': 1, 'b': 'x'}"},
		{"structs in list", []cellStruct{{}}, "[{'a': 0, 'b': ''}]"},
		{"int keys as JSON strings", map[int]bool{2: true, 10: false}, "{'10': False, '2': True}"},
		{"bytes as base64", []byte("hi"), "aGk="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Cell(tt.in); got != tt.want {
				t.Errorf("Cell(%#v) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestTimestamp(t *testing.T) {
	tests := []struct {
		in   time.Time
		want string
	}{
		{time.Time{}, ""},
		{time.Date(2018, 3, 25, 15, 1, 46, 0, time.UTC), "2018-03-25T15:01:46Z"},
		{time.Date(2018, 3, 25, 15, 1, 46, 123000000, time.UTC), "2018-03-25T15:01:46.123Z"},
		{time.Date(2018, 3, 25, 15, 1, 46, 123456789, time.UTC), "2018-03-25T15:01:46.123457Z"},
		{time.Date(2018, 3, 25, 15, 1, 46, 999, time.UTC), "2018-03-25T15:01:46.000001Z"},
		{time.Date(2018, 3, 25, 15, 1, 46, 499, time.UTC), "2018-03-25T15:01:46Z"},
		{time.Date(2018, 3, 25, 15, 1, 46, 999999600, time.UTC), "2018-03-25T15:01:47Z"},
		{time.Date(2018, 3, 25, 15, 1, 46, 100000, time.UTC), "2018-03-25T15:01:46.0001Z"},
		{time.Date(2018, 3, 25, 11, 1, 46, 500000000, time.FixedZone("EDT", -4*3600)), "2018-03-25T15:01:46.5Z"},
	}
	for _, tt := range tests {
		if got := Timestamp(tt.in); got != tt.want {
			t.Errorf("Timestamp(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSeconds(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, "0.000000"},
		{100 * time.Second, "100.000000"},
		{1500 * time.Millisecond, "1.500000"},
		{time.Nanosecond * 1234567, "0.001235"},
		{time.Nanosecond * 499, "0.000000"},
		{-1500 * time.Microsecond, "-0.001500"},
		{36*time.Hour + 1, "129600.000000"},
	}
	for _, tt := range tests {
		if got := Seconds(tt.in); got != tt.want {
			t.Errorf("Seconds(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
