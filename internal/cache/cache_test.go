package cache

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	s := New(t.TempDir())
	if data, ok, err := s.Read("pshtt", "example.gov"); err != nil || ok || data != nil {
		t.Fatalf("empty cache: %q, %v, %v", data, ok, err)
	}
	want := []byte("{\n  \"Live\": true\n}")
	if err := s.Write("pshtt", "example.gov", want); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(s.Dir, "pshtt", "example.gov.json")
	if s.Path("pshtt", "example.gov") != path {
		t.Errorf("Path = %q, want %q", s.Path("pshtt", "example.gov"), path)
	}
	for _, read := range []func(string, string) ([]byte, bool, error){s.Read, s.Lookup} {
		data, ok, err := read("pshtt", "example.gov")
		if err != nil || !ok || !bytes.Equal(data, want) {
			t.Errorf("read back %q, %v, %v", data, ok, err)
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode())
	}
}

func TestReplace(t *testing.T) {
	s := New(t.TempDir())
	for _, v := range []string{"first, and longer", "second"} {
		if err := s.Write("x", "a.gov", []byte(v)); err != nil {
			t.Fatal(err)
		}
		if data, _, _ := s.Read("x", "a.gov"); string(data) != v {
			t.Errorf("got %q, want %q", data, v)
		}
	}
	entries, err := os.ReadDir(filepath.Join(s.Dir, "x"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "a.gov.json" {
		t.Errorf("directory holds %v", entries)
	}

	// The scanner directory removed behind the Store's back is remade.
	if err := os.RemoveAll(filepath.Join(s.Dir, "x")); err != nil {
		t.Fatal(err)
	}
	if err := s.Write("x", "a.gov", []byte("third")); err != nil {
		t.Fatalf("after removal: %v", err)
	}
}

func TestInvalid(t *testing.T) {
	s := New(t.TempDir())
	if err := s.WriteInvalid("sslyze", "bad.gov"); err != nil {
		t.Fatal(err)
	}
	data, ok, err := s.Read("sslyze", "bad.gov")
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if string(data) != "{\n  \"invalid\": true\n}" {
		t.Errorf("marker %q", data)
	}
	tests := []struct {
		in   string
		want bool
	}{
		{"{\n  \"invalid\": true\n}", true},
		{`{"invalid":true,"other":1}`, true},
		{` {"\u0069nvalid": 1} `, true},
		{`{"invalid": "yes"}`, true},
		{`{"invalid": [0]}`, true},
		{`{"invalid": {"a": null}}`, true},
		{`{"invalid": 1e400}`, true},
		{`{"invalid": false}`, false},
		{`{"invalid": null}`, false},
		{`{"invalid": 0}`, false},
		{`{"invalid": -0.0}`, false},
		{`{"invalid": 1e-400}`, false},
		{`{"invalid": ""}`, false},
		{`{"invalid": []}`, false},
		{`{"invalid": {}}`, false},
		{`{"invalid": true, "invalid": false}`, false},
		{`{"Invalid": true}`, false},
		{`{"valid": true}`, false},
		{`[{"invalid": true}]`, false},
		{`true`, false},
		{`{"invalid": true`, false},
		{``, false},
	}
	for _, tt := range tests {
		if got := IsInvalid([]byte(tt.in)); got != tt.want {
			t.Errorf("IsInvalid(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestBadNames(t *testing.T) {
	s := New(t.TempDir())
	bad := []string{"", ".", "..", "a/b", `a\b`, "../x", "a\x00b"}
	for _, name := range bad {
		if err := s.Write(name, "ok.gov", nil); err == nil {
			t.Errorf("Write scanner %q: no error", name)
		}
		if err := s.Write("ok", name, nil); err == nil {
			t.Errorf("Write domain %q: no error", name)
		}
		if _, _, err := s.Read(name, "ok.gov"); err == nil {
			t.Errorf("Read scanner %q: no error", name)
		}
		if _, _, err := s.Lookup("ok", name); err == nil {
			t.Errorf("Lookup domain %q: no error", name)
		}
	}
	// Dots inside names are fine: domains are full of them.
	if err := s.Write("ok", "..a.gov", []byte("{}")); err != nil {
		t.Error(err)
	}
	entries, _ := os.ReadDir(s.Dir)
	if len(entries) != 1 || entries[0].Name() != "ok" {
		t.Errorf("cache dir holds %v", entries)
	}
}

func TestConcurrent(t *testing.T) {
	s := New(t.TempDir())
	const writers, rounds = 16, 50
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range rounds {
				scanner := fmt.Sprintf("s%d", i%3)
				// Own key, and a key every writer fights over.
				own := fmt.Sprintf("w%d.gov", w)
				if err := s.Write(scanner, own, []byte(own)); err != nil {
					t.Error(err)
					return
				}
				shared := bytes.Repeat([]byte{byte('a' + w)}, 4096)
				if err := s.Write(scanner, "shared.gov", shared); err != nil {
					t.Error(err)
					return
				}
				// A reader sees some writer's whole value, never a mix.
				data, ok, err := s.Read(scanner, "shared.gov")
				if err != nil || !ok || len(data) != 4096 || bytes.Count(data, data[:1]) != 4096 {
					t.Errorf("torn read: %d bytes, ok %v, err %v", len(data), ok, err)
					return
				}
			}
		})
	}
	wg.Wait()
	for i := range 3 {
		dir := filepath.Join(s.Dir, fmt.Sprintf("s%d", i))
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != writers+1 {
			t.Errorf("%s: %d entries, want %d (temp files left?)", dir, len(entries), writers+1)
		}
		for w := range writers {
			name := fmt.Sprintf("w%d.gov", w)
			if data, _, _ := s.Read(fmt.Sprintf("s%d", i), name); string(data) != name {
				t.Errorf("%s/%s = %q", dir, name, data)
			}
		}
	}
}
