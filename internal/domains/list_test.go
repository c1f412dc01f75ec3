package domains

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// result is what prepare observed and returns the list contents and reported issues.
type result struct {
	domains []string
	stats   Stats
	invalid []Issue
	dups    []Issue
}

// prepare runs Prepare with issue collectors and checks the invariants
// every list must satisfy.
func prepare(t *testing.T, arg string, opts Options) result {
	t.Helper()
	var r result
	opts.OnInvalid = func(i Issue) { r.invalid = append(r.invalid, i) }
	opts.OnDuplicate = func(i Issue) { r.dups = append(r.dups, i) }
	if opts.SpoolDir == "" {
		opts.SpoolDir = t.TempDir()
	}
	l, err := Prepare(context.Background(), arg, opts)
	if err != nil {
		t.Fatalf("Prepare(%q): %v", arg, err)
	}
	t.Cleanup(func() { l.Close() })
	r.stats = l.Stats()
	r.domains = rangeAll(t, l)
	if int64(len(r.domains)) != l.Len() || l.Len() != r.stats.Valid {
		t.Fatalf("Range gave %d, Len %d, Valid %d", len(r.domains), l.Len(), r.stats.Valid)
	}
	if s := r.stats; s.Entries != s.Valid+s.Invalid+s.Duplicates {
		t.Fatalf("stats do not add up: %+v", s)
	}
	return r
}

