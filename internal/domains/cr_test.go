package domains

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Old Mac exports end lines with a lone '\r'; Python's csv module split on
// it, and so must we.
func TestCROnlyLineEndings(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"cr", "Domain\ra.gov\rb.gov\r", "a.gov,b.gov"},
		{"crlf", "Domain\r\na.gov\r\nb.gov\r\n", "a.gov,b.gov"},
		{"mixed", "a.gov\rb.gov\r\nc.gov\nd.gov", "a.gov,b.gov,c.gov,d.gov"},
		{"cr with cells", "Domain Name,Agency\rA.gov,\"x, y\"\rb.gov,z\r", "a.gov,b.gov"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "in.csv")
			if err := os.WriteFile(path, []byte(tt.in), 0o644); err != nil {
				t.Fatal(err)
			}
			l, err := Prepare(context.Background(), path, Options{SpoolDir: dir})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			var got []string
			if err := l.Range(func(d string) bool { got = append(got, d); return true }); err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, ",") != tt.want || l.Stats().Invalid != 0 {
				t.Errorf("got %v (%+v), want %s", got, l.Stats(), tt.want)
			}
		})
	}
}

// A '\r' at the very end of one read must still be seen with the byte
// after it: feed the reader one byte at a time.
func TestCRToLFAcrossReads(t *testing.T) {
	in := "a\r\nb\rc\r\r\nd\r"
	r := &crToLF{r: bufio.NewReaderSize(oneByte{strings.NewReader(in)}, 16)}
	var out []byte
	buf := make([]byte, 1)
	for {
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			break
		}
	}
	if want := "a\r\nb\nc\n\r\nd\n"; string(out) != want {
		t.Errorf("got %q, want %q", out, want)
	}
}

type oneByte struct{ r *strings.Reader }

func (o oneByte) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return o.r.Read(p)
}
