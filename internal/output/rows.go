package output

import (
	"errors"
	"fmt"
	"strings"

	"github.com/domainscan/domain-scan/internal/scan"
)

// Column names the original put around each scanner's own headers.
var (
	// PrefixHeaders start every results CSV.
	PrefixHeaders = []string{"Domain", "Base Domain"}
	// LocalHeaders follow the scanner's headers under --meta.
	LocalHeaders = []string{"Local Errors", "Local Start Time", "Local End Time", "Local Duration"}
	// LambdaHeaders follow LocalHeaders under --meta for scanners run in
	// Lambda.
	LambdaHeaders = []string{
		"Lambda Request ID",
		"Lambda Log Group Name", "Lambda Log Stream Name",
		"Lambda Start Time", "Lambda End Time",
		"Lambda Memory Limit", "Lambda Measured Duration",
	}
)

// Header returns the header row of a scanner's results CSV: PrefixHeaders,
// info.Headers, then LocalHeaders if meta and LambdaHeaders if meta and
// lambda. The result is a new slice.
func Header(info scan.Info, meta, lambda bool) []string {
	h := make([]string, 0, len(PrefixHeaders)+len(info.Headers)+len(LocalHeaders)+len(LambdaHeaders))
	h = append(h, PrefixHeaders...)
	h = append(h, info.Headers...)
	if meta {
		h = append(h, LocalHeaders...)
		if lambda {
			h = append(h, LambdaHeaders...)
		}
	}
	return h
}

// RecordRows turns a record into CSV rows as the original's write_rows
// did: each row of rec.Result.Rows() becomes [domain, base domain] plus
// its formatted cells, plus the meta cells if meta. A record without a
// result (failed, timed out, interrupted) still gives one row, of blank
// cells, so that its errors show under --meta; a result with no rows gives
// none, and so does a skipped record, which the original never wrote.
//
// A result row of the wrong length is padded or cut to len(info.Headers)
// so that columns stay aligned, and reported in the returned error next
// to the rows, for the caller to log.
func RecordRows(info scan.Info, rec *scan.Record, meta, lambda bool) ([][]string, error) {
	if rec.Status == scan.StatusSkipped {
		return nil, nil
	}
	var metaCells []string
	if meta {
		metaCells = metaFields(rec)
		if lambda {
			metaCells = append(metaCells, lambdaFields(rec.Lambda)...)
		}
	}
	width := len(info.Headers)
	row := func(cells []any) []string {
		r := make([]string, 0, len(PrefixHeaders)+width+len(metaCells))
		r = append(r, rec.Domain, rec.BaseDomain)
		for _, c := range cells[:min(len(cells), width)] {
			r = append(r, Cell(c))
		}
		for len(r) < len(PrefixHeaders)+width {
			r = append(r, "")
		}
		return append(r, metaCells...)
	}

	if rec.Result == nil {
		return [][]string{row(nil)}, nil
	}
	var (
		rows [][]string
		errs []error
	)
	for i, cells := range rec.Result.Rows() {
		if len(cells) != width {
			errs = append(errs, fmt.Errorf("%s: %s: row %d has %d cells, want %d (one per header)",
				info.Name, rec.Domain, i, len(cells), width))
		}
		rows = append(rows, row(cells))
	}
	return rows, errors.Join(errs...)
}

// metaFields are the --meta cells. Cache hits have no times: the original
// left those cells blank. Like the original after an exception, a record
// with a start but no end has no end time or duration.
func metaFields(rec *scan.Record) []string {
	cells := []string{strings.Join(rec.Errors, " "), Timestamp(rec.Start), Timestamp(rec.End), ""}
	if !rec.Start.IsZero() && !rec.End.IsZero() {
		cells[3] = Seconds(rec.Duration())
	}
	return cells
}

// lambdaFields are the --meta Lambda cells. Unlike the original, which
// appended them only to records it had just invoked (so cache hits made
// ragged rows), every row of a Lambda scanner has them, blank when the
// record did not come from an invocation.
func lambdaFields(m *scan.LambdaMeta) []string {
	if m == nil {
		return make([]string, len(LambdaHeaders))
	}
	return []string{m.RequestID, m.LogGroupName, m.LogStreamName, Timestamp(m.Start), Timestamp(m.End),
		m.MemoryLimit, Seconds(m.MeasuredDuration)}
}
