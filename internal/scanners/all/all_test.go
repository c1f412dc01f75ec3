package all

import (
	"flag"
	"testing"

	"github.com/domainscan/domain-scan/internal/scan"
)

func TestRegistry(t *testing.T) {
	reg, err := Registry()
	if err != nil {
		t.Fatal(err)
	}
	if len(reg.Names()) != len(Scanners()) {
		t.Errorf("registry has %d scanners, list %d", len(reg.Names()), len(Scanners()))
	}
	// Scanner flags share one command line: no two may collide.
	owner := map[string]string{}
	for _, s := range Scanners() {
		fd, ok := s.(scan.FlagDefiner)
		if !ok {
			continue
		}
		fs := flag.NewFlagSet(s.Info().Name, flag.ContinueOnError)
		fd.DefineFlags(fs)
		fs.VisitAll(func(f *flag.Flag) {
			if o, dup := owner[f.Name]; dup {
				t.Errorf("flag --%s defined by %s and %s", f.Name, o, s.Info().Name)
			}
			owner[f.Name] = s.Info().Name
		})
	}
}

func TestFreshInstances(t *testing.T) {
	a, b := Scanners(), Scanners()
	for i := range a {
		if a[i] == b[i] {
			t.Errorf("%s: Scanners() returned the same instance twice; per-run state would leak", a[i].Info().Name)
		}
	}
}
