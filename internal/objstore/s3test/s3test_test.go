package s3test

import (
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// TestCreateBucketTwice: the second of two auto-creations of one bucket
// (what concurrent first writes do) succeeds and keeps the first's
// objects; plain s3mem refuses it, which gofakes3 turns into NoSuchBucket.
func TestCreateBucketTwice(t *testing.T) {
	if err := s3mem.New().CreateBucket("b"); err != nil {
		t.Fatal(err)
	}
	plain := s3mem.New()
	plain.CreateBucket("b")
	if err := plain.CreateBucket("b"); err == nil {
		t.Fatal("s3mem accepts a second CreateBucket; the wrapper is no longer needed")
	}
	b := autoBackend{s3mem.New()}
	if err := b.CreateBucket("b"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.PutObject("b", "k", map[string]string{}, strings.NewReader("x"), 1, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.CreateBucket("b"); err != nil {
		t.Errorf("second CreateBucket: %v", err)
	}
	if ok, _ := b.BucketExists("b"); !ok {
		t.Error("bucket gone")
	}
	if _, err := b.HeadObject("b", "k"); err != nil {
		t.Errorf("object lost: %v", err)
	}
}
