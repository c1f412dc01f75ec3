package domains

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/domainscan/domain-scan/internal/netx"
)

// CommandLine is Issue.File for entries of a comma-separated list.
const CommandLine = "<command line>"

// Defaults for Options fields left zero.
const (
	DefaultMaxDownloadBytes = 1 << 30
	DefaultDownloadTimeout  = 2 * time.Minute
)

// Issue is an input entry that was not used.
type Issue struct {
	File   string // file path, URL, or "<command line>" for a comma list
	Line   int    // 1-based CSV record line (line of the record start), or 1-based position in a comma list
	Value  string // the raw value
	Reason string
}

// String formats the issue like a compiler message:
// domains.csv:12: "bad value": reason. Very long values are shortened.
func (i Issue) String() string {
	v := i.Value
	if len(v) > 80 {
		v = strings.ToValidUTF8(v[:80], "") + "…"
	}
	return fmt.Sprintf("%s:%d: %q: %s", i.File, i.Line, v, i.Reason)
}

// Stats counts what Prepare did with the input.
type Stats struct {
	Entries    int64 // non-blank, non-header entries seen
	Valid      int64 // distinct valid domains kept
	Invalid    int64
	Duplicates int64
}

// Options tune Prepare; the zero value works.
type Options struct {
	// Suffix (--suffix) is appended to every entry, CSV and comma list
	// alike, before normalisation: "acme" + "virginia.gov" ->
	// "acme.virginia.gov". A leading "." is respected, otherwise one is
	// inserted.
	Suffix string
	// SpoolDir is where the spool temp file goes (e.g. <output>/cache);
	// "" means os.TempDir(). It is created if missing.
	SpoolDir string
	// DownloadDir is where a URL input is saved as domains.csv (the
	// original saved <output>/cache/domains.csv); "" means SpoolDir. If both
	// are "", the download goes to a private temp dir removed afterwards,
	// so that concurrent runs do not share one /tmp/domains.csv.
	DownloadDir string
	// DownloadName is the file name of a URL input; "" means domains.csv.
	DownloadName     string
	HTTPClient       *http.Client
	MaxDownloadBytes int64         // 0 = 1 GiB
	DownloadTimeout  time.Duration // 0 = 2 minutes
	OnInvalid        func(Issue)   // called for each invalid entry (may be nil)
	OnDuplicate      func(Issue)   // called for each duplicate (may be nil)
}

// List is the normalised, de-duplicated domain list of a run, spooled to a
// temp file so that nothing holds the whole list in memory.
type List struct {
	f     *os.File
	size  int64
	stats Stats
}

