// Package all is the one list of built-in scanners.
package all

import (
	"github.com/domainscan/domain-scan/internal/scan"
	"github.com/domainscan/domain-scan/internal/scanners/analytics"
	"github.com/domainscan/domain-scan/internal/scanners/noop"
	"github.com/domainscan/domain-scan/internal/scanners/pshtt"
	"github.com/domainscan/domain-scan/internal/scanners/sslyze"
	"github.com/domainscan/domain-scan/internal/scanners/trustymail"
)

// Scanners returns fresh instances of every built-in scanner. Instances carry
// a run's flag values and per-run state, so each run makes its own.
func Scanners() []scan.Scanner {
	return []scan.Scanner{
		noop.New(),
		analytics.New(),
		pshtt.New(),
		trustymail.New(),
		sslyze.New(),
	}
}

// Registry returns a registry of fresh built-in scanners.
func Registry() (*scan.Registry, error) { return scan.NewRegistry(Scanners()...) }
