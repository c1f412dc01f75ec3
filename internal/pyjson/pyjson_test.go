package pyjson

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Expected strings below were written by hand from Python's rules and
// checked against python3: json.dumps(v, sort_keys=True, indent=2).
func TestMarshal(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"python example", map[string]any{"b": []any{1, map[string]any{}}, "a": "é\n"},
			"{\n  \"a\": \"\\u00e9\\n\",\n  \"b\": [\n    1,\n    {}\n  ]\n}"},
		{"invalid marker", map[string]bool{"invalid": true}, "{\n  \"invalid\": true\n}"},
		{"null", nil, "null"},
		{"string", "x", `"x"`},
		{"empty list", []any{}, "[]"},
		{"nil slice", []string(nil), "null"},
		{"empty object", map[string]any{}, "{}"},
		{"nil map", map[string]int(nil), "null"},
		{"escapes", "<>&\"\\/\b\f\n\r\t\x00\x1f\x7f é€😀",
			`"<>&\"\\/\b\f\n\r\t\u0000\u001f\u007f \u00e9\u20ac\ud83d\ude00"`},
		{"invalid utf8", "a\xffb", `"a\ufffdb"`},
		{"key order by code point", map[string]int{"b": 1, "B": 2, "a": 3, "é": 4, "z": 5, "aa": 6, "": 7},
			"{\n  \"\": 7,\n  \"B\": 2,\n  \"a\": 3,\n  \"aa\": 6,\n  \"b\": 1,\n  \"z\": 5,\n  \"\\u00e9\": 4\n}"},
		{"nested empties", map[string]any{"x": []any{[]any{}, map[string]any{}, []any{[]any{}}, map[string]any{"y": nil}}, "t": true, "f": false},
			"{\n  \"f\": false,\n  \"t\": true,\n  \"x\": [\n    [],\n    {},\n    [\n      []\n    ],\n    {\n      \"y\": null\n    }\n  ]\n}"},
		{"floats", []float64{1, 0.1, 1e16, 1e-05, 0.0001, 1e15, math.Copysign(0, -1), 1.5e300, 5e-324, 123456789.125, 1 << 53},
			"[\n  1.0,\n  0.1,\n  1e+16,\n  1e-05,\n  0.0001,\n  1000000000000000.0,\n  -0.0,\n  1.5e+300,\n  5e-324,\n  123456789.125,\n  9007199254740992.0\n]"},
		{"float32 shortest", []float32{0.1, 1}, "[\n  0.1,\n  1.0\n]"},
		{"ints", []any{int8(-8), uint64(math.MaxUint64), int64(math.MinInt64)},
			"[\n  -8,\n  18446744073709551615,\n  -9223372036854775808\n]"},
		{"json.Number kept", []json.Number{"1E5", "-0", "1.50", ""}, "[\n  1E5,\n  -0,\n  1.50,\n  0\n]"},
		{"raw message relaid out", json.RawMessage(`{"b": [ 1.0e0 ,2], "a":{"c":"<"}}`),
			"{\n  \"a\": {\n    \"c\": \"<\"\n  },\n  \"b\": [\n    1.0e0,\n    2\n  ]\n}"},
		{"nil raw message", struct{ R json.RawMessage }{}, "{\n  \"R\": null\n}"},
		{"bytes base64", []byte("hi"), `"aGk="`},
		{"byte array is a list", [2]byte{1, 2}, "[\n  1,\n  2\n]"},
		{"int keys sorted as strings", map[int]string{10: "a", 9: "b", -1: "c"},
			"{\n  \"-1\": \"c\",\n  \"10\": \"a\",\n  \"9\": \"b\"\n}"},
		{"time via MarshalJSON", time.Date(2018, 3, 25, 15, 1, 46, 123000000, time.UTC), `"2018-03-25T15:01:46.123Z"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Marshal(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

type Inner struct {
	Shared string `json:"shared"`
	Deep   int
}

type TaggedInner struct {
	Tagged string `json:"Deep"`
}

type (
	conflictA struct{ X, Y int }
	conflictB struct{ X, Z int }
	hidden    struct{ Exp int }
)

type textKey struct{ s string }

func (k textKey) MarshalText() ([]byte, error) { return []byte("k-" + k.s), nil }

type ptrMarshaler struct{ n int }

func (p *ptrMarshaler) MarshalJSON() ([]byte, error) { return []byte(`{"n":1.50}`), nil }

type zeroer struct{ v int }

func (z zeroer) IsZero() bool { return z.v < 0 }

type structs struct {
	Inner
	*TaggedInner
	Zebra     string            `json:"zebra"`
	Apple     float64           `json:"apple"`
	Skip      string            `json:"-"`
	Dash      string            `json:"-,"`
	Empty     string            `json:",omitempty"`
	Nil       *int              `json:"nil,omitempty"`
	Zero      time.Time         `json:"zero,omitzero"`
	Custom    zeroer            `json:"custom,omitzero"`
	Quoted    int               `json:"quoted,string"`
	QuotedStr string            `json:"qs,string"`
	Bad       string            `json:"bad\"name"`
	Keys      map[textKey]int   `json:"keys"`
	Ptr       ptrMarshaler      `json:"ptr"`
	Any       any               `json:"any"`
	Raw       json.RawMessage   `json:"raw"`
	Strs      map[string]string `json:"strs"`
	unexp     int
}

func sample() structs {
	return structs{
		Inner:       Inner{Shared: "s", Deep: 3},
		TaggedInner: &TaggedInner{Tagged: "tagged wins"},
		Zebra:       "z", Apple: 2, Skip: "no", Dash: "d", Custom: zeroer{-1},
		Quoted: 7, QuotedStr: "é", Bad: "b",
		Keys: map[textKey]int{{"b"}: 2, {"a"}: 1},
		Any:  []any{1.0, "x"}, Raw: json.RawMessage(`[]`),
		Strs: map[string]string{"y": "<&>"}, unexp: 1,
	}
}

func TestMarshalStruct(t *testing.T) {
	want := `{
  "-": "d",
  "Bad": "b",
  "Deep": "tagged wins",
  "any": [
    1.0,
    "x"
  ],
  "apple": 2.0,
  "keys": {
    "k-a": 1,
    "k-b": 2
  },
  "ptr": {
    "n": 1.50
  },
  "qs": "\"\u00e9\"",
  "quoted": "7",
  "raw": [],
  "shared": "s",
  "strs": {
    "y": "<&>"
  },
  "zebra": "z"
}`
	// Addressable, so the pointer-receiver MarshalJSON is used, as in
	// encoding/json.
	s := sample()
	got, err := Marshal(&s)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestMarshalMatchesEncodingJSON checks that Marshal picks the same fields
// and values as encoding/json: only layout and number spelling differ.
func TestMarshalMatchesEncodingJSON(t *testing.T) {
	s := sample()
	values := []any{
		s, &s,
		struct{ Inner }{Inner{"a", 1}},
		struct {
			*Inner
			X int
		}{nil, 1},
		struct {
			A Inner
			B *Inner `json:"b,omitempty"`
			C []Inner
		}{C: []Inner{{}, {"x", 2}}},
		struct {
			conflictA
			conflictB
			hidden
		}{conflictA{1, 2}, conflictB{3, 4}, hidden{5}},
		struct {
			conflictA
			X string
		}{conflictA{1, 2}, "outer wins"},
		map[string]any{"n": json.Number("12345678901234567890"), "f": 0.1},
		[]any{nil, true, "x", 1e300, []byte{0, 255}},
	}
	for i, v := range values {
		ours, err := Marshal(v)
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		theirs, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		var a, b any
		if err := json.Unmarshal(ours, &a); err != nil {
			t.Fatalf("%d: ours is not JSON: %v\n%s", i, err, ours)
		}
		if err := json.Unmarshal(theirs, &b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%d: ours %s\ntheirs %s", i, ours, theirs)
		}
	}
}

func TestMarshalErrors(t *testing.T) {
	type cycle struct{ Next *cycle }
	c := &cycle{}
	c.Next = c
	for name, v := range map[string]any{
		"nan":        math.NaN(),
		"inf":        []float64{math.Inf(1)},
		"chan":       make(chan int),
		"bad number": json.Number("1 "),
		"bad raw":    json.RawMessage(`{`),
		"cycle":      c,
		"func key":   map[[2]int]int{{1, 2}: 3},
	} {
		if got, err := Marshal(v); err == nil {
			t.Errorf("%s: no error, got %s", name, got)
		}
	}
}

func TestReformat(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"b":[1,{}],"a":"\u00e9\n"}`, "{\n  \"a\": \"\\u00e9\\n\",\n  \"b\": [\n    1,\n    {}\n  ]\n}"},
		{` {"invalid":true} `, "{\n  \"invalid\": true\n}"},
		{`[1.0, 1e5, -0, 12345678901234567890123]`, "[\n  1.0,\n  1e5,\n  -0,\n  12345678901234567890123\n]"},
		{`{"a":1,"a":2}`, "{\n  \"a\": 2\n}"},
		{`"<\/>"`, `"</>"`},
		{`"😀"`, `"\ud83d\ude00"`},
		{`[[],{}]`, "[\n  [],\n  {}\n]"},
	}
	for _, tt := range tests {
		got, err := Reformat([]byte(tt.in))
		if err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		if string(got) != tt.want {
			t.Errorf("%s: got\n%s\nwant\n%s", tt.in, got, tt.want)
		}
	}
	for _, bad := range []string{``, `{`, `[1] [2]`, `{"a":1}x`, `nul`} {
		if got, err := Reformat([]byte(bad)); err == nil {
			t.Errorf("%q: no error, got %s", bad, got)
		}
	}
}

