// Package objstore is where a run's outputs go: a local directory or an S3
// prefix (--output s3://bucket/prefix/), behind one small interface, so
// that results, cache objects and meta.json can go straight to S3 without
// touching the local disk.
package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ErrNotExist is returned by Get for a missing object.
var ErrNotExist = fs.ErrNotExist

// Store keeps objects by key ("results/pshtt.csv", "cache/pshtt/a.gov.json").
// Implementations are safe for concurrent use.
type Store interface {
	// Put stores data under key; readers see the old or the new object,
	// never part of one.
	Put(ctx context.Context, key string, data []byte) error
	// Create streams an object; it exists (completely) once Close returns
	// nil. Large objects go up in parts; nothing is written to local disk.
	// The writer is also an Aborter: Abort instead of Close leaves any
	// previous object in place.
	Create(ctx context.Context, key string) (io.WriteCloser, error)
	// Get reads an object of at most max bytes (ErrNotExist if missing).
	Get(ctx context.Context, key string, max int64) ([]byte, error)
	// List calls fn with every key under prefix, in lexical order, until
	// fn returns an error.
	List(ctx context.Context, prefix string, fn func(key string) error) error
	// Delete removes an object; a missing one is not an error.
	Delete(ctx context.Context, key string) error
	// String says where the store is, for messages (never credentials).
	String() string
}

// Aborter is implemented by the writers of Create: Abort gives the object
// up (the previous one, if any, stays).
type Aborter interface{ Abort(err error) }

// Abort gives up w if it can, else closes it.
func Abort(w io.WriteCloser, err error) {
	if a, ok := w.(Aborter); ok {
		a.Abort(err)
		return
	}
	w.Close()
}

// IsS3 reports whether an --output value names S3.
func IsS3(location string) bool { return strings.HasPrefix(location, "s3://") }

// ParseS3 splits s3://bucket/prefix into bucket and prefix (without
// leading or trailing slash).
func ParseS3(location string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(location, "s3://")
	if !ok {
		return "", "", fmt.Errorf("%q is not an s3:// location", location)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("%q names no bucket", location)
	}
	return bucket, strings.Trim(prefix, "/"), nil
}

// Dir is a Store in a local directory. Put writes a temporary file and
// renames it, so readers never see a torn file.
type Dir struct{ Root string }

func (d Dir) path(key string) (string, error) {
	clean := filepath.Clean("/" + key)
	if key == "" || strings.Contains(key, "\x00") || clean != "/"+key {
		return "", fmt.Errorf("objstore: bad key %q", key)
	}
	return filepath.Join(d.Root, filepath.FromSlash(key)), nil
}

func (d Dir) Put(_ context.Context, key string, data []byte) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(f.Name(), p)
	}
	if werr != nil {
		os.Remove(f.Name())
	}
	return werr
}

// Create writes a temporary file renamed into place by Close.
func (d Dir) Create(_ context.Context, key string) (io.WriteCloser, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return nil, err
	}
	return &dirWriter{File: f, final: p}, nil
}

type dirWriter struct {
	*os.File
	final string
}

func (w *dirWriter) Close() error {
	err := w.File.Close()
	if err == nil {
		err = os.Chmod(w.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(w.Name(), w.final)
	}
	if err != nil {
		os.Remove(w.Name())
	}
	return err
}

func (w *dirWriter) Abort(error) {
	w.File.Close()
	os.Remove(w.Name())
}

func (d Dir) Get(_ context.Context, key string, max int64) ([]byte, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err // fs.ErrNotExist when missing
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err == nil && int64(len(b)) > max {
		err = fmt.Errorf("%s is larger than %d bytes", p, max)
	}
	return b, err
}

func (d Dir) List(ctx context.Context, prefix string, fn func(string) error) error {
	var keys []string
	err := filepath.WalkDir(d.Root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if e.IsDir() || strings.HasPrefix(e.Name(), ".tmp-") {
			return nil
		}
		rel, err := filepath.Rel(d.Root, p)
		if err != nil {
			return err
		}
		if k := filepath.ToSlash(rel); strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(k); err != nil {
			return err
		}
	}
	return nil
}

func (d Dir) Delete(_ context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

func (d Dir) String() string { return d.Root }
