package pshtt

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Default sources (the real world).
const (
	DefaultPreloadURL = "https://chromium.googlesource.com/chromium/src/+/main/net/http/transport_security_state_static.json?format=TEXT"
	DefaultPendingURL = "https://hstspreload.org/api/v2/pending"

	// DefaultMaxListBytes bounds a list download: generous for the
	// Chromium file (the larger list, inflated by base64), yet finite.
	DefaultMaxListBytes int64 = 64 << 20
)

// PreloadList is a set of domain names, stored lower-case.
type PreloadList map[string]struct{}

// Has reports whether name is in the list, ignoring case. A nil list holds
// nothing.
func (l PreloadList) Has(name string) bool {
	_, ok := l[strings.ToLower(name)]
	return ok
}

// ParsePreloadList parses Chromium's transport_security_state_static.json,
// either as gitiles serves it with ?format=TEXT (base64) or as plain text
// (spec §1.9.1). Full-line // comments are dropped and the remaining lines
// joined with no separator before JSON decoding, exactly as pshtt does, so a
// trailing // comment after JSON on the same line is a decode error there
// too. Every entry whose include_subdomains is JSON true is kept, whatever
// its mode (pin-only entries count).
func ParsePreloadList(body []byte) (PreloadList, error) {
	text, ok := decodeGitiles(body)
	if !ok {
		if !utf8.Valid(body) {
			return nil, errors.New("pshtt: preload list is not valid UTF-8")
		}
		text = stripFullLineComments(string(body))
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal([]byte(text), &top); err != nil {
		return nil, fmt.Errorf("pshtt: preload list: %w", err)
	}
	entries, ok := top["entries"]
	if !ok {
		return nil, errors.New(`pshtt: preload list has no "entries"`)
	}
	return collectIncludeSubdomains(entries)
}

// ParsePendingList parses hstspreload.org's /api/v2/pending JSON array
// (spec §1.9.2), keeping the names whose include_subdomains is JSON true.
// pshtt does not strip comments here.
func ParsePendingList(body []byte) (PreloadList, error) {
	if !utf8.Valid(body) {
		return nil, errors.New("pshtt: pending list is not valid UTF-8")
	}
	l, err := collectIncludeSubdomains(body)
	if err != nil {
		return nil, fmt.Errorf("pshtt: pending list: %w", err)
	}
	return l, nil
}

// collectIncludeSubdomains walks a JSON array of entries. The errors mirror
// where pshtt's loop would raise (non-object entry: AttributeError; a kept
// entry without "name": KeyError). A non-string name is skipped: pshtt
// would keep it, but it can never equal a domain.
func collectIncludeSubdomains(raw []byte) (PreloadList, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '[' {
		return nil, errors.New("entries are not a JSON array")
	}
	var entries []json.RawMessage
	if err := json.Unmarshal(raw, &entries); err != nil {
		return nil, err
	}
	l := make(PreloadList, len(entries))
	for i, e := range entries {
		e = bytes.TrimSpace(e)
		if len(e) == 0 || e[0] != '{' {
			return nil, fmt.Errorf("entry %d is not a JSON object", i)
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(e, &obj); err != nil {
			return nil, fmt.Errorf("entry %d: %w", i, err)
		}
		// `is True` in pshtt: only the literal true, not 1 or "true".
		if string(bytes.TrimSpace(obj["include_subdomains"])) != "true" {
			continue
		}
		nameRaw, ok := obj["name"]
		if !ok {
			return nil, fmt.Errorf(`entry %d has include_subdomains but no "name"`, i)
		}
		var name string
		if nameRaw = bytes.TrimSpace(nameRaw); len(nameRaw) == 0 || nameRaw[0] != '"' {
			continue
		}
		if err := json.Unmarshal(nameRaw, &name); err != nil {
			return nil, fmt.Errorf("entry %d name: %w", i, err)
		}
		l[strings.ToLower(name)] = struct{}{}
	}
	return l, nil
}

// decodeGitiles returns the comment-stripped text of body if body is
// base64 whose decoded UTF-8 text is a JSON object. Plain JSON can never
// pass (braces, quotes and colons are outside the base64 alphabet), so the
// fallback to plain text is unambiguous.
func decodeGitiles(body []byte) (string, bool) {
	compact := bytes.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\n', '\r', '\v', '\f':
			return -1
		}
		return r
	}, body)
	if len(compact) == 0 {
		return "", false
	}
	dec := make([]byte, base64.StdEncoding.DecodedLen(len(compact)))
	n, err := base64.StdEncoding.Decode(dec, compact)
	if err != nil || !utf8.Valid(dec[:n]) {
		return "", false
	}
	text := stripFullLineComments(string(dec[:n]))
	if !strings.HasPrefix(strings.TrimLeft(text, " \t\r\n"), "{") {
		return "", false
	}
	return text, true
}

