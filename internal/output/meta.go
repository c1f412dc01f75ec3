package output

import (
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/domainscan/domain-scan/internal/atomicfile"
	"github.com/domainscan/domain-scan/internal/pyjson"
)

// Timing is when one scanner's pass over the domains ran.
type Timing struct{ Start, End time.Time }

// Meta is the content of results/meta.json.
type Meta struct {
	Command    string
	ScanUUID   string
	Start, End time.Time
	// Durations holds each scanner's timing, by scanner name.
	Durations map[string]Timing
	// Interrupted is written, as "interrupted": true, only when true, so
	// that complete runs keep the original's shape.
	Interrupted bool
	// Extra holds keys of ours (such as "counts"), merged at the top level.
	Extra map[string]any
}

// WriteMeta writes <dir>/meta.json atomically, in the original's shape
// and format:
//
//	{"command": ..., "duration": "%.6f", "durations": {name: {"duration": ...,
//	"end_time": ..., "start_time": ...}}, "end_time": ..., "scan_uuid": ...,
//	"start_time": ...}
//
// plus "interrupted" and the Extra keys. Times are Timestamp strings and
// durations Seconds strings; a zero time, and a duration missing either
// end, are null, as the original's helpers gave None. An Extra key that
// collides with one of these is an error.
func WriteMeta(dir string, m Meta) error {
	data, err := MarshalMeta(m)
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, "meta.json"), 0o644, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// MarshalMeta is meta.json's bytes, for stores other than a directory.
func MarshalMeta(m Meta) ([]byte, error) {
	durations := make(map[string]any, len(m.Durations))
	for name, t := range m.Durations {
		durations[name] = timing(t.Start, t.End)
	}
	doc := timing(m.Start, m.End)
	doc["command"] = m.Command
	doc["scan_uuid"] = m.ScanUUID
	doc["durations"] = durations
	if m.Interrupted {
		doc["interrupted"] = true
	}
	for k, v := range m.Extra {
		if _, ok := doc[k]; ok {
			return nil, fmt.Errorf("meta.json: extra key %q is one of the original's keys", k)
		}
		doc[k] = v
	}
	data, err := pyjson.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("meta.json: %w", err)
	}
	return data, nil
}

func timing(start, end time.Time) map[string]any {
	m := map[string]any{"start_time": nil, "end_time": nil, "duration": nil}
	if !start.IsZero() {
		m["start_time"] = Timestamp(start)
	}
	if !end.IsZero() {
		m["end_time"] = Timestamp(end)
	}
	if !start.IsZero() && !end.IsZero() {
		m["duration"] = Seconds(end.Sub(start))
	}
	return m
}
