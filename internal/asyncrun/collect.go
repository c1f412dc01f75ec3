package asyncrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/domainscan/domain-scan/internal/awslambda"
	"github.com/domainscan/domain-scan/internal/domains"
	"github.com/domainscan/domain-scan/internal/objstore"
	"github.com/domainscan/domain-scan/internal/output"
	"github.com/domainscan/domain-scan/internal/scan"
)

// Counts tally one scanner's domains in a collected run.
type Counts struct {
	Domains int64 `json:"domains"`
	OK      int64 `json:"ok"`
	Failed  int64 `json:"failed"`
	Timeout int64 `json:"timeout"`
	Skipped int64 `json:"skipped"`
	// Missing domains are in batches whose results never arrived; they
	// have failed rows saying so.
	Missing int64 `json:"missing"`
	Rows    int64 `json:"rows"`
}

// Collected is what Collect wrote.
type Collected struct {
	Counts  map[string]*Counts
	Missing []Missing
}

// Collect assembles results/<scanner>.csv (and .jsonl when the run asked
// for it) and results/meta.json in out from the run's batch objects, in
// batch order. Every domain of the run gets its rows: a batch that never
// arrived gives failed rows naming it, and is listed in Missing.
func (c *Client) Collect(ctx context.Context, m *Manifest, out objstore.Store) (*Collected, error) {
	res := &Collected{Counts: map[string]*Counts{}}
	for _, sp := range m.Scanners {
		s, ok := c.Scanners[sp.Name]
		if !ok {
			return nil, fmt.Errorf("the run used scanner %q, which this build does not have", sp.Name)
		}
		cnt := &Counts{}
		res.Counts[sp.Name] = cnt
		missing, err := c.collectScanner(ctx, m, sp, s, out, cnt)
		if err != nil {
			return nil, err
		}
		res.Missing = append(res.Missing, missing...)
	}
	meta := output.Meta{
		Command:  m.Command,
		ScanUUID: m.RunID,
		Start:    m.Created,
		End:      time.Now(),
		Extra:    map[string]any{"counts": map[string]any{"scanners": res.Counts}, "asynchronous": true},
	}
	data, err := output.MarshalMeta(meta)
	if err != nil {
		return nil, err
	}
	if err := out.Put(ctx, "results/meta.json", data); err != nil {
		return nil, fmt.Errorf("write meta.json: %w", err)
	}
	return res, nil
}

func (c *Client) collectScanner(ctx context.Context, m *Manifest, sp ScannerSpec, s scan.Scanner, out objstore.Store, cnt *Counts) (missing []Missing, err error) {
	info := s.Info()
	// On any error the new files are given up, so that a failed collect
	// never replaces good results with partial ones.
	finish := func(w io.WriteCloser, name string, flush func() error) {
		if err == nil && flush != nil {
			err = flush()
		}
		if err != nil {
			objstore.Abort(w, err)
			return
		}
		if cerr := w.Close(); cerr != nil {
			err = fmt.Errorf("write results/%s: %w", name, cerr)
		}
	}
	var jw *output.JSONLWriter
	if m.JSONL {
		jf, jerr := out.Create(ctx, "results/"+sp.Name+".jsonl")
		if jerr != nil {
			return nil, jerr
		}
		jw = output.NewJSONLWriter(jf)
		defer finish(jf, sp.Name+".jsonl", jw.Flush)
	}
	var cw *output.CSVWriter
	if m.CSV || !m.JSONL {
		w, cerr := out.Create(ctx, "results/"+sp.Name+".csv")
		if cerr != nil {
			return nil, cerr
		}
		cw = output.NewCSVWriter(w)
		defer finish(w, sp.Name+".csv", cw.Flush)
		if err := cw.Write(output.Header(info, m.Meta, true)); err != nil {
			return nil, err
		}
	}
	write := func(rec *scan.Record) error {
		rows, rerr := output.RecordRows(info, rec, m.Meta, true)
		for _, r := range rows {
			if cw == nil {
				break
			}
			if err := cw.Write(r); err != nil {
				return err
			}
		}
		cnt.Rows += int64(len(rows))
		if jw != nil {
			if err := jw.Write(rec); err != nil {
				return err
			}
		}
		if rerr != nil {
			c.log().Warn("malformed rows", "scanner", sp.Name, "domain", rec.Domain, "error", rerr)
		}
		return nil
	}
	for b := 1; b <= m.Batches; b++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		lines, err := c.readBatch(ctx, m.RunID, sp.Name, b)
		if errors.Is(err, objstore.ErrNotExist) {
			doms, derr := c.batchDomains(ctx, m.RunID, b)
			if derr != nil {
				return nil, derr
			}
			missing = append(missing, Missing{Scanner: sp.Name, Batch: b, Reason: "never arrived"})
			for _, d := range doms {
				cnt.Domains++
				cnt.Missing++
				rec := &scan.Record{Scanner: sp.Name, Target: scan.Target{Domain: d, BaseDomain: domains.BaseDomain(d)},
					Status: scan.StatusFailed, Source: scan.SourceLambda,
					Errors: []string{fmt.Sprintf("batch %d of asynchronous run %s never arrived", b, m.RunID)}}
				if err := write(rec); err != nil {
					return nil, err
				}
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, l := range lines {
			rec := record(sp.Name, s, l)
			cnt.Domains++
			switch rec.Status {
			case scan.StatusOK:
				cnt.OK++
			case scan.StatusSkipped:
				cnt.Skipped++
			case scan.StatusTimeout:
				cnt.Timeout++
			default:
				cnt.Failed++
			}
			if err := write(rec); err != nil {
				return nil, err
			}
		}
	}
	return missing, nil
}

// record turns a batch line into the engine's record, the result decoded
// into the scanner's type as for any remote result.
func record(name string, s scan.Scanner, l awslambda.BatchLine) *scan.Record {
	rec := &scan.Record{
		Scanner: name,
		Target:  scan.Target{Domain: l.Domain, BaseDomain: domains.BaseDomain(l.Domain)},
		Status:  scan.Status(l.Status),
		Source:  scan.SourceLambda,
		Start:   fromEpoch(l.Start),
		End:     fromEpoch(l.End),
		Lambda: &scan.LambdaMeta{
			RequestID: l.Lambda.RequestID, LogGroupName: l.Lambda.LogGroupName, LogStreamName: l.Lambda.LogStreamName,
			Start: fromEpoch(l.Lambda.StartTime), End: fromEpoch(l.Lambda.EndTime), MemoryLimit: l.Lambda.MemoryLimit,
			MeasuredDuration: time.Duration(l.Lambda.MeasuredDuration * float64(time.Second)),
		},
	}
	if l.Error != "" {
		rec.Errors = []string{l.Error}
	}
	switch rec.Status {
	case scan.StatusOK, scan.StatusFailed, scan.StatusTimeout, scan.StatusSkipped:
	default:
		rec.Status = scan.StatusFailed
		rec.Errors = append(rec.Errors, fmt.Sprintf("unknown status %q", l.Status))
	}
	if rec.Status == scan.StatusOK {
		r := s.NewResult()
		if err := json.Unmarshal(l.Data, r); err != nil {
			rec.Status = scan.StatusFailed
			rec.Errors = append(rec.Errors, "decode result: "+err.Error())
		} else {
			rec.Result, rec.Data = r, l.Data
		}
	}
	return rec
}

func fromEpoch(s float64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(s*1e9))
}
