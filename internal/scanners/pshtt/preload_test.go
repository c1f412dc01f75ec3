package pshtt

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// preloadSample mimics transport_security_state_static.json: full-line
// comments (one indented), a // inside a string value, CRLF line ends, and
// the entry shapes that matter.
const preloadSample = "// Copyright header\r\n" +
	"// with two lines\r\n" +
	"{\r\n" +
	"  // The pinsets...\r\n" +
	"  \"pinsets\": [\r\n" +
	"    { \"name\": \"google\", \"report_uri\": \"http://clients3.google.com/cert_upload_json\" }\r\n" +
	"  ],\r\n" +
	"\t// tab-indented comment\r\n" +
	"  \"entries\": [\r\n" +
	"    { \"name\": \"Example.GOV\", \"policy\": \"custom\", \"mode\": \"force-https\", \"include_subdomains\": true },\r\n" +
	"    { \"name\": \"nosub.gov\", \"mode\": \"force-https\", \"include_subdomains\": false },\r\n" +
	"    { \"name\": \"ft.com\", \"mode\": \"force-https\" },\r\n" +
	"    // pin-only entry: no mode, still counted\r\n" +
	"    { \"name\": \"pinned.example\", \"include_subdomains\": true, \"pins\": \"google\" },\r\n" +
	"    { \"name\": \"pinsub.example\", \"include_subdomains_for_pinning\": true, \"pins\": \"google\" },\r\n" +
	"    { \"name\": \"one.example\", \"include_subdomains\": 1 },\r\n" +
	"    { \"name\": \"str.example\", \"include_subdomains\": \"true\" },\r\n" +
	"    { \"name\": \"slash//name.example\", \"include_subdomains\": true }\r\n" +
	"  ]\r\n" +
	"}\r\n"

var preloadSampleWant = []string{"example.gov", "pinned.example", "slash//name.example"}