// stripFullLineComments reproduces
//
//	"".join(re.sub(r"^\s*//.*$", "", line) for line in raw.splitlines())
//
// Python's splitlines breaks on more than \n and \r, and the terminators
// are dropped, not replaced, so lines are glued together; a // anywhere but
// at the start of a line (e.g. inside a URL string) survives.
func stripFullLineComments(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	start := 0
	flush := func(end int) {
		line := s[start:end]
		if !strings.HasPrefix(strings.TrimLeftFunc(line, isPyStrSpace), "//") {
			b.WriteString(line)
		}
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !isPyLineBreak(r) {
			i += size
			continue
		}
		flush(i)
		i += size
		if r == '\r' && i < len(s) && s[i] == '\n' {
			i++ // \r\n is one terminator
		}
		start = i
	}
	if start < len(s) {
		flush(len(s))
	}
	return b.String()
}

// isPyLineBreak lists the terminators of Python's str.splitlines.
func isPyLineBreak(r rune) bool {
	switch r {
	case '\n', '\r', '\v', '\f', 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029:
		return true
	}
	return false
}

// isPyStrSpace is \s of Python's re for str patterns (str.isspace): Go's
// White_Space set plus the 0x1C-0x1F separators.
func isPyStrSpace(r rune) bool {
	return unicode.IsSpace(r) || (0x1C <= r && r <= 0x1F)
}

// LoadList reads a list from src and parses it with parse (ParsePreloadList
// or ParsePendingList). src is an http:// or https:// URL, fetched with
// client (nil: http.DefaultClient) under ctx, or else a local file path.
// Bodies larger than maxBytes (<= 0: DefaultMaxListBytes) and non-2xx
// responses are errors. pshtt turns a failed download into an empty list;
// that policy is left to the caller.
func LoadList(ctx context.Context, client *http.Client, src string, maxBytes int64, parse func([]byte) (PreloadList, error)) (PreloadList, error) {
	if parse == nil {
		return nil, errors.New("pshtt: LoadList needs a parse function")
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxListBytes
	}
	var body []byte
	var err error
	if isHTTPSource(src) {
		body, err = fetchList(ctx, client, src, maxBytes)
	} else {
		body, err = readListFile(ctx, src, maxBytes)
	}
	if err != nil {
		return nil, err
	}
	l, err := parse(body)
	if err != nil {
		return nil, fmt.Errorf("%w (from %s)", err, src)
	}
	return l, nil
}

func isHTTPSource(src string) bool {
	lower := strings.ToLower(src)
	return strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://")
}

func fetchList(ctx context.Context, client *http.Client, src string, maxBytes int64) ([]byte, error) {
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return nil, fmt.Errorf("pshtt: list request: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("pshtt: fetching list: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, fmt.Errorf("pshtt: fetching list %s: HTTP status %s", src, resp.Status)
	}
	if resp.ContentLength > maxBytes {
		return nil, fmt.Errorf("pshtt: list %s is %d bytes, over the %d-byte limit", src, resp.ContentLength, maxBytes)
	}
	body, err := readCapped(resp.Body, maxBytes)
	if err != nil {
		return nil, fmt.Errorf("pshtt: reading list %s: %w", src, err)
	}
	return body, nil
}

func readListFile(ctx context.Context, path string, maxBytes int64) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("pshtt: list: %w", err)
	}
	defer f.Close()
	body, err := readCapped(f, maxBytes)
	if err != nil {
		return nil, fmt.Errorf("pshtt: reading list %s: %w", path, err)
	}
	return body, nil
}

// readCapped reads all of r, failing once more than max bytes arrive
// rather than truncating (a cut list would silently lose names).
func readCapped(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("body exceeds the %d-byte limit", max)
	}
	return b, nil
}
