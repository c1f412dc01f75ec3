package output

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/domainscan/domain-scan/internal/scan"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

type rowsResult [][]any

func (r rowsResult) Rows() [][]any { return r }

var demoInfo = scan.Info{
	Name:    "demo",
	Headers: []string{"Live", "Redirect To", "Score", "Tags", "Details"},
}

func demoRecords() []*scan.Record {
	start := time.Date(2018, 3, 25, 15, 1, 46, 123456789, time.UTC)
	at := func(d time.Duration) time.Time { return start.Add(d) }
	target := func(d, base string) scan.Target { return scan.Target{Domain: d, BaseDomain: base} }
	return []*scan.Record{
		{
			Scanner: "demo", Target: target("example.gov", "example.gov"),
			Status: scan.StatusOK, Source: scan.SourceLocal,
			Result: rowsResult{{true, "https://example.gov/", 1.0, []any{"a", "b"}, map[string]any{"k": "v", "n": nil}}},
			Start:  start, End: at(1500 * time.Millisecond),
		},
		{
			Scanner: "demo", Target: target("multi.example.gov", "example.gov"),
			Status: scan.StatusOK, Source: scan.SourceLocal,
			Result: rowsResult{
				{true, "a, \"quoted\"\nline", 2, []string{"it's"}, nil},
				{false, "unicode: é 😀", 1e-05, []any{}, map[string]any{}},
				{nil, " leading space", 1e16, []any{1, true, nil}, map[string]any{"z": []any{1.5}}},
			},
			Start: at(time.Second), End: at(time.Second + 100*time.Second),
		},
		{
			Scanner: "demo", Target: target("failed.gov", "failed.gov"),
			Status: scan.StatusFailed, Source: scan.SourceLocal,
			Errors: []string{"Scan returned nothing.", "Unknown exception: boom,\nbang"},
			Start:  at(2 * time.Second), End: at(2*time.Second + 30*time.Second),
		},
		{
			Scanner: "demo", Target: target("cache.gov", "cache.gov"),
			Status: scan.StatusOK, Source: scan.SourceCache,
			Result: rowsResult{{false, "", 0.1, []any{}, map[string]any{}}},
		},
		{
			Scanner: "demo", Target: target("cached-failure.gov", "cached-failure.gov"),
			Status: scan.StatusFailed, Source: scan.SourceCache,
			Errors: []string{"Scan returned nothing."},
		},
		{
			Scanner: "demo", Target: target("none.gov", "none.gov"),
			Status: scan.StatusOK, Source: scan.SourceLocal,
			Result: rowsResult{},
			Start:  at(3 * time.Second), End: at(3 * time.Second),
		},
		{
			Scanner: "demo", Target: target("skipped.gov", "skipped.gov"),
			Status: scan.StatusSkipped, Source: scan.SourceLocal,
		},
		{
			Scanner: "demo", Target: target("interrupted.gov", "interrupted.gov"),
			Status: scan.StatusInterrupted, Source: scan.SourceLocal,
			Errors: []string{"interrupted"}, Start: at(4 * time.Second),
		},
		{
			Scanner: "demo", Target: target("bücher.example", "bücher.example"),
			Status: scan.StatusOK, Source: scan.SourceLocal,
			Result: rowsResult{{true, "https://bücher.example/", 0.5, []string{"ü"}, map[string]any{"ключ": "значение"}}},
			Start:  at(5 * time.Second), End: at(5*time.Second + 250*time.Microsecond),
		},
	}
}

func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		file string
		meta bool
	}{
		{"demo.csv", false},
		{"demo_meta.csv", true},
	} {
		t.Run(tc.file, func(t *testing.T) {
			var buf bytes.Buffer
			w := NewCSVWriter(&buf)
			if err := w.Write(Header(demoInfo, tc.meta, false)); err != nil {
				t.Fatal(err)
			}
			for _, rec := range demoRecords() {
				rows, err := RecordRows(demoInfo, rec, tc.meta, false)
				if err != nil {
					t.Fatalf("%s: %v", rec.Domain, err)
				}
				for _, row := range rows {
					if err := w.Write(row); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tc.file)
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("output differs from %s (run with -update to accept)\ngot:\n%q\nwant:\n%q", path, buf.Bytes(), want)
			}
		})
	}
}

func TestHeader(t *testing.T) {
	info := scan.Info{Headers: []string{"A", "B"}}
	tests := []struct {
		meta, lambda bool
		want         string
	}{
		{false, false, "Domain|Base Domain|A|B"},
		{false, true, "Domain|Base Domain|A|B"},
		{true, false, "Domain|Base Domain|A|B|Local Errors|Local Start Time|Local End Time|Local Duration"},
		{true, true, "Domain|Base Domain|A|B|Local Errors|Local Start Time|Local End Time|Local Duration|" +
			"Lambda Request ID|Lambda Log Group Name|Lambda Log Stream Name|Lambda Start Time|Lambda End Time|Lambda Memory Limit|Lambda Measured Duration"},
	}
	for _, tt := range tests {
		h := Header(info, tt.meta, tt.lambda)
		if got := strings.Join(h, "|"); got != tt.want {
			t.Errorf("Header(meta=%v, lambda=%v) = %q, want %q", tt.meta, tt.lambda, got, tt.want)
		}
		h[0] = "changed"
		if PrefixHeaders[0] != "Domain" {
			t.Fatal("Header aliases PrefixHeaders")
		}
	}
}

func TestRecordRowsWidth(t *testing.T) {
	info := scan.Info{Name: "w", Headers: []string{"A", "B"}}
	rec := &scan.Record{
		Target: scan.Target{Domain: "d.gov", BaseDomain: "d.gov"},
		Status: scan.StatusOK,
		Result: rowsResult{{1}, {1, 2}, {1, 2, 3}},
	}
	rows, err := RecordRows(info, rec, false, false)
	want := [][]string{{"d.gov", "d.gov", "1", ""}, {"d.gov", "d.gov", "1", "2"}, {"d.gov", "d.gov", "1", "2"}}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("rows = %q, want %q", rows, want)
	}
	if err == nil || !strings.Contains(err.Error(), "row 0 has 1 cells, want 2") || !strings.Contains(err.Error(), "row 2 has 3 cells") {
		t.Errorf("err = %v", err)
	}
}
