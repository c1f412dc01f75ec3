package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestScanTwoDomains(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := runCLI(t, "scan", "a.gov,b.gov", "--scan=noop", "--output", dir)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	if stdout != "" {
		t.Errorf("stdout = %q, want nothing", stdout)
	}
	b, err := os.ReadFile(filepath.Join(dir, "results", "noop.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\r\n")
	if lines[0] != "Domain,Base Domain,Completed,Constant,Variable" {
		t.Errorf("header = %q", lines[0])
	}
	rows := lines[1 : len(lines)-1]
	sort.Strings(rows)
	if strings.Join(rows, "|") != "a.gov,a.gov,True,12345,a.gov|b.gov,b.gov,True,12345,b.gov" {
		t.Errorf("rows = %q", rows)
	}
}

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"scan", "a.gov", "--scan=noop", "--wrokers=5"}, "unknown flag: --wrokers"},
		{[]string{"scan", "a.gov"}, "--scan is required"},
		{[]string{"scan", "--scan=noop"}, "one <domains> argument"},
		{[]string{"scan", "a.gov", "b.gov", "--scan=noop"}, "got 2"},
		{[]string{"scan", "a.gov", "--scan=nope"}, `unknown scanner "nope"`},
		{[]string{"scan", "a.gov", "--scan=noop", "--noop-delay=soon"}, "noop-delay"},
		{[]string{"scan", "a.gov", "--scan=noop", "--format=xml"}, `unknown format "xml"`},
		{[]string{"scan", "a.gov", "--scan=noop", "--lambda-profile=x"}, "--lambda-profile needs --lambda"},
		{[]string{"scan", "a.gov", "--scan=noop", "--scan-timeout=-1"}, "scan-timeout"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, stdout, stderr := runCLI(t, append(tt.args, "--output", dir)...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			if stdout != "" {
				t.Errorf("stdout = %q", stdout)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.want)
			}
		})
	}
}

