package objstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/domainscan/domain-scan/internal/objstore/s3test"
)

func stores(t *testing.T) map[string]Store {
	s3test.Start(t)
	s3s, err := NewS3(context.Background(), "s3://bucket/some/prefix/", S3Options{})
	if err != nil {
		t.Fatal(err)
	}
	return map[string]Store{"dir": Dir{Root: t.TempDir()}, "s3": s3s}
}

func TestStores(t *testing.T) {
	ctx := context.Background()
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			if _, err := st.Get(ctx, "missing/key", 10); !errors.Is(err, ErrNotExist) {
				t.Errorf("Get of a missing key: %v", err)
			}
			if err := st.Put(ctx, "cache/pshtt/a.test.json", []byte(`{"a": 1}`)); err != nil {
				t.Fatal(err)
			}
			if err := st.Put(ctx, "cache/pshtt/a.test.json", []byte(`{"a": 2}`)); err != nil {
				t.Fatal(err)
			}
			got, err := st.Get(ctx, "cache/pshtt/a.test.json", 100)
			if err != nil || string(got) != `{"a": 2}` {
				t.Errorf("Get = %q, %v", got, err)
			}
			if _, err := st.Get(ctx, "cache/pshtt/a.test.json", 3); err == nil {
				t.Error("Get past max succeeded")
			}
			// A streamed object bigger than one part (8 MiB): multipart.
			big := make([]byte, 9<<20+123)
			rand.Read(big)
			w, err := st.Create(ctx, "results/big.csv")
			if err != nil {
				t.Fatal(err)
			}
			for off := 0; off < len(big); off += 1 << 16 {
				if _, err := w.Write(big[off:min(off+1<<16, len(big))]); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			got, err = st.Get(ctx, "results/big.csv", 64<<20)
			if err != nil || !bytes.Equal(got, big) {
				t.Errorf("big object: %d bytes back, %v", len(got), err)
			}
			small, _ := st.Create(ctx, "results/small.csv")
			small.Write([]byte("Domain\r\n"))
			if err := small.Close(); err != nil {
				t.Fatal(err)
			}
			var keys []string
			if err := st.List(ctx, "results/", func(k string) error { keys = append(keys, k); return nil }); err != nil {
				t.Fatal(err)
			}
			if len(keys) != 2 || keys[0] != "results/big.csv" || keys[1] != "results/small.csv" {
				t.Errorf("List = %v", keys)
			}
			// An aborted rewrite leaves the object as it was.
			w, _ = st.Create(ctx, "results/small.csv")
			w.Write([]byte("partial"))
			Abort(w, errors.New("collect failed"))
			if got, err := st.Get(ctx, "results/small.csv", 100); err != nil || string(got) != "Domain\r\n" {
				t.Errorf("after Abort: %q, %v", got, err)
			}
			if err := st.Delete(ctx, "results/small.csv"); err != nil {
				t.Fatal(err)
			}
			if err := st.Delete(ctx, "results/small.csv"); err != nil {
				t.Errorf("second Delete: %v", err)
			}
		})
	}
}

func TestParseS3(t *testing.T) {
	for _, tc := range []struct{ in, bucket, prefix string }{
		{"s3://b", "b", ""},
		{"s3://b/", "b", ""},
		{"s3://b/p/q/", "b", "p/q"},
	} {
		b, p, err := ParseS3(tc.in)
		if err != nil || b != tc.bucket || p != tc.prefix {
			t.Errorf("ParseS3(%q) = %q, %q, %v", tc.in, b, p, err)
		}
	}
	for _, bad := range []string{"s3://", "s3:///x", "/tmp/x"} {
		if _, _, err := ParseS3(bad); err == nil {
			t.Errorf("ParseS3(%q) accepted", bad)
		}
	}
}

func TestDirRejectsEscapes(t *testing.T) {
	d := Dir{Root: t.TempDir()}
	for _, k := range []string{"../x", "a/../../x", "/abs", "", "a//b"} {
		if err := d.Put(context.Background(), k, nil); err == nil {
			t.Errorf("Put(%q) accepted", k)
		}
	}
}
