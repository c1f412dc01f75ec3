package analytics

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/domainscan/domain-scan/internal/scan"
	"github.com/domainscan/domain-scan/internal/scanners/scannertest"
)

const list = "Domain Name,Agency\r\nAgency.GOV,x\r\nwww.other.gov,y\r\n"

func TestFromFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "dap.csv")
	if err := os.WriteFile(path, []byte(list), 0o644); err != nil {
		t.Fatal(err)
	}
	s := New()
	s.source = path
	if err := s.Init(t.Context(), scan.Run{CacheDir: dir}); err != nil {
		t.Fatal(err)
	}
	scannertest.Run(t, s, []scannertest.Case{
		{Target: scan.Target{Domain: "agency.gov"}, Want: []any{true}},
		{Target: scan.Target{Domain: "www.other.gov"}, Want: []any{true}},
		{Target: scan.Target{Domain: "other.gov"}, Want: []any{false}},
	})
}

func TestFromURL(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/dap.csv" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(list))
	}))
	defer srv.Close()
	dir := t.TempDir()
	s := New()
	s.source = srv.URL + "/dap.csv"
	if err := s.Init(t.Context(), scan.Run{CacheDir: dir}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "analytics.csv")); err != nil || string(b) != list {
		t.Errorf("cache/analytics.csv = %q, %v", b, err)
	}
	res, err := s.Scan(t.Context(), scan.Job{Target: scan.Target{Domain: "agency.gov"}})
	if err != nil || !res.(*Result).Participating {
		t.Errorf("agency.gov: %+v, %v", res, err)
	}

	s2 := New()
	s2.source = srv.URL + "/missing.csv"
	if err := s2.Init(t.Context(), scan.Run{CacheDir: dir}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("missing list: err = %v, want a 404 error", err)
	}
}

func TestNeedsFlag(t *testing.T) {
	if err := New().Init(t.Context(), scan.Run{CacheDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "--analytics") {
		t.Errorf("err = %v", err)
	}
}
