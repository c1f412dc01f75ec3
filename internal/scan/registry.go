package scan

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// validName keeps scanner names usable as file, directory and Lambda
// function name parts.
var validName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,39}$`)

// Registry is a validated set of scanners.
type Registry struct {
	byName map[string]Scanner
	names  []string // registration order
}

// NewRegistry checks the scanners (valid unique names, headers present,
// DependsOn naming registered scanners, no dependency cycle) and indexes them.
func NewRegistry(list ...Scanner) (*Registry, error) {
	r := &Registry{byName: make(map[string]Scanner, len(list))}
	for _, s := range list {
		info := s.Info()
		if !validName.MatchString(info.Name) {
			return nil, fmt.Errorf("scanner name %q: must be 1-40 characters of a-z, 0-9, '_' or '-'", info.Name)
		}
		if _, dup := r.byName[info.Name]; dup {
			return nil, fmt.Errorf("scanner %q registered twice", info.Name)
		}
		if len(info.Headers) == 0 {
			return nil, fmt.Errorf("scanner %q has no headers", info.Name)
		}
		r.byName[info.Name] = s
		r.names = append(r.names, info.Name)
	}
	for _, name := range r.names {
		for _, dep := range r.byName[name].Info().DependsOn {
			if _, ok := r.byName[dep]; !ok {
				return nil, fmt.Errorf("scanner %q depends on unknown scanner %q", name, dep)
			}
		}
	}
	if _, err := r.Order(r.names); err != nil {
		return nil, err
	}
	return r, nil
}

// Names lists the registered scanners in registration order.
func (r *Registry) Names() []string { return append([]string(nil), r.names...) }

// Get returns the named scanner, or an error that lists the valid names.
func (r *Registry) Get(name string) (Scanner, error) {
	if s, ok := r.byName[name]; ok {
		return s, nil
	}
	valid := append([]string(nil), r.names...)
	sort.Strings(valid)
	return nil, fmt.Errorf("unknown scanner %q (built in: %s)", name, strings.Join(valid, ", "))
}

// Order resolves names to scanners and sorts them so that every scanner runs
// after the scanners it depends on that are also in names. Otherwise the
// given order is kept. Repeated names are dropped.
func (r *Registry) Order(names []string) ([]Scanner, error) {
	var wanted []string
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			continue
		}
		if _, err := r.Get(n); err != nil {
			return nil, err
		}
		seen[n] = true
		wanted = append(wanted, n)
	}
	// Stable topological sort: repeatedly take the first scanner, in the
	// given order, whose dependencies are all placed.
	placed := map[string]bool{}
	var out []Scanner
	for len(out) < len(wanted) {
		progress := false
		for _, n := range wanted {
			if placed[n] || !r.depsPlaced(n, seen, placed) {
				continue
			}
			placed[n] = true
			out = append(out, r.byName[n])
			progress = true
			break
		}
		if !progress {
			var stuck []string
			for _, n := range wanted {
				if !placed[n] {
					stuck = append(stuck, n)
				}
			}
			return nil, fmt.Errorf("scanner dependency cycle among: %s", strings.Join(stuck, ", "))
		}
	}
	return out, nil
}

func (r *Registry) depsPlaced(n string, wanted, placed map[string]bool) bool {
	for _, dep := range r.byName[n].Info().DependsOn {
		if wanted[dep] && !placed[dep] {
			return false
		}
	}
	return true
}
