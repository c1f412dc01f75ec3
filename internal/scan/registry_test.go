package scan_test

import (
	"context"
	"strings"
	"testing"

	"github.com/domainscan/domain-scan/internal/scan"
)

type fake struct {
	name string
	deps []string
	hdrs []string
}

func (f fake) Info() scan.Info {
	h := f.hdrs
	if h == nil {
		h = []string{"X"}
	}
	return scan.Info{Name: f.name, DependsOn: f.deps, Headers: h}
}
func (fake) NewResult() scan.Result                              { return nil }
func (fake) Scan(context.Context, scan.Job) (scan.Result, error) { return nil, nil }

func names(ss []scan.Scanner) string {
	var out []string
	for _, s := range ss {
		out = append(out, s.Info().Name)
	}
	return strings.Join(out, ",")
}

func TestOrder(t *testing.T) {
	reg, err := scan.NewRegistry(
		fake{name: "pshtt"},
		fake{name: "trustymail"},
		fake{name: "sslyze", deps: []string{"pshtt", "trustymail"}},
		fake{name: "a11y", deps: []string{"pshtt"}},
		fake{name: "noop"},
	)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in, want string
	}{
		{"sslyze,pshtt,trustymail", "pshtt,trustymail,sslyze"},
		{"sslyze,trustymail,pshtt", "trustymail,pshtt,sslyze"},
		{"pshtt,sslyze", "pshtt,sslyze"},
		{"sslyze", "sslyze"}, // dependencies only order; they are not added
		{"noop,a11y,sslyze,pshtt", "noop,pshtt,a11y,sslyze"},
		{"noop,noop", "noop"},
	}
	for _, tt := range tests {
		got, err := reg.Order(strings.Split(tt.in, ","))
		if err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		if names(got) != tt.want {
			t.Errorf("Order(%s) = %s, want %s", tt.in, names(got), tt.want)
		}
	}
	if _, err := reg.Order([]string{"pshtt", "nope"}); err == nil || !strings.Contains(err.Error(), `unknown scanner "nope"`) || !strings.Contains(err.Error(), "sslyze") {
		t.Errorf("unknown scanner error = %v, want one naming it and listing the valid ones", err)
	}
}

func TestNewRegistryRejects(t *testing.T) {
	tests := []struct {
		name string
		list []scan.Scanner
		want string
	}{
		{"duplicate", []scan.Scanner{fake{name: "a"}, fake{name: "a"}}, "registered twice"},
		{"bad name", []scan.Scanner{fake{name: "../x"}}, "must be"},
		{"empty name", []scan.Scanner{fake{name: ""}}, "must be"},
		{"no headers", []scan.Scanner{fake{name: "a", hdrs: []string{}}}, "no headers"},
		{"unknown dep", []scan.Scanner{fake{name: "a", deps: []string{"b"}}}, "unknown scanner"},
		{"cycle", []scan.Scanner{fake{name: "a", deps: []string{"b"}}, fake{name: "b", deps: []string{"a"}}}, "cycle"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := scan.NewRegistry(tt.list...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want containing %q", err, tt.want)
			}
		})
	}
}
