package output

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestWriteMeta(t *testing.T) {
	dir := t.TempDir()
	start := time.Date(2018, 3, 25, 15, 1, 46, 123456000, time.UTC)
	m := Meta{
		Command:  "domain-scan scan domains.csv --scan=pshtt,sslyze",
		ScanUUID: "0f6e4d3c-2b1a-4c5d-8e9f-0a1b2c3d4e5f",
		Start:    start,
		End:      start.Add(100 * time.Second),
		Durations: map[string]Timing{
			"sslyze": {Start: start.Add(40 * time.Second), End: start.Add(100 * time.Second)},
			"pshtt":  {Start: start.Add(time.Second), End: start.Add(40*time.Second + 500*time.Microsecond)},
		},
	}
	// Checked against python3: json.dumps(metadata, sort_keys=True, indent=2)
	// of the original's metadata dict with these values.
	want := `{
  "command": "domain-scan scan domains.csv --scan=pshtt,sslyze",
  "duration": "100.000000",
  "durations": {
    "pshtt": {
      "duration": "39.000500",
      "end_time": "2018-03-25T15:02:26.123956Z",
      "start_time": "2018-03-25T15:01:47.123456Z"
    },
    "sslyze": {
      "duration": "60.000000",
      "end_time": "2018-03-25T15:03:26.123456Z",
      "start_time": "2018-03-25T15:02:26.123456Z"
    }
  },
  "end_time": "2018-03-25T15:03:26.123456Z",
  "scan_uuid": "0f6e4d3c-2b1a-4c5d-8e9f-0a1b2c3d4e5f",
  "start_time": "2018-03-25T15:01:46.123456Z"
}`
	if err := WriteMeta(dir, m); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "meta.json")
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("mode: %v, %v", fi.Mode(), err)
	}

	// Interrupted, extra keys, an unfinished scanner.
	m.Interrupted = true
	m.Extra = map[string]any{"counts": map[string]int{"ok": 2, "failed": 1}}
	m.Durations = map[string]Timing{"pshtt": {Start: start}}
	want = `{
  "command": "domain-scan scan domains.csv --scan=pshtt,sslyze",
  "counts": {
    "failed": 1,
    "ok": 2
  },
  "duration": "100.000000",
  "durations": {
    "pshtt": {
      "duration": null,
      "end_time": null,
      "start_time": "2018-03-25T15:01:46.123456Z"
    }
  },
  "end_time": "2018-03-25T15:03:26.123456Z",
  "interrupted": true,
  "scan_uuid": "0f6e4d3c-2b1a-4c5d-8e9f-0a1b2c3d4e5f",
  "start_time": "2018-03-25T15:01:46.123456Z"
}`
	if err := WriteMeta(dir, m); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("left files behind: %v", entries)
	}

	m.Extra = map[string]any{"scan_uuid": "x"}
	if err := WriteMeta(dir, m); err == nil {
		t.Error("colliding extra key: no error")
	}
}
