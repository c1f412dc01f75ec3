package output

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/domainscan/domain-scan/internal/scan"
)

func TestJSONLWriter(t *testing.T) {
	start := time.Date(2018, 3, 25, 15, 1, 46, 123456789, time.UTC)
	recs := []*scan.Record{
		{
			Scanner: "demo", Target: scan.Target{Domain: "a.gov", BaseDomain: "a.gov"},
			Status: scan.StatusOK, Source: scan.SourceLocal,
			Data:  json.RawMessage("{\n  \"url\": \"https://a.gov/?x=1&y=<2>\",\n  \"n\": 1.0\n}"),
			Start: start, End: start.Add(1500 * time.Millisecond),
		},
		{
			Scanner: "demo", Target: scan.Target{Domain: "b.gov", BaseDomain: "b.gov"},
			Status: scan.StatusFailed, Source: scan.SourceCache,
			Errors: []string{"Scan returned nothing."},
		},
		{
			Scanner: "demo", Target: scan.Target{Domain: "c.gov", BaseDomain: "c.gov"},
			Status: scan.StatusInterrupted, Source: scan.SourceLocal, Start: start,
		},
	}
	want := `{"domain":"a.gov","base_domain":"a.gov","scanner":"demo","status":"ok","source":"local","start_time":"2018-03-25T15:01:46.123457Z","end_time":"2018-03-25T15:01:47.623457Z","duration":1.500000,"data":{"url":"https://a.gov/?x=1&y=<2>","n":1.0}}
{"domain":"b.gov","base_domain":"b.gov","scanner":"demo","status":"failed","source":"cache","errors":["Scan returned nothing."],"data":null}
{"domain":"c.gov","base_domain":"c.gov","scanner":"demo","status":"interrupted","source":"local","start_time":"2018-03-25T15:01:46.123457Z","data":null}
`
	var buf bytes.Buffer
	w := NewJSONLWriter(&buf)
	for _, rec := range recs {
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
	}
	bad := &scan.Record{Scanner: "demo", Data: json.RawMessage("{")}
	if err := w.Write(bad); err == nil {
		t.Error("invalid Data: no error")
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
