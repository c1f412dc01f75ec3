// Package s3test serves an in-memory S3 (gofakes3) on loopback for tests
// and points the AWS SDK at it the standard way.
package s3test

import (
	"net"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// New returns an in-memory S3 that creates buckets on first use. gofakes3
// alone answers NoSuchBucket to all but one of several concurrent first
// writes to a new bucket (its auto-creation loses the race to the others
// with BucketAlreadyExists); the backend here treats that as success.
func New() *gofakes3.GoFakeS3 {
	return gofakes3.New(autoBackend{s3mem.New()}, gofakes3.WithAutoBucket(true))
}

type autoBackend struct{ *s3mem.Backend }

func (b autoBackend) CreateBucket(name string) error {
	err := b.Backend.CreateBucket(name)
	if gofakes3.HasErrorCode(err, gofakes3.ErrBucketAlreadyExists) {
		return nil
	}
	return err
}

// Start serves S3 until the test ends and sets AWS_ENDPOINT_URL_S3, a
// region and fake credentials (no shared config files) for the test. It
// returns the endpoint URL.
func Start(t *testing.T) string {
	t.Helper()
	faker := New()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: faker.Server()}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	url := "http://" + ln.Addr().String()
	t.Setenv("AWS_ENDPOINT_URL_S3", url)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	return url
}
