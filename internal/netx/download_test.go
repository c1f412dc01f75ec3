package netx

import (
	"bytes"
	"compress/gzip"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestDownload(t *testing.T) {
	const body = "Domain Name\nnasa.gov\n18f.gov\n"
	mux := http.NewServeMux()
	mux.HandleFunc("/ok.csv", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(body))
	})
	mux.HandleFunc("/gzip.csv", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(gzipped(t, body))
	})
	mux.HandleFunc("/big.csv", func(w http.ResponseWriter, r *http.Request) {
		w.Write(bytes.Repeat([]byte("a.gov\n"), 1000))
	})
	mux.HandleFunc("/slow.csv", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("partial.gov\n"))
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	// A transport that leaves gzip to Download itself.
	raw := &http.Client{Transport: &http.Transport{DisableCompression: true}}

	tests := []struct {
		name    string
		client  *http.Client
		path    string
		max     int64
		timeout time.Duration
		want    string // file contents on success
		wantErr string // substring of the error
	}{
		{name: "ok", path: "/ok.csv", max: 1 << 20, timeout: 5 * time.Second, want: body},
		{name: "ok exactly at cap", path: "/ok.csv", max: int64(len(body)), timeout: 5 * time.Second, want: body},
		{name: "no cap no timeout", path: "/ok.csv", want: body},
		{name: "gzip via transport", path: "/gzip.csv", max: 1 << 20, timeout: 5 * time.Second, want: body},
		{name: "gzip decoded by us", client: raw, path: "/gzip.csv", max: 1 << 20, timeout: 5 * time.Second, want: body},
		{name: "gzip cap counts decoded bytes", client: raw, path: "/gzip.csv", max: 10, timeout: 5 * time.Second, wantErr: "larger than the 10-byte cap"},
		{name: "not found", path: "/missing.csv", max: 1 << 20, timeout: 5 * time.Second, wantErr: "HTTP status 404 Not Found"},
		{name: "oversize", path: "/big.csv", max: 5999, timeout: 5 * time.Second, wantErr: "larger than the 5999-byte cap"},
		{name: "timeout", path: "/slow.csv", max: 1 << 20, timeout: 200 * time.Millisecond, wantErr: "timed out after 200ms"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			dest := filepath.Join(dir, "domains.csv")
			u := srv.URL + tc.path
			err := Download(context.Background(), tc.client, u, dest, tc.max, tc.timeout)
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("no error, want %q", tc.wantErr)
				}
				if !strings.Contains(err.Error(), tc.wantErr) || !strings.HasPrefix(err.Error(), "download "+u+": ") {
					t.Fatalf("error %q, want prefix %q and %q", err, "download "+u+": ", tc.wantErr)
				}
				// Nothing may be left behind: no dest, no temp file.
				if ents, _ := os.ReadDir(dir); len(ents) != 0 {
					t.Fatalf("left files behind: %v", ents)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(dest)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 1 {
				t.Fatalf("want only dest in dir, got %v", ents)
			}
		})
	}
}

func TestDownloadKeepsOldFileOnError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	dest := filepath.Join(t.TempDir(), "domains.csv")
	if err := os.WriteFile(dest, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Download(context.Background(), nil, srv.URL, dest, 0, time.Second); err == nil {
		t.Fatal("want error")
	}
	if got, _ := os.ReadFile(dest); string(got) != "old" {
		t.Fatalf("dest changed to %q", got)
	}
}

func TestDownloadRedactsPassword(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	u := strings.Replace(srv.URL, "http://", "http://user:secret@", 1)
	err := Download(context.Background(), nil, u, filepath.Join(t.TempDir(), "x"), 0, time.Second)
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Fatalf("error %v should exist and hide the password", err)
	}
}

func TestDownloadCallerCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Download(ctx, nil, "http://127.0.0.1:1/x.csv", filepath.Join(t.TempDir(), "x"), 0, time.Minute)
	if err == nil || strings.Contains(err.Error(), "timed out") {
		t.Fatalf("want a cancellation error, not a timeout: %v", err)
	}
}