func TestFormatFloat(t *testing.T) {
	for f, want := range map[float64]string{
		1: "1.0", 0.1: "0.1", 1e16: "1e+16", 1e-05: "1e-05", 0.0001: "0.0001",
		1e22: "1e+22", 2.5e-05: "2.5e-05", 100: "100.0", 1234567890123456: "1234567890123456.0",
		12345678901234567: "1.2345678901234568e+16", math.MaxFloat64: "1.7976931348623157e+308",
		-1.5: "-1.5", 0.3: "0.3", 1e100: "1e+100", 1.25e-7: "1.25e-07",
		math.Inf(1): "inf", math.Inf(-1): "-inf", 0: "0.0",
	} {
		if got := FormatFloat(f); got != want {
			t.Errorf("FormatFloat(%g) = %q, want %q", f, got, want)
		}
	}
	if got := FormatFloat(math.NaN()); got != "nan" {
		t.Errorf("nan: %q", got)
	}
}

func FuzzReformat(f *testing.F) {
	for _, s := range []string{`{"b":[1,{}],"a":"é\n"}`, `[1.0,-0,1e5]`, `"\ud83d\ude00"`, `null`, `{"a":{"a":[{}]}}`, `"\ud800"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if !json.Valid(in) {
			return
		}
		out, err := Reformat(in)
		if err != nil {
			t.Fatalf("Reformat(%q): %v", in, err)
		}
		if !json.Valid(out) {
			t.Fatalf("Reformat(%q) = %q: not JSON", in, out)
		}
		for _, c := range out {
			if c > 0x7e || (c < 0x20 && c != '\n') {
				t.Fatalf("Reformat(%q) = %q: byte %#x", in, out, c)
			}
		}
		if a, b := decodeNumbers(t, in), decodeNumbers(t, out); !reflect.DeepEqual(a, b) {
			t.Fatalf("Reformat(%q) = %q: decodes to %#v, want %#v", in, out, b, a)
		}
		if again, err := Reformat(out); err != nil || !bytes.Equal(again, out) {
			t.Fatalf("Reformat not idempotent on %q: %q, %v", out, again, err)
		}
	})
}

func decodeNumbers(t *testing.T, data []byte) any {
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}
