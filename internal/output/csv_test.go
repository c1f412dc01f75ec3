package output

import (
	"bytes"
	"encoding/csv"
	"io"
	"reflect"
	"strings"
	"testing"
)

// Expected bytes are what Python's csv.writer(f).writerow writes, checked
// with python3.
func TestCSVWriter(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want string
	}{
		{"python sample", []string{"", " lead", "a,b", `q"q`, "x\ny", "c\rr", "", Cell(nil), Cell(true), Cell(1.5)},
			", lead,\"a,b\",\"q\"\"q\",\"x\ny\",\"c\rr\",,,True,1.5\r\n"},
		{"one empty field", []string{""}, "\"\"\r\n"},
		{"no fields", []string{}, "\r\n"},
		{"two empty fields", []string{"", ""}, ",\r\n"},
		{"space", []string{" "}, " \r\n"},
		{"quotes only", []string{`""`}, `""""""` + "\r\n"},
		{"unicode", []string{"é", "😀"}, "é,😀\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := NewCSVWriter(&buf)
			if err := w.Write(tt.in); err != nil {
				t.Fatal(err)
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			if got := buf.String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// Expected records are what Python's csv.reader gives (newline="").
func TestCSVReader(t *testing.T) {
	tests := []struct {
		in   string
		want [][]string
	}{
		{"", nil},
		{"a,b\r\nc\r\n", [][]string{{"a", "b"}, {"c"}}},
		{"a,b\nc", [][]string{{"a", "b"}, {"c"}}},
		{"a\rb\r\n", [][]string{{"a"}, {"b"}}},
		{"\r\n\n\"\"\r\n", [][]string{{}, {}, {""}}},
		{"a,\r\n,\n", [][]string{{"a", ""}, {"", ""}}},
		{"a,", [][]string{{"a", ""}}},
		{"\"x\r\ny\",\"q\"\"\",\"\"\r\n", [][]string{{"x\r\ny", `q"`, ""}}},
		{"a\"b,\"c\"d,\"open", [][]string{{`a"b`, "cd", "open"}}},
	}
	for _, tt := range tests {
		r := newCSVReader(strings.NewReader(tt.in))
		var got [][]string
		for {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%q: %v", tt.in, err)
			}
			got = append(got, rec)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: got %q, want %q", tt.in, got, tt.want)
		}
		if r.n != len(tt.in) {
			t.Errorf("%q: consumed %d bytes, want %d", tt.in, r.n, len(tt.in))
		}
	}
}

// fuzzRows splits s into records at '\x1e' and fields at '\x1f', so that
// the fuzzer controls both.
func fuzzRows(s string) [][]string {
	var rows [][]string
	for _, line := range strings.Split(s, "\x1e") {
		rows = append(rows, strings.Split(line, "\x1f"))
	}
	return rows
}

func FuzzCSVRoundTrip(f *testing.F) {
	for _, s := range []string{"a\x1fb", "", " x\x1f\"q\"\x1e,\x1f\r\n\x1e\r", "é\x1f😀\x1e\x1f", "\xff\"\x1f\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rows := fuzzRows(s)
		var buf bytes.Buffer
		w := NewCSVWriter(&buf)
		for _, row := range rows {
			if err := w.Write(row); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}

		// encoding/csv reads every record back, but for "\r\n" inside a
		// quoted field, which it documents it turns into "\n".
		cr := csv.NewReader(bytes.NewReader(buf.Bytes()))
		cr.FieldsPerRecord = -1
		got, err := cr.ReadAll()
		if err != nil {
			t.Fatalf("encoding/csv: %v on %q", err, buf.Bytes())
		}
		want := make([][]string, len(rows))
		for i, row := range rows {
			want[i] = make([]string, len(row))
			for j, f := range row {
				want[i][j] = strings.ReplaceAll(f, "\r\n", "\n")
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("encoding/csv read %q\nfrom %q\nwant %q", got, buf.Bytes(), want)
		}

		// Our reader, used by SortCSV, gives back every byte.
		r := newCSVReader(bytes.NewReader(buf.Bytes()))
		for i, row := range rows {
			rec, err := r.Read()
			if err != nil {
				t.Fatalf("record %d: %v", i, err)
			}
			if !reflect.DeepEqual(rec, row) {
				t.Fatalf("record %d: got %q, want %q", i, rec, row)
			}
		}
		if rec, err := r.Read(); err != io.EOF {
			t.Fatalf("extra record %q, %v", rec, err)
		}
	})
}
