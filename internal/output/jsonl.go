package output

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"

	"github.com/domainscan/domain-scan/internal/scan"
)

// JSONLWriter writes one compact JSON object per record and line, for
// results/<scanner>.jsonl. It is buffered and not safe for concurrent use.
type JSONLWriter struct {
	w   *bufio.Writer
	enc *json.Encoder
}

// NewJSONLWriter returns a JSONLWriter writing to w.
func NewJSONLWriter(w io.Writer) *JSONLWriter {
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	// Results hold URLs and HTML; keep them readable.
	enc.SetEscapeHTML(false)
	return &JSONLWriter{w: bw, enc: enc}
}

// jsonlRecord fixes the key order of a line.
type jsonlRecord struct {
	Domain     string          `json:"domain"`
	BaseDomain string          `json:"base_domain"`
	Scanner    string          `json:"scanner"`
	Status     scan.Status     `json:"status"`
	Source     scan.Source     `json:"source"`
	Errors     []string        `json:"errors,omitempty"`
	StartTime  string          `json:"start_time,omitempty"`
	EndTime    string          `json:"end_time,omitempty"`
	Duration   json.Number     `json:"duration,omitempty"`
	Data       json.RawMessage `json:"data"`
}

// Write writes rec as one line: domain, base_domain, scanner, status,
// source, errors (if any), start_time, end_time and duration in seconds
// (not for cache hits, which have no times), and data, the cached JSON
// compacted, or null.
func (w *JSONLWriter) Write(rec *scan.Record) error {
	line := jsonlRecord{
		Domain:     rec.Domain,
		BaseDomain: rec.BaseDomain,
		Scanner:    rec.Scanner,
		Status:     rec.Status,
		Source:     rec.Source,
		Errors:     rec.Errors,
		StartTime:  Timestamp(rec.Start),
		EndTime:    Timestamp(rec.End),
		Data:       rec.Data,
	}
	if !rec.Start.IsZero() && !rec.End.IsZero() {
		line.Duration = json.Number(Seconds(rec.Duration()))
	}
	if len(line.Data) == 0 {
		line.Data = nil // encodes as null
	}
	// Encode marshals the whole line before writing any of it, so a bad
	// record (invalid Data) leaves nothing behind.
	if err := w.enc.Encode(&line); err != nil {
		return fmt.Errorf("jsonl: %s: %s: %w", rec.Scanner, rec.Domain, err)
	}
	return nil
}

// Flush writes buffered data to the underlying writer.
func (w *JSONLWriter) Flush() error { return w.w.Flush() }
