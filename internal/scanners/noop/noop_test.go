package noop

import (
	"flag"
	"testing"
	"time"

	"github.com/domainscan/domain-scan/internal/scan"
	"github.com/domainscan/domain-scan/internal/scanners/scannertest"
)

func TestConformance(t *testing.T) {
	scannertest.Run(t, New(), []scannertest.Case{
		{Target: scan.Target{Domain: "a.gov", BaseDomain: "a.gov"}, Want: []any{true, 12345, "a.gov"}},
		{Target: scan.Target{Domain: "www.b.gov", BaseDomain: "b.gov"}, Want: []any{true, 12345, "www.b.gov"}},
	})
	s := New()
	if err := s.delay.Set("10"); err != nil {
		t.Fatal(err)
	}
	scannertest.Cancellation(t, s, scan.Job{Target: scan.Target{Domain: "a.gov"}})
}

func TestDelayFlag(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"2", 2 * time.Second, false},
		{"0", 0, false},
		{"250ms", 250 * time.Millisecond, false},
		{"-1", 0, true},
		{"soon", 0, true},
	}
	for _, tt := range tests {
		s := New()
		fs := flag.NewFlagSet("noop", flag.ContinueOnError)
		fs.SetOutput(discard{})
		s.DefineFlags(fs)
		err := fs.Parse([]string{"--noop-delay=" + tt.in})
		if (err != nil) != tt.wantErr {
			t.Errorf("%q: err = %v", tt.in, err)
			continue
		}
		if !tt.wantErr && time.Duration(s.delay) != tt.want {
			t.Errorf("%q: delay = %s, want %s", tt.in, time.Duration(s.delay), tt.want)
		}
	}
}

func TestDelayIsHonoured(t *testing.T) {
	s := New()
	if err := s.delay.Set("150ms"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := s.Scan(t.Context(), scan.Job{Target: scan.Target{Domain: "a.gov"}}); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 150*time.Millisecond {
		t.Errorf("scan took %s, want at least the 150ms delay", el)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
