// Package labtest starts the lab from tests: one call gives a running lab
// (resolver address, CA pool, scenarios) that shuts down with the test.
package labtest

import (
	"context"
	"crypto/x509"
	"testing"

	"github.com/domainscan/domain-scan/internal/lab"
)

// Lab is a running lab for one test.
type Lab struct {
	*lab.Lab
	// Roots trusts the lab CA (what --ca_file gives a scanner).
	Roots *x509.CertPool
}

// Start serves the whole catalogue (or the given scenarios) until the test
// ends. It listens on high ports with a port map, so tests behave the same
// with and without root; Lab.Network() and Lab.ScanFlags() reach it.
func Start(t testing.TB, scenarios ...*lab.Scenario) *Lab {
	t.Helper()
	opts := lab.Options{HighPorts: true, Dir: t.TempDir()}
	if len(scenarios) > 0 {
		opts.Scenarios = scenarios
	}
	l, err := lab.Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("start the lab: %v", err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("close the lab: %v", err)
		}
	})
	return &Lab{Lab: l, Roots: l.CA.RootPool()}
}

// Scenario returns the catalogue scenario of domain, failing the test if
// there is none.
func (l *Lab) Scenario(t testing.TB, domain string) *lab.Scenario {
	t.Helper()
	for _, sc := range l.Scenarios {
		if sc.Domain == domain {
			return sc
		}
	}
	t.Fatalf("no lab scenario %q", domain)
	return nil
}

// Scenarios returns the catalogue scenarios of the given domains (to
// serve only them with Start), failing the test if one is missing.
func Scenarios(t testing.TB, domains ...string) []*lab.Scenario {
	t.Helper()
	var out []*lab.Scenario
	for _, sc := range lab.Catalogue() {
		for _, d := range domains {
			if sc.Domain == d {
				out = append(out, sc)
			}
		}
	}
	if len(out) != len(domains) {
		t.Fatalf("found %d of the scenarios %v", len(out), domains)
	}
	return out
}