// Prepare reads arg — an http(s) URL of a CSV, a CSV file, or a
// comma-separated list — and returns its valid, distinct domains. Invalid
// entries and duplicates are counted and reported through the callbacks,
// not returned as errors; an empty list is not an error either. Errors are
// for input that cannot be read at all.
//
// arg is a URL if it starts with http:// or https:// (any case); else a CSV
// file if it ends in .csv (any case) or names an existing regular file; else
// a comma list.
func Prepare(ctx context.Context, arg string, opts Options) (_ *List, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if opts.SpoolDir != "" {
		if err := os.MkdirAll(opts.SpoolDir, 0o755); err != nil {
			return nil, fmt.Errorf("domain spool dir: %w", err)
		}
	}
	f, err := os.CreateTemp(opts.SpoolDir, "domains-*.spool")
	if err != nil {
		return nil, fmt.Errorf("domain spool: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()

	sp := newSpool(f)
	b := &builder{ctx: ctx, opts: opts, suffix: suffix(opts.Suffix), set: newSet(sp)}
	if err := b.read(arg); err != nil {
		return nil, err
	}
	if err := sp.flush(); err != nil {
		return nil, err
	}
	// The set is only needed while reading; Range streams from the file.
	return &List{f: f, size: sp.size(), stats: b.stats}, nil
}

// Stats returns the counts of the input that made the list.
func (l *List) Stats() Stats { return l.stats }

// Len is the number of domains in the list, Stats().Valid.
func (l *List) Len() int64 { return l.stats.Valid }

// Range streams the domains in input order (first occurrence) and stops
// early if fn returns false. It may be called many times, also
// concurrently, but not concurrently with Close.
func (l *List) Range(fn func(domain string) bool) error {
	if l.f == nil {
		return errors.New("domains: Range on a closed List")
	}
	return lines(l.f, l.size, func(line []byte) bool { return fn(string(line)) })
}

// Close removes the spool file. Closing twice is harmless.
func (l *List) Close() error {
	if l.f == nil {
		return nil
	}
	f := l.f
	l.f = nil
	cerr := f.Close()
	if err := os.Remove(f.Name()); err != nil {
		return err
	}
	return cerr
}

// suffix returns the text to append to each entry, with its dot.
func suffix(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || strings.HasPrefix(s, ".") {
		return s
	}
	return "." + s
}

// builder accumulates one Prepare call.
type builder struct {
	ctx    context.Context
	opts   Options
	suffix string
	set    *set
	stats  Stats
}

func (b *builder) read(arg string) error {
	lower := strings.ToLower(arg)
	if strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://") {
		return b.readURL(arg)
	}
	fi, statErr := os.Stat(arg)
	isCSV := strings.HasSuffix(lower, ".csv")
	switch {
	case statErr == nil && fi.Mode().IsRegular():
		return b.readFile(arg)
	case !isCSV:
		return b.readCommaList(arg)
	case errors.Is(statErr, fs.ErrNotExist):
		return fmt.Errorf("domains file not found: %s", arg)
	case statErr != nil:
		return fmt.Errorf("domains file: %w", statErr)
	default:
		return fmt.Errorf("domains file %s is not a regular file", arg)
	}
}

func (b *builder) readCommaList(arg string) error {
	for i, item := range strings.Split(arg, ",") {
		if strings.TrimSpace(item) == "" {
			continue // "a.gov,,b.gov" or a trailing comma: nothing meant
		}
		if err := b.entry(CommandLine, i+1, item); err != nil {
			return err
		}
	}
	return nil
}

func (b *builder) readFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("domains file: %w", err)
	}
	defer f.Close()
	return b.readCSV(path, f)
}

