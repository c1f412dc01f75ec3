package domains

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// checkSet adds names to a fresh set and compares every answer, and the
// spool contents, with a map.
func checkSet(t *testing.T, hash func(string) uint64, names []string) {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "spool")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sp := newSpool(f)
	s := newSet(sp)
	s.testHash = hash
	seen := map[string]bool{}
	var order []string
	for i, n := range names {
		added, err := s.add(n)
		if err != nil {
			t.Fatal(err)
		}
		if added == seen[n] {
			t.Fatalf("name %d %q: added=%v, already seen=%v", i, n, added, seen[n])
		}
		if added {
			seen[n] = true
			order = append(order, n)
		}
	}
	if s.n != len(order) {
		t.Fatalf("set counts %d, want %d", s.n, len(order))
	}
	if err := sp.flush(); err != nil {
		t.Fatal(err)
	}
	var got []string
	if err := lines(f, sp.size(), func(l []byte) bool { got = append(got, string(l)); return true }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "\n") != strings.Join(order, "\n") {
		t.Fatalf("spool holds %d names, want %d in first-occurrence order", len(got), len(order))
	}
}

// genNames makes n names drawn from distinct possible values, so the
// duplicate rate is controlled; lengths vary so lines straddle buffers.
func genNames(n, distinct int, seed uint64) []string {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]string, n)
	for i := range out {
		k := r.IntN(distinct)
		out[i] = fmt.Sprintf("%s%d.example.gov", strings.Repeat("w", k%7), k)
	}
	return out
}

func TestSetMaphash(t *testing.T) {
	checkSet(t, nil, genNames(200_000, 120_000, 1))
}

func TestSetTagCollisions(t *testing.T) {
	fnv64 := func(s string) uint64 {
		h := fnv.New64a()
		h.Write([]byte(s))
		return h.Sum64()
	}
	tests := []struct {
		name string
		hash func(string) uint64
		n    int
	}{
		// Same slot and same tag for everything: every probe compares.
		{"constant", func(string) uint64 { return 42 }, 3000},
		// Same tag, spread slots: tags never tell names apart.
		{"one tag", func(s string) uint64 { return 7<<40 | fnv64(s)&(1<<40-1) }, 20_000},
		// Few tags and few start slots: long clusters across several grows.
		{"few values", func(s string) uint64 { v := fnv64(s) % 13; return v<<40 | v }, 5000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkSet(t, tc.hash, genNames(tc.n, tc.n/2, 2))
		})
	}
}

func TestSpoolEqualAtStraddle(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "spool")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sp := newSpool(f)
	// Fill the buffer so "straddle.gov" is the last line in it, flush part
	// of the way by hand, then compare lines on disk, in the buffer and
	// across both.
	filler := strings.Repeat("x", 200)
	var offs []int64
	for sp.size() < spoolBuf-1000 {
		off, err := sp.append(filler)
		if err != nil {
			t.Fatal(err)
		}
		offs = append(offs, off)
	}
	last, _ := sp.append("straddle.gov")
	// Simulate a flush boundary inside the last line.
	keep := sp.buf[last-sp.bufStart+3:]
	if _, err := f.Write(sp.buf[:last-sp.bufStart+3]); err != nil {
		t.Fatal(err)
	}
	sp.bufStart = last + 3
	sp.buf = append(sp.buf[:0], keep...)

	for _, tc := range []struct {
		off  int64
		name string
		want bool
	}{
		{offs[0], filler, true},
		{offs[0], filler[:199], false},
		{offs[0], filler + "x", false},
		{last, "straddle.gov", true},
		{last, "straddle.go", false},
		{last, "straddle.gov2", false}, // reads past the end of the spool
	} {
		got, err := sp.equalAt(tc.off, tc.name)
		if err != nil || got != tc.want {
			t.Fatalf("equalAt(%d, %.20q) = %v, %v; want %v", tc.off, tc.name, got, err, tc.want)
		}
	}
}

func TestPrepareDedupe200k(t *testing.T) {
	names := genNames(200_000, 90_000, 3)
	distinct := map[string]bool{}
	var b strings.Builder
	b.WriteString("Domain Name\n")
	for i, n := range names {
		if i%3 == 0 {
			n = strings.ToUpper(n) + "." // same name, different spelling
		}
		b.WriteString(n + ",x\n")
		distinct[strings.ToLower(strings.TrimSuffix(n, "."))] = true
	}
	path := filepath.Join(t.TempDir(), "d.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	dups := int64(0)
	l, err := Prepare(context.Background(), path, Options{SpoolDir: t.TempDir(), OnDuplicate: func(Issue) { dups++ }})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	want := Stats{Entries: int64(len(names)), Valid: int64(len(distinct)), Duplicates: int64(len(names) - len(distinct))}
	if l.Stats() != want || dups != want.Duplicates {
		t.Fatalf("stats %+v (%d reported), want %+v", l.Stats(), dups, want)
	}
	seen := map[string]bool{}
	err = l.Range(func(d string) bool {
		if seen[d] || !distinct[d] {
			t.Fatalf("unexpected or repeated %q", d)
		}
		seen[d] = true
		return true
	})
	if err != nil || len(seen) != len(distinct) {
		t.Fatalf("Range: %v, %d names, want %d", err, len(seen), len(distinct))
	}
}