func TestAnalyticsNeedsItsFlag(t *testing.T) {
	code, _, stderr := runCLI(t, "scan", "a.gov", "--scan=analytics", "--output", t.TempDir())
	if code != exitFailed || !strings.Contains(stderr, "--analytics") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func TestAnalytics(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "dap.csv")
	if err := os.WriteFile(list, []byte("Domain,Agency\nA.gov,x\nc.gov,y\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, "scan", "a.gov,b.gov", "--scan=analytics", "--analytics", list, "--output", dir, "--sort", "-q")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "results", "analytics.csv"))
	want := "Domain,Base Domain,Participates in Analytics\r\na.gov,a.gov,True\r\nb.gov,b.gov,False\r\n"
	if string(b) != want {
		t.Errorf("analytics.csv = %q, want %q", b, want)
	}
}

// TestScanCSVEndToEnd runs noop over a 1,000-line CSV and checks every file
// the run leaves.
func TestScanCSVEndToEnd(t *testing.T) {
	dir := t.TempDir()
	var in strings.Builder
	in.WriteString("\ufeffDomain Name,Domain Type,Agency\r\n")
	var want []string
	for i := range 1000 {
		switch i {
		case 10:
			in.WriteString("bad domain!.gov,Federal,X\r\n") // line 12
			continue
		case 20:
			in.WriteString("AGENCY0001.GOV,Federal,dup\r\n") // duplicate of line 3
			continue
		}
		d := fmt.Sprintf("agency%04d.gov", i)
		if i%3 == 0 {
			fmt.Fprintf(&in, "%s,Federal,\"Agency, %d\"\r\n", strings.ToUpper(d), i)
		} else {
			fmt.Fprintf(&in, "%s,Federal,Agency %d\r\n", d, i)
		}
		want = append(want, d)
	}
	csvPath := filepath.Join(dir, "domains.csv")
	if err := os.WriteFile(csvPath, []byte(in.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	code, stdout, stderr := runCLI(t, "scan", csvPath, "--scan=noop", "--output", out, "--workers=50", "--sort")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if stdout != "" {
		t.Errorf("stdout = %q", stdout)
	}
	if !strings.Contains(stderr, "domains.csv:12") || !strings.Contains(stderr, "bad domain!.gov") {
		t.Errorf("invalid line not reported with file and line:\n%s", stderr)
	}

	// results/: exactly noop.csv and meta.json.
	entries, _ := os.ReadDir(filepath.Join(out, "results"))
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "meta.json,noop.csv" {
		t.Errorf("results/ holds %v", names)
	}

	sort.Strings(want)
	var wantCSV strings.Builder
	wantCSV.WriteString("Domain,Base Domain,Completed,Constant,Variable\r\n")
	for _, d := range want {
		fmt.Fprintf(&wantCSV, "%s,%s,True,12345,%s\r\n", d, d, d)
	}
	got, _ := os.ReadFile(filepath.Join(out, "results", "noop.csv"))
	if string(got) != wantCSV.String() {
		t.Errorf("noop.csv differs from expected (%d vs %d bytes)", len(got), wantCSV.Len())
	}

	// cache/: one file per domain with the original's JSON, nothing else.
	for _, d := range want {
		b, err := os.ReadFile(filepath.Join(out, "cache", "noop", d+".json"))
		if err != nil {
			t.Fatal(err)
		}
		w := fmt.Sprintf("{\n  \"complete\": true,\n  \"constant\": 12345,\n  \"variable\": %q\n}", d)
		if string(b) != w {
			t.Fatalf("cache %s = %q, want %q", d, b, w)
		}
	}
	cached, _ := os.ReadDir(filepath.Join(out, "cache", "noop"))
	if len(cached) != len(want) {
		t.Errorf("%d cache files, want %d", len(cached), len(want))
	}
	top, _ := os.ReadDir(filepath.Join(out, "cache"))
	if len(top) != 1 || top[0].Name() != "noop" {
		var n []string
		for _, e := range top {
			n = append(n, e.Name())
		}
		t.Errorf("cache/ holds %v, want only noop/ (no leftover spool or temp files)", n)
	}

	// meta.json: the original's keys, plus counts.
	mb, _ := os.ReadFile(filepath.Join(out, "results", "meta.json"))
	var meta map[string]any
	if err := json.Unmarshal(mb, &meta); err != nil {
		t.Fatalf("meta.json: %v\n%s", err, mb)
	}
	ts := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$`)
	dur := regexp.MustCompile(`^\d+\.\d{6}$`)
	if !ts.MatchString(meta["start_time"].(string)) || !ts.MatchString(meta["end_time"].(string)) || !dur.MatchString(meta["duration"].(string)) {
		t.Errorf("meta times: %s", mb)
	}
	if !regexp.MustCompile(`^[0-9a-f-]{36}$`).MatchString(meta["scan_uuid"].(string)) {
		t.Errorf("scan_uuid = %v", meta["scan_uuid"])
	}
	if !strings.Contains(meta["command"].(string), "--scan=noop") {
		t.Errorf("command = %v", meta["command"])
	}
	d := meta["durations"].(map[string]any)["noop"].(map[string]any)
	if !dur.MatchString(d["duration"].(string)) || !ts.MatchString(d["start_time"].(string)) {
		t.Errorf("durations: %v", d)
	}
	if _, ok := meta["interrupted"]; ok {
		t.Errorf("uninterrupted run has the interrupted key")
	}
	counts := meta["counts"].(map[string]any)
	input := counts["input"].(map[string]any)
	if input["entries"].(float64) != 1000 || input["valid"].(float64) != 998 || input["invalid"].(float64) != 1 || input["duplicates"].(float64) != 1 {
		t.Errorf("input counts = %v", input)
	}
	if ok := counts["scanners"].(map[string]any)["noop"].(map[string]any)["ok"].(float64); ok != 998 {
		t.Errorf("noop ok = %v", ok)
	}
	if !strings.HasPrefix(string(mb), "{\n  \"command\": ") {
		t.Errorf("meta.json is not in the original's format:\n%s", mb)
	}
}

func TestScannersCommand(t *testing.T) {
	code, stdout, _ := runCLI(t, "scanners")
	if code != 0 {
		t.Fatal(code)
	}
	for _, want := range []string{"noop", "analytics", "Completed, Constant, Variable", "Participates in Analytics", "--noop-delay", "--analytics"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("scanners output lacks %q:\n%s", want, stdout)
		}
	}
}

// Pipelines pass the original's flags of scanners that are not built yet:
// they are accepted and reported as ignored, not errors.
func TestReservedFlagsAccepted(t *testing.T) {
	code, _, stderr := runCLI(t, "scan", "a.test", "--scan=noop", "--timeout=30", "--mx", "--sslyze-certs=false",
		"--output", t.TempDir(), "-q")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, f := range []string{"--timeout", "--mx", "--sslyze-certs"} {
		if !strings.Contains(stderr, "flag="+f) {
			t.Errorf("no warning for %s:\n%s", f, stderr)
		}
	}
}
