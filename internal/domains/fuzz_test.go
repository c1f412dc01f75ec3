package domains

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		"nasa.gov", " NASA.GOV. ", "bücher.de", "xn--bcher-kva.de", "xn--", "xn--a.b",
		"a..b", "-a.gov", "http://x.gov", "*.x.gov", "a b.gov", "_dmarc.x.gov",
		"\xff", "。", "a。", "ｅｘａｍｐｌｅ.com", "\u200d.gov", "ß.de", strings.Repeat("a.", 130),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := Normalize(raw)
		if err != nil {
			if got != "" {
				t.Fatalf("error %v with result %q", err, got)
			}
			return
		}
		// A result is plain lower-case ASCII within DNS limits...
		if err := checkASCII(got); err != nil {
			t.Fatalf("Normalize(%q) = %q, which fails its own check: %v", raw, got, err)
		}
		// ...and a fixed point.
		again, err := Normalize(got)
		if err != nil || again != got {
			t.Fatalf("Normalize(%q) = %q, but Normalize(%q) = %q, %v", raw, got, got, again, err)
		}
		_ = BaseDomain(got)
	})
}

func FuzzReadCSV(f *testing.F) {
	for _, s := range []string{
		messyCSV,
		"domain\na.gov\na.gov\nb.gov\n",
		"\"a.gov\nb.gov",
		"\"\"\"\n,\n\"x\"y,\"\n",
		"a.gov\rb.gov\r\n",
		"\ufeff\ufeffa.gov",
		"domain name,x\nDOMAIN NAME\n  domain  \n",
		"a.gov,b.gov\nA.GOV.\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, "in.csv")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		var invalid, dups int64
		l, err := Prepare(context.Background(), path, Options{
			SpoolDir:    dir,
			OnInvalid:   func(Issue) { invalid++ },
			OnDuplicate: func(Issue) { dups++ },
		})
		if err != nil {
			return // e.g. a record over the size cap; must just not panic
		}
		defer l.Close()
		s := l.Stats()
		if s.Entries != s.Valid+s.Invalid+s.Duplicates || s.Invalid != invalid || s.Duplicates != dups {
			t.Fatalf("stats %+v, reported %d invalid %d dups", s, invalid, dups)
		}
		seen := map[string]bool{}
		err = l.Range(func(d string) bool {
			if n, err := Normalize(d); err != nil || n != d || seen[d] {
				t.Fatalf("listed %q: normalises to %q, %v; seen before: %v", d, n, err, seen[d])
			}
			seen[d] = true
			return true
		})
		if err != nil || int64(len(seen)) != s.Valid {
			t.Fatalf("Range: %v, %d names, Valid %d", err, len(seen), s.Valid)
		}
	})
}