func rangeAll(t *testing.T, l *List) []string {
	t.Helper()
	got := []string{}
	if err := l.Range(func(d string) bool { got = append(got, d); return true }); err != nil {
		t.Fatal(err)
	}
	return got
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPrepareCommaList(t *testing.T) {
	r := prepare(t, " NASA.gov , 18f.gov,,nasa.gov., x.gov/ ,www.NASA.gov,", Options{})
	want := []string{"nasa.gov", "18f.gov", "www.nasa.gov"}
	if !reflect.DeepEqual(r.domains, want) {
		t.Fatalf("domains %q, want %q", r.domains, want)
	}
	if want := (Stats{Entries: 5, Valid: 3, Invalid: 1, Duplicates: 1}); r.stats != want {
		t.Fatalf("stats %+v, want %+v", r.stats, want)
	}
	wantInvalid := []Issue{{File: CommandLine, Line: 5, Value: " x.gov/ ", Reason: "bad character '/' (a URL? give the host name only)"}}
	if !reflect.DeepEqual(r.invalid, wantInvalid) {
		t.Fatalf("invalid %+v, want %+v", r.invalid, wantInvalid)
	}
	wantDup := []Issue{{File: CommandLine, Line: 4, Value: "nasa.gov.", Reason: "duplicate"}}
	if !reflect.DeepEqual(r.dups, wantDup) {
		t.Fatalf("dups %+v, want %+v", r.dups, wantDup)
	}
	if got, want := r.invalid[0].String(), `<command line>:5: " x.gov/ ": bad character '/' (a URL? give the host name only)`; got != want {
		t.Fatalf("String() = %s, want %s", got, want)
	}
}

func TestPrepareSingleAndEmpty(t *testing.T) {
	if r := prepare(t, "nasa.gov", Options{}); !reflect.DeepEqual(r.domains, []string{"nasa.gov"}) {
		t.Fatalf("got %q", r.domains)
	}
	// An empty list is the caller's business, not an error.
	if r := prepare(t, " , ,", Options{}); len(r.domains) != 0 || r.stats != (Stats{}) {
		t.Fatalf("got %q %+v", r.domains, r.stats)
	}
}

const messyCSV = "\ufeffDomain Name,Domain Type,Agency\r\n" + // BOM + header
	"NASA.GOV,Federal,\"National Aeronautics, and Space\"\r\n" + // line 2
	"\r\n" +
	"\"18f.gov\",Federal,GSA\r\n" + // line 4
	"  ,blank first cell\r\n" +
	"\"bad,name.gov\",Federal,\"multi\r\nline agency\"\r\n" + // line 6-7
	"domain name,repeated header\r\n" +
	" Domain ,another header\r\n" +
	"domains.gov,kept\r\n" + // line 10
	"domainfoo.gov\r\n" + // line 11
	"nasa.gov.,dup\r\n" + // line 12
	"\r\n\r\n" +
	"www.nasa.gov" // line 15, no final newline

func TestPrepareCSV(t *testing.T) {
	path := writeFile(t, "Domains.CSV", messyCSV)
	r := prepare(t, path, Options{})
	want := []string{"nasa.gov", "18f.gov", "domains.gov", "domainfoo.gov", "www.nasa.gov"}
	if !reflect.DeepEqual(r.domains, want) {
		t.Fatalf("domains %q, want %q", r.domains, want)
	}
	if want := (Stats{Entries: 7, Valid: 5, Invalid: 1, Duplicates: 1}); r.stats != want {
		t.Fatalf("stats %+v, want %+v", r.stats, want)
	}
	wantInvalid := []Issue{{File: path, Line: 6, Value: "bad,name.gov", Reason: "bad character ','"}}
	if !reflect.DeepEqual(r.invalid, wantInvalid) {
		t.Fatalf("invalid %+v, want %+v", r.invalid, wantInvalid)
	}
	wantDup := []Issue{{File: path, Line: 12, Value: "nasa.gov.", Reason: "duplicate"}}
	if !reflect.DeepEqual(r.dups, wantDup) {
		t.Fatalf("dups %+v, want %+v", r.dups, wantDup)
	}
}

func TestPrepareExistingFileWithoutCSVExtension(t *testing.T) {
	path := writeFile(t, "list.txt", "a.gov\nb.gov\n")
	if r := prepare(t, path, Options{}); !reflect.DeepEqual(r.domains, []string{"a.gov", "b.gov"}) {
		t.Fatalf("got %q", r.domains)
	}
}

func TestPrepareSuffix(t *testing.T) {
	csvPath := writeFile(t, "d.csv", "domain\nacme\nWWW.Acme\n\"bad/\"\n")
	tests := []struct {
		arg, suffix string
		want        []string
	}{
		{"acme, www.acme ,acme", "virginia.gov", []string{"acme.virginia.gov", "www.acme.virginia.gov"}},
		{"acme", ".virginia.gov", []string{"acme.virginia.gov"}},
		{"acme", " virginia.gov. ", []string{"acme.virginia.gov"}},
		{"acme", ".", []string{"acme"}},                                                   // "acme." loses its trailing dot
		{"acme", "-gov", []string{}},                                                      // "acme.-gov": the dot is inserted, label invalid
		{"acme.virginia.gov", "virginia.gov", []string{"acme.virginia.gov.virginia.gov"}}, // appended blindly, like the original
		{csvPath, "virginia.gov", []string{"acme.virginia.gov", "www.acme.virginia.gov"}},
		{csvPath, ".virginia.gov", []string{"acme.virginia.gov", "www.acme.virginia.gov"}},
	}
	for _, tc := range tests {
		r := prepare(t, tc.arg, Options{Suffix: tc.suffix})
		if !reflect.DeepEqual(r.domains, tc.want) {
			t.Errorf("Prepare(%q, suffix %q) = %q, want %q", tc.arg, tc.suffix, r.domains, tc.want)
		}
	}
	// The issue shows the value as written, not with the suffix.
	r := prepare(t, csvPath, Options{Suffix: "virginia.gov"})
	if len(r.invalid) != 1 || r.invalid[0].Value != "bad/" || r.invalid[0].Line != 4 {
		t.Fatalf("invalid %+v", r.invalid)
	}
}

func TestPrepareURL(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/domains.csv", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("Domain Name,Type\nnasa.gov,x\nbad/,x\n18f.gov,x\n"))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	cache := filepath.Join(t.TempDir(), "out", "cache")
	u := srv.URL + "/domains.csv"
	r := prepare(t, strings.Replace(u, "http://", "HTTP://", 1), Options{SpoolDir: cache})
	if want := []string{"nasa.gov", "18f.gov"}; !reflect.DeepEqual(r.domains, want) {
		t.Fatalf("got %q, want %q", r.domains, want)
	}
	if len(r.invalid) != 1 || r.invalid[0].File != u || r.invalid[0].Line != 3 {
		t.Fatalf("invalid %+v", r.invalid)
	}
	// Like the original, the list is kept as <cache>/domains.csv.
	if _, err := os.Stat(filepath.Join(cache, "domains.csv")); err != nil {
		t.Fatal(err)
	}

	// DownloadDir wins over SpoolDir.
	dl := filepath.Join(t.TempDir(), "dl")
	prepare(t, u, Options{DownloadDir: dl})
	if _, err := os.Stat(filepath.Join(dl, "domains.csv")); err != nil {
		t.Fatal(err)
	}

	_, err := Prepare(context.Background(), srv.URL+"/missing.csv", Options{SpoolDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "/missing.csv") {
		t.Fatalf("want 404 error naming the URL, got %v", err)
	}
}

func TestPrepareURLTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer srv.Close()
	_, err := Prepare(context.Background(), srv.URL+"/d.csv", Options{SpoolDir: t.TempDir(), DownloadTimeout: 100 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("got %v", err)
	}
}

func TestPrepareFileErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope.csv")
	_, err := Prepare(context.Background(), missing, Options{SpoolDir: dir})
	if err == nil || err.Error() != "domains file not found: "+missing {
		t.Fatalf("got %v", err)
	}
	sub := filepath.Join(dir, "dir.csv")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Prepare(context.Background(), sub, Options{SpoolDir: dir}); err == nil {
		t.Fatal("want error for a directory")
	}
	// A failed Prepare leaves no spool behind.
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".spool") {
			t.Fatalf("spool left behind: %s", e.Name())
		}
	}
}