func (b *builder) readURL(rawURL string) error {
	dir := b.opts.DownloadDir
	if dir == "" {
		dir = b.opts.SpoolDir
	}
	if dir == "" {
		tmp, err := os.MkdirTemp("", "domain-scan-download-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("download dir: %w", err)
	}
	max := b.opts.MaxDownloadBytes
	if max == 0 {
		max = DefaultMaxDownloadBytes
	}
	timeout := b.opts.DownloadTimeout
	if timeout == 0 {
		timeout = DefaultDownloadTimeout
	}
	name := b.opts.DownloadName
	if name == "" {
		name = "domains.csv"
	}
	dest := filepath.Join(dir, name)
	if err := netx.Download(b.ctx, b.opts.HTTPClient, rawURL, dest, max, timeout); err != nil {
		return fmt.Errorf("domains list: %w", err)
	}
	f, err := os.Open(dest)
	if err != nil {
		return fmt.Errorf("domains list: %w", err)
	}
	defer f.Close()
	shown := rawURL
	if u, err := url.Parse(rawURL); err == nil {
		shown = u.Redacted()
	}
	return b.readCSV(shown, f)
}

var bom = []byte{0xEF, 0xBB, 0xBF}

// maxRecordBytes bounds one CSV record. With LazyQuotes a stray opening
// quote makes the rest of the file a single field, which encoding/csv would
// hold in memory; this turns that into an error instead.
const maxRecordBytes = 1 << 20

var errRecordTooLong = fmt.Errorf("record longer than %d bytes (an unbalanced quote?)", maxRecordBytes)

// recordCap fails a read once more than maxRecordBytes have been consumed
// since the start of the current record (csv's own read-ahead is only a few
// KiB, so the bound is loose but sure).
type recordCap struct {
	r     io.Reader
	n     int64 // bytes handed to the csv reader
	start int64 // csv InputOffset at the end of the last record
}

func (c *recordCap) Read(p []byte) (int, error) {
	if c.n-c.start > maxRecordBytes {
		return 0, errRecordTooLong
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// crToLF turns a lone '\r' into '\n', so that files with old Mac line
// endings split into lines as Python's csv module split them (encoding/csv
// would keep the '\r' inside the cell). "\r\n" is left alone.
type crToLF struct {
	r       *bufio.Reader
	pending bool // the previous chunk ended in '\r'
}

func (c *crToLF) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, err := c.r.Read(p)
	for i := 0; i < n; i++ {
		if p[i] != '\r' {
			continue
		}
		if i+1 < n {
			if p[i+1] != '\n' {
				p[i] = '\n'
			}
			continue
		}
		// Last byte of the chunk: look ahead without consuming.
		if next, perr := c.r.Peek(1); perr != nil || next[0] != '\n' {
			p[i] = '\n'
		}
	}
	return n, err
}

// readCSV takes the first cell of each record, skipping blank cells and
// "domain" / "domain name" header rows wherever they appear (the original
// did the same, which also tolerates concatenated exports).
func (b *builder) readCSV(name string, r io.Reader) error {
	br := bufio.NewReaderSize(r, 64<<10)
	if p, _ := br.Peek(len(bom)); bytes.Equal(p, bom) {
		br.Discard(len(bom))
	}
	rc := &recordCap{r: &crToLF{r: br}}
	cr := csv.NewReader(rc)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true // with this, encoding/csv reports no syntax errors, only read errors
	cr.ReuseRecord = true
	lastLine := 0 // start line of the last record read, for error messages
	for n := 0; ; n++ {
		if n&0xfff == 0 {
			if err := b.ctx.Err(); err != nil {
				return err
			}
		}
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			var pe *csv.ParseError
			switch {
			case errors.As(err, &pe) && pe.Err != errRecordTooLong:
				return fmt.Errorf("domains file %s: line %d, column %d: %v", name, pe.Line, pe.Column, pe.Err)
			case errors.Is(err, errRecordTooLong):
				return fmt.Errorf("domains file %s: after line %d: %w", name, lastLine, errRecordTooLong)
			default:
				return fmt.Errorf("read domains file %s after line %d: %w", name, lastLine, err)
			}
		}
		rc.start = cr.InputOffset()
		lastLine, _ = cr.FieldPos(0)
		first := strings.TrimSpace(rec[0])
		if first == "" || strings.EqualFold(first, "domain") || strings.EqualFold(first, "domain name") {
			continue
		}
		if err := b.entry(name, lastLine, rec[0]); err != nil {
			return err
		}
	}
}

// entry counts and classifies one non-blank input value.
func (b *builder) entry(file string, line int, raw string) error {
	b.stats.Entries++
	name := strings.TrimSpace(raw)
	if b.suffix != "" {
		name += b.suffix
	}
	d, err := Normalize(name)
	if err != nil {
		b.stats.Invalid++
		if b.opts.OnInvalid != nil {
			b.opts.OnInvalid(Issue{File: file, Line: line, Value: raw, Reason: err.Error()})
		}
		return nil
	}
	added, err := b.set.add(d)
	if err != nil {
		return err
	}
	if !added {
		b.stats.Duplicates++
		if b.opts.OnDuplicate != nil {
			b.opts.OnDuplicate(Issue{File: file, Line: line, Value: raw, Reason: "duplicate"})
		}
		return nil
	}
	b.stats.Valid++
	return nil
}
