// Package cache is the on-disk per-domain cache of scan results,
// <cache dir>/<scanner>/<domain>.json, laid out as the original tool laid
// it out so that either tool can reuse the other's cache.
package cache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/domainscan/domain-scan/internal/objstore"
	"github.com/domainscan/domain-scan/internal/scan"
)

// Invalid is the original's marker for a failed scan: what its
// utils.invalid() wrote.
var Invalid = []byte("{\n  \"invalid\": true\n}")

// Store reads and writes one cache directory. It is a pointer type because
// it remembers which scanner directories exist, to save a MkdirAll per
// write; make one with New and share it. It is safe for concurrent use.
type Store struct {
	// Dir is the cache directory, <output>/cache.
	Dir string

	dirs sync.Map // scanner directory path -> struct{}, known to exist
	seq  atomic.Uint64
	// slots bounds concurrent writes: a thousand workers writing at once
	// only queue on the directory lock and multiply OS threads.
	slots chan struct{}
	// obj, when set, holds the cache instead of Dir (an S3 prefix):
	// objects cache/<scanner>/<domain>.json.
	obj objstore.Store
}

// objectTimeout bounds one cache object read or write in an object store.
const objectTimeout = 2 * time.Minute

// NewObjects returns a Store keeping the cache in an object store, under
// cache/<scanner>/<domain>.json (the directory layout, as keys).
func NewObjects(obj objstore.Store) *Store {
	return &Store{obj: obj, slots: make(chan struct{}, 64)}
}

func objectKey(scanner, domain string) string { return "cache/" + scanner + "/" + domain + ".json" }

// writeSlots is how many cache writes may run at once. File creation in one
// directory gains little from more, and each blocked write holds an OS thread.
const writeSlots = 16

// MaxRead is the largest cache file Read accepts; a larger one is an error
// (the engine then scans again) rather than an unbounded allocation.
const MaxRead = 64 << 20

// New returns a Store for the cache directory dir.
func New(dir string) *Store {
	return &Store{Dir: dir, slots: make(chan struct{}, writeSlots)}
}

var _ scan.Lookup = (*Store)(nil)

// Path returns where the result of scanner for domain is cached. It does
// not check the names; Read and Write do.
func (s *Store) Path(scanner, domain string) string {
	return filepath.Join(s.Dir, scanner, domain+".json")
}

// checkName rejects names that would leave the cache directory or name
// something other than one file in it. Domains and scanner names never
// contain these, so this is defence in depth against bad input.
func checkName(kind, name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\\x00") {
		return fmt.Errorf("cache: invalid %s name %q", kind, name)
	}
	return nil
}

func checkNames(scanner, domain string) error {
	return errors.Join(checkName("scanner", scanner), checkName("domain", domain))
}

// Read returns the cached bytes, with ok false if there are none.
func (s *Store) Read(scanner, domain string) (data []byte, ok bool, err error) {
	if err := checkNames(scanner, domain); err != nil {
		return nil, false, err
	}
	if s.obj != nil {
		ctx, cancel := context.WithTimeout(context.Background(), objectTimeout)
		defer cancel()
		data, err := s.obj.Get(ctx, objectKey(scanner, domain), MaxRead)
		if errors.Is(err, objstore.ErrNotExist) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, fmt.Errorf("cache: %w", err)
		}
		return data, true, nil
	}
	f, err := os.Open(s.Path(scanner, domain))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	data, err = io.ReadAll(io.LimitReader(f, MaxRead+1))
	if err == nil && len(data) > MaxRead {
		err = fmt.Errorf("cache: %s is larger than %d bytes", f.Name(), MaxRead)
	}
	if err != nil {
		return nil, false, err
	}
	return data, true, nil
}

// Lookup implements scan.Lookup; it is Read. A cached failure is returned
// as it is: see IsInvalid.
func (s *Store) Lookup(scanner, domain string) ([]byte, bool, error) {
	return s.Read(scanner, domain)
}