func TestReadCSVErrors(t *testing.T) {
	newBuilder := func(t *testing.T) *builder {
		f, err := os.CreateTemp(t.TempDir(), "spool")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return &builder{ctx: context.Background(), set: newSet(newSpool(f))}
	}

	// A read error names the file and the last good line.
	broken := io.MultiReader(strings.NewReader("a.gov\nb.gov\n"), iotest.ErrReader(errors.New("disk on fire")))
	err := newBuilder(t).readCSV("x.csv", broken)
	if err == nil || !strings.Contains(err.Error(), "x.csv after line 2: disk on fire") {
		t.Fatalf("got %v", err)
	}

	// An unbalanced quote must not swallow the rest of a big file.
	big := "a.gov\n\"b.gov\n" + strings.Repeat("c.gov\n", maxRecordBytes/6+1000)
	err = newBuilder(t).readCSV("big.csv", strings.NewReader(big))
	if err == nil || !strings.Contains(err.Error(), "big.csv: after line 1: record longer than") {
		t.Fatalf("got %v", err)
	}

	// Cancellation is noticed while reading.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b := newBuilder(t)
	b.ctx = ctx
	if err := b.readCSV("x.csv", strings.NewReader("a.gov\n")); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
}

func TestListRangeAndClose(t *testing.T) {
	dir := t.TempDir()
	l, err := Prepare(context.Background(), "c.gov,a.gov,b.gov,a.gov", Options{SpoolDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	first, second := rangeAll(t, l), rangeAll(t, l)
	if want := []string{"c.gov", "a.gov", "b.gov"}; !reflect.DeepEqual(first, want) || !reflect.DeepEqual(second, want) {
		t.Fatalf("Range gave %q then %q, want %q twice", first, second, want)
	}
	// Early stop.
	var got []string
	if err := l.Range(func(d string) bool { got = append(got, d); return len(got) < 2 }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("early stop gave %q", got)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("want one spool file, got %v", ents)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("Close left %v", ents)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := l.Range(func(string) bool { return true }); err == nil {
		t.Fatal("Range after Close should fail")
	}
}

func TestRangeConcurrent(t *testing.T) {
	want := []string{"a.gov", "b.gov", "c.gov"}
	l, err := Prepare(context.Background(), strings.Join(want, ","), Options{SpoolDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	done := make(chan []string)
	for range 4 {
		go func() {
			var got []string
			l.Range(func(d string) bool { got = append(got, d); return true })
			done <- got
		}()
	}
	for range 4 {
		if got := <-done; !reflect.DeepEqual(got, want) {
			t.Fatalf("got %q", got)
		}
	}
}
