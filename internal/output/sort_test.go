package output

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func writeCSV(t *testing.T, path string, rows [][]string) {
	t.Helper()
	var buf bytes.Buffer
	w := NewCSVWriter(&buf)
	for _, r := range rows {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// sortedCopy is the expected result: header, then a stable sort by the
// first cell.
func sortedCopy(rows [][]string) [][]string {
	out := slices.Clone(rows)
	slices.SortStableFunc(out[1:], func(a, b []string) int { return strings.Compare(a[0], b[0]) })
	return out
}

func csvBytes(t *testing.T, rows [][]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewCSVWriter(&buf)
	for _, r := range rows {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSortCSV(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	header := []string{"Domain", "Base Domain", "Value"}
	// Many rows per domain (stability), quoted fields with newlines, a
	// lone empty field, non-ASCII, a leading space.
	rows := [][]string{header}
	domains := []string{"b.gov", "a.gov", "c.gov", "ä.gov", "A.gov", "a.gov.uk", " lead.gov", "z.gov"}
	for i := range 3000 {
		d := domains[rng.IntN(len(domains))]
		v := fmt.Sprintf("%s #%d", d, i)
		switch i % 7 {
		case 0:
			v += ",\"quoted\"\r\nsecond line\nthird"
		case 1:
			v = ""
		}
		rows = append(rows, []string{d, "base", v})
	}
	rows = append(rows, []string{"a.gov"}, []string{"a.gov", "", "", "extra"})
	want := csvBytes(t, sortedCopy(rows))

	for _, chunk := range []int{0, 1, 200, 4096, 1 << 20} {
		t.Run(fmt.Sprint("chunk=", chunk), func(t *testing.T) {
			dir := t.TempDir()
			tmp := t.TempDir()
			path := filepath.Join(dir, "demo.csv")
			writeCSV(t, path, rows)
			if err := os.Chmod(path, 0o640); err != nil {
				t.Fatal(err)
			}
			if err := SortCSV(path, tmp, chunk); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("sorted file differs (%d vs %d bytes)", len(got), len(want))
			}
			if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
				t.Errorf("mode %v, want 0640", fi.Mode())
			}
			for _, d := range []string{dir, tmp} {
				if entries, _ := os.ReadDir(d); len(entries) != map[string]int{dir: 1, tmp: 0}[d] {
					t.Errorf("%s: left %d entries", d, len(entries))
				}
			}
		})
	}
}

func TestSortCSVSmallFiles(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"header only", "Domain,Base Domain\r\n", "Domain,Base Domain\r\n"},
		{"header without newline", "Domain,Base Domain", "Domain,Base Domain\r\n"},
		{"one row", "Domain\r\nb\r\n", "Domain\r\nb\r\n"},
		{"blank line sorts first", "Domain\r\nb\r\n\r\na\r\n", "Domain\r\n\r\na\r\nb\r\n"},
		{"lone empty field", "Domain\r\nb\r\n\"\"\r\n", "Domain\r\n\"\"\r\nb\r\n"},
		{"header not special", "Z\r\nb,1\r\nDomain,2\r\n", "Z\r\nDomain,2\r\nb,1\r\n"},
	}
	for _, tt := range tests {
		for _, chunk := range []int{1, 0} {
			path := filepath.Join(t.TempDir(), "x.csv")
			if err := os.WriteFile(path, []byte(tt.in), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := SortCSV(path, t.TempDir(), chunk); err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if got, _ := os.ReadFile(path); string(got) != tt.want {
				t.Errorf("%s (chunk %d): got %q, want %q", tt.name, chunk, got, tt.want)
			}
		}
	}
	if err := SortCSV(filepath.Join(t.TempDir(), "missing.csv"), "", 0); err == nil {
		t.Error("missing file: no error")
	}
}