// Write stores data, which the caller has already formatted (pyjson), as
// the result of scanner for domain. It writes a temporary file in the same
// directory and renames it over the old one, so that readers, including a
// concurrent run, see the old or the new content, never a torn file. It
// does not fsync: the cache can be rebuilt, and a sync per domain would
// cost more than the scans of fast scanners.
func (s *Store) Write(scanner, domain string, data []byte) error {
	if err := checkNames(scanner, domain); err != nil {
		return err
	}
	if s.obj != nil {
		s.slots <- struct{}{}
		defer func() { <-s.slots }()
		ctx, cancel := context.WithTimeout(context.Background(), objectTimeout)
		defer cancel()
		if err := s.obj.Put(ctx, objectKey(scanner, domain), data); err != nil {
			return fmt.Errorf("cache: %w", err)
		}
		return nil
	}
	dir := filepath.Join(s.Dir, scanner)
	if s.slots != nil {
		s.slots <- struct{}{}
		defer func() { <-s.slots }()
	}
	f, err := s.createTemp(dir)
	if err != nil {
		return err
	}
	name := f.Name()
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(name, s.Path(scanner, domain))
	}
	if err != nil {
		os.Remove(name)
		return fmt.Errorf("cache: %w", err)
	}
	return nil
}

// createTemp creates the temporary file for Write, making dir first if it
// is not known to exist. The name starts with '.' so that globs for
// *.json skip it.
func (s *Store) createTemp(dir string) (*os.File, error) {
	if _, ok := s.dirs.Load(dir); ok {
		f, err := s.openTemp(dir)
		if !errors.Is(err, fs.ErrNotExist) {
			return f, err
		}
		// Removed behind our back (a cleared cache): make it again.
		s.dirs.Delete(dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	s.dirs.Store(dir, struct{}{})
	return s.openTemp(dir)
}

// openTemp creates a new temporary file named after the process and a
// counter, which is unique without CreateTemp's random retries, and with
// the original's 0644 mode (umask permitting) so that other pipeline users
// can read the cache. The name leaves the domain out, so that it stays
// short for the longest valid names, and does not end in .json, so that
// globs for results skip it.
func (s *Store) openTemp(dir string) (*os.File, error) {
	for {
		name := filepath.Join(dir, fmt.Sprintf(".tmp-%d-%d", os.Getpid(), s.seq.Add(1)))
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue // left over from a crashed process with our pid
		}
		return f, err
	}
}

// WriteInvalid stores the failure marker Invalid.
func (s *Store) WriteInvalid(scanner, domain string) error {
	return s.Write(scanner, domain, Invalid)
}

// IsInvalid reports whether cached data is a failure marker: a JSON object
// whose "invalid" member is truthy in Python's sense (the original tested
// data.get('invalid')): true, a non-zero number, or a non-empty string,
// list or object. Anything that is not a JSON object is not a marker.
func IsInvalid(data []byte) bool {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return false
	}
	v, ok := obj["invalid"]
	if !ok {
		return false
	}
	return truthy(v)
}

// truthy is Python's bool() of a decoded JSON value.
func truthy(raw json.RawMessage) bool {
	if len(raw) == 0 {
		return false
	}
	switch raw[0] {
	case 'n', 'f':
		return false
	case 't':
		return true
	case '"':
		var s string
		return json.Unmarshal(raw, &s) == nil && s != ""
	case '[':
		var a []json.RawMessage
		return json.Unmarshal(raw, &a) == nil && len(a) > 0
	case '{':
		var m map[string]json.RawMessage
		return json.Unmarshal(raw, &m) == nil && len(m) > 0
	default:
		// Python reads 1e-400 as 0.0 and 1e400 as inf; ParseFloat gives
		// the same values along with a range error, which changes nothing.
		f, _ := strconv.ParseFloat(string(raw), 64)
		return f != 0
	}
}
