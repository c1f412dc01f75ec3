package objstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// S3Options configure an S3 store.
type S3Options struct {
	// Profile is the shared-config profile ("" for the default chain).
	Profile string
	// PathStyle forces path-style addressing (bucket in the path), which
	// local S3 servers need; nil means "when AWS_ENDPOINT_URL_S3 or
	// AWS_ENDPOINT_URL is set".
	PathStyle *bool
}

// S3 is a Store under s3://bucket/prefix. Region, credentials and endpoint
// come from the standard AWS configuration (AWS_ENDPOINT_URL_S3 included).
type S3 struct {
	client *s3.Client
	tm     *transfermanager.Client
	bucket string
	prefix string
}

// maxS3Conns bounds the idle connections kept to S3: above the store's
// users' concurrency (16 batch writers, a few submitters' markers, two
// upload parts), far below what would matter to S3.
const maxS3Conns = 64

// NewS3 returns a store for location (s3://bucket/prefix).
func NewS3(ctx context.Context, location string, o S3Options) (*S3, error) {
	bucket, prefix, err := ParseS3(location)
	if err != nil {
		return nil, err
	}
	// The SDK keeps 10 idle connections per host by default; a run puts
	// up to 16 objects at once (batches, sent markers, uploads' parts),
	// and the rest would be closed and dialled again on every round.
	// The SDK's buildable client has no TLS settings of its own, so
	// AWS_CA_BUNDLE keeps working.
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.MaxIdleConns = maxS3Conns
		tr.MaxIdleConnsPerHost = maxS3Conns
	})
	loads := []func(*config.LoadOptions) error{config.WithHTTPClient(httpClient)}
	if o.Profile != "" {
		loads = append(loads, config.WithSharedConfigProfile(o.Profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loads...)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration for S3: %w", err)
	}
	pathStyle := os.Getenv("AWS_ENDPOINT_URL_S3") != "" || os.Getenv("AWS_ENDPOINT_URL") != ""
	if o.PathStyle != nil {
		pathStyle = *o.PathStyle
	}
	client := s3.NewFromConfig(cfg, func(so *s3.Options) { so.UsePathStyle = pathStyle })
	// Parts of S3's minimum size, two in flight: a streamed object costs at
	// most a few parts of memory, whatever its size.
	tm := transfermanager.New(client, func(o *transfermanager.Options) {
		o.PartSizeBytes = 5 << 20
		o.Concurrency = 2
	})
	return &S3{client: client, tm: tm, bucket: bucket, prefix: prefix}, nil
}

func (s *S3) key(k string) string {
	if s.prefix == "" {
		return k
	}
	return s.prefix + "/" + k
}

// Put stores data in one PutObject (atomic in S3).
func (s *S3) Put(ctx context.Context, key string, data []byte) error {
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(key)), Body: bytes.NewReader(data)})
	if err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", s.bucket, s.key(key), err)
	}
	return nil
}

// Create streams through the transfer manager: parts are buffered in
// memory and uploaded as a multipart upload when the object is large.
func (s *S3) Create(ctx context.Context, key string) (io.WriteCloser, error) {
	pr, pw := io.Pipe()
	w := &s3Writer{pw: pw, done: make(chan error, 1)}
	full := s.key(key)
	go func() {
		_, err := s.tm.UploadObject(ctx, &transfermanager.UploadObjectInput{Bucket: &s.bucket, Key: &full, Body: pr})
		if err != nil {
			err = fmt.Errorf("upload s3://%s/%s: %w", s.bucket, full, err)
		}
		pr.CloseWithError(err) // a writer blocked on a failed upload returns
		w.done <- err
	}()
	return w, nil
}

type s3Writer struct {
	pw   *io.PipeWriter
	done chan error
}

func (w *s3Writer) Write(p []byte) (int, error) { return w.pw.Write(p) }

func (w *s3Writer) Close() error {
	w.pw.Close()
	return <-w.done
}

// Abort fails the upload's body, so that the transfer manager abandons it
// (a multipart upload is aborted) and no object is written.
func (w *s3Writer) Abort(err error) {
	if err == nil {
		err = errors.New("aborted")
	}
	w.pw.CloseWithError(err)
	<-w.done
}

// Get reads an object of at most max bytes.
func (s *S3) Get(ctx context.Context, key string, max int64) ([]byte, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(key))})
	if err != nil {
		var nsk *types.NoSuchKey
		var api smithy.APIError
		if errors.As(err, &nsk) || errors.As(err, &api) && (api.ErrorCode() == "NoSuchKey" || api.ErrorCode() == "NotFound") {
			return nil, ErrNotExist
		}
		return nil, fmt.Errorf("get s3://%s/%s: %w", s.bucket, s.key(key), err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(io.LimitReader(out.Body, max+1))
	if err == nil && int64(len(b)) > max {
		err = fmt.Errorf("s3://%s/%s is larger than %d bytes", s.bucket, s.key(key), max)
	}
	return b, err
}

// List pages through ListObjectsV2.
func (s *S3) List(ctx context.Context, prefix string, fn func(string) error) error {
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: aws.String(s.key(prefix))})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list s3://%s/%s: %w", s.bucket, s.key(prefix), err)
		}
		for _, o := range page.Contents {
			k := aws.ToString(o.Key)
			if s.prefix != "" {
				k = strings.TrimPrefix(k, s.prefix+"/")
			}
			if err := fn(k); err != nil {
				return err
			}
		}
	}
	return nil
}

// Delete removes an object.
func (s *S3) Delete(ctx context.Context, key string) error {
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(key))})
	if err != nil {
		return fmt.Errorf("delete s3://%s/%s: %w", s.bucket, s.key(key), err)
	}
	return nil
}

func (s *S3) String() string {
	if s.prefix == "" {
		return "s3://" + s.bucket
	}
	return "s3://" + s.bucket + "/" + s.prefix
}

// Open returns the store for an --output value.
func Open(ctx context.Context, location string, o S3Options) (Store, error) {
	if IsS3(location) {
		return NewS3(ctx, location, o)
	}
	return Dir{Root: location}, nil
}