func listNames(l PreloadList) []string {
	var names []string
	for n := range l {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func TestParsePreloadListGitiles(t *testing.T) {
	// gitiles sends one long line; also try a wrapped encoding.
	enc := base64.StdEncoding.EncodeToString([]byte(preloadSample))
	var wrapped strings.Builder
	for i := 0; i < len(enc); i += 76 {
		wrapped.WriteString(enc[i:min(i+76, len(enc))])
		wrapped.WriteString("\n")
	}
	for name, body := range map[string]string{
		"single line": enc,
		"wrapped":     wrapped.String(),
		"plain":       preloadSample,
		"plain LF":    strings.ReplaceAll(preloadSample, "\r\n", "\n"),
	} {
		t.Run(name, func(t *testing.T) {
			l, err := ParsePreloadList([]byte(body))
			if err != nil {
				t.Fatal(err)
			}
			if got := listNames(l); !slices.Equal(got, preloadSampleWant) {
				t.Errorf("names = %q, want %q", got, preloadSampleWant)
			}
			if !l.Has("EXAMPLE.gov") || l.Has("nosub.gov") || l.Has("ft.com") || l.Has("www.example.gov") {
				t.Errorf("Has gives wrong answers for %q", listNames(l))
			}
		})
	}
}

func TestParsePreloadListQuirks(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []string // nil with err
		err  bool
	}{
		{"lines joined without separator", "{\"entries\": [{\"name\": \"a.\nb\", \"include_subdomains\": tr\nue}]}", []string{"a.b"}, false},
		{"python line breaks", "{\"entries\":\v[{\"name\":\"x\u2028y\",\x1c\"include_subdomains\":true}]}", []string{"xy"}, false},
		{"NBSP-indented comment", "{\"entries\": [\n\u00a0// gone\n]}", nil, false},
		{"trailing comment kept and breaks JSON", "{\"entries\": [] // no\n}", nil, true},
		{"no entries", `{"pinsets": []}`, nil, true},
		{"entries not array", `{"entries": {}}`, nil, true},
		{"entries null", `{"entries": null}`, nil, true},
		{"entry not object", `{"entries": ["a.gov"]}`, nil, true},
		{"kept entry without name", `{"entries": [{"include_subdomains": true}]}`, nil, true},
		{"unkept entry without name", `{"entries": [{"include_subdomains": false}]}`, nil, false},
		{"non-string name skipped", `{"entries": [{"name": 7, "include_subdomains": true}, {"name": null, "include_subdomains": true}]}`, nil, false},
		{"duplicate key last wins", `{"entries": [{"name": "a.gov", "include_subdomains": true, "include_subdomains": false}]}`, nil, false},
		{"top-level array", `[{"name": "a.gov", "include_subdomains": true}]`, nil, true},
		{"malformed", `{"entries": [`, nil, true},
		{"empty", ``, nil, true},
		{"invalid UTF-8", "{\"entries\": [{\"name\": \"\xff\", \"include_subdomains\": true}]}", nil, true},
		{"base64 of non-JSON", base64.StdEncoding.EncodeToString([]byte("hello")), nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := ParsePreloadList([]byte(tt.body))
			if (err != nil) != tt.err {
				t.Fatalf("err = %v, want error %v", err, tt.err)
			}
			if got := listNames(l); !slices.Equal(got, tt.want) {
				t.Errorf("names = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParsePendingList(t *testing.T) {
	body := `[
  {"name": "pending.gov", "include_subdomains": true, "mode": "force-https"},
  {"name": "Mixed.Example", "include_subdomains": true},
  {"name": "nosub.gov", "include_subdomains": false, "mode": "force-https"},
  {"name": "missing.gov", "mode": "force-https"}
]`
	l, err := ParsePendingList([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := listNames(l), []string{"mixed.example", "pending.gov"}; !slices.Equal(got, want) {
		t.Errorf("names = %q, want %q", got, want)
	}
	l, err = ParsePendingList([]byte("[]"))
	if err != nil || len(l) != 0 {
		t.Errorf("empty array: %v, %v", l, err)
	}
	for _, bad := range []string{`{"entries": []}`, `[1]`, `[`, ``, "// c\n[]", "[\"\xff\"]"} {
		if _, err := ParsePendingList([]byte(bad)); err == nil {
			t.Errorf("ParsePendingList(%q) succeeded, want error", bad)
		}
	}
}

func TestPreloadListHasNil(t *testing.T) {
	var l PreloadList
	if l.Has("example.gov") {
		t.Error("nil list has a name")
	}
}

func TestLoadListHTTP(t *testing.T) {
	enc := base64.StdEncoding.EncodeToString([]byte(preloadSample))
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery != "format=TEXT" {
			t.Errorf("query = %q", r.URL.RawQuery)
		}
		w.Write([]byte(enc))
	})
	mux.HandleFunc("/missing", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "nope", http.StatusNotFound)
	})
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, r *http.Request) {
		// No Content-Length: the cap must hold while streaming.
		for range 10 {
			w.Write([]byte(strings.Repeat("A", 100)))
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer close(release)
	ctx := context.Background()

	l, err := LoadList(ctx, srv.Client(), srv.URL+"/ok?format=TEXT", 0, ParsePreloadList)
	if err != nil {
		t.Fatal(err)
	}
	if got := listNames(l); !slices.Equal(got, preloadSampleWant) {
		t.Errorf("names = %q, want %q", got, preloadSampleWant)
	}

	if _, err := LoadList(ctx, srv.Client(), srv.URL+"/missing", 0, ParsePreloadList); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("404: err = %v", err)
	}
	// Declared length over the cap, and streamed length over the cap.
	if _, err := LoadList(ctx, srv.Client(), srv.URL+"/ok?format=TEXT", int64(len(enc)-1), ParsePreloadList); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("oversize: err = %v", err)
	}
	if _, err := LoadList(ctx, srv.Client(), srv.URL+"/chunked", 999, ParsePreloadList); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("oversize chunked: err = %v", err)
	}
	// Exactly at the cap is fine.
	if _, err := LoadList(ctx, srv.Client(), srv.URL+"/ok?format=TEXT", int64(len(enc)), ParsePreloadList); err != nil {
		t.Errorf("at the cap: %v", err)
	}

	tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = LoadList(tctx, srv.Client(), srv.URL+"/slow", 0, ParsePreloadList)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("timeout: err = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("timeout took %v", d)
	}

	// A parse failure names the source.
	if _, err := LoadList(ctx, srv.Client(), srv.URL+"/ok?format=TEXT", 0, ParsePendingList); err == nil || !strings.Contains(err.Error(), srv.URL) {
		t.Errorf("parse error: err = %v", err)
	}
}

func TestLoadListFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pending.json")
	if err := os.WriteFile(path, []byte(`[{"name": "a.gov", "include_subdomains": true}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	l, err := LoadList(ctx, nil, path, 0, ParsePendingList)
	if err != nil {
		t.Fatal(err)
	}
	if !l.Has("a.gov") || len(l) != 1 {
		t.Errorf("names = %q", listNames(l))
	}
	if _, err := LoadList(ctx, nil, path, 10, ParsePendingList); err == nil {
		t.Error("oversize file: no error")
	}
	if _, err := LoadList(ctx, nil, filepath.Join(dir, "absent.json"), 0, ParsePendingList); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := LoadList(cctx, nil, path, 0, ParsePendingList); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v", err)
	}
	if _, err := LoadList(ctx, nil, path, 0, nil); err == nil {
		t.Error("nil parse: no error")
	}
}
