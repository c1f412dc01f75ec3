package tlsprobe

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

// Result is the outcome of enumerating one protocol version.
type Result struct {
	Version Version
	// Accepted are the suites the server accepted for Version, in the
	// order found (for SSLv2, the server's order).
	Accepted []Suite
	// Conns counts the connections used, retries included.
	Conns int
	// First is the answer to the first hello, which offered every
	// candidate: when the version is accepted, its ServerHello, with the
	// certificates (if wanted) and the renegotiation_info finding.
	First Answer
	// Last is the answer that ended the enumeration: normally the first
	// answer that was not a ServerHello; a ServerHello when the server chose
	// another version or a suite that was not offered (then Err is set), or
	// when it accepted every candidate. For SSLv2 it is First.
	Last Answer
}

// Enumerate finds every suite of Candidates(v) the server accepts for v: it
// offers all of them, takes the suite of the ServerHello (counted only when
// the chosen version is v), removes it and repeats until the server answers
// something else. For SSLv2 one hello suffices, the server listing its
// kinds. It returns the accepted suites in the order found, the number of
// connections used and the answer that ended the search.
func Enumerate(ctx context.Context, cfg Config, v Version) (accepted []Suite, conns int, last Answer) {
	r := EnumerateResult(ctx, cfg, v)
	return r.Accepted, r.Conns, r.Last
}

// EnumerateResult is Enumerate returning the whole Result.
func EnumerateResult(ctx context.Context, cfg Config, v Version) Result {
	return enumerate(ctx, cfg, v, nil)
}

// ProbeAll enumerates the given versions (all of Versions if none), at most
// cfg.Concurrency connections at once, and returns one Result per version
// in the order given.
func ProbeAll(ctx context.Context, cfg Config, versions ...Version) []Result {
	if len(versions) == 0 {
		versions = Versions
	}
	sem := make(chan struct{}, cfg.concurrency())
	results := make([]Result, len(versions))
	var wg sync.WaitGroup
	for i, v := range versions {
		wg.Go(func() { results[i] = enumerate(ctx, cfg, v, sem) })
	}
	wg.Wait()
	return results
}

// enumerate implements Enumerate; sem, if not nil, bounds the connections
// open at once across concurrent enumerations.
func enumerate(ctx context.Context, cfg Config, v Version, sem chan struct{}) Result {
	r := Result{Version: v}
	probe := func(suites []uint32) Answer {
		if sem != nil {
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				return Answer{Kind: Timeout, Err: fmt.Errorf("tlsprobe: waiting for a connection slot: %w", ctx.Err())}
			}
		}
		a, n := hello(ctx, &cfg, v, suites)
		r.Conns += n
		return a
	}

	remaining := suiteIDs(candidates[v])
	if v == SSL20 {
		a := probe(remaining)
		r.First, r.Last = a, a
		if a.Kind == ServerHello && a.Version == SSL20 {
			for _, k := range a.SSLv2Suites {
				if s, ok := Lookup(SSL20, k); ok {
					r.Accepted = append(r.Accepted, s)
				}
			}
		}
		return r
	}

	for first := true; len(remaining) > 0; first = false {
		a := probe(remaining)
		if first {
			r.First = a
			// The certificate matters once; later hellos stop at the
			// ServerHello.
			cfg.WantCertificates = false
		}
		r.Last = a
		if a.Kind != ServerHello || a.Version != v {
			break
		}
		i := slices.Index(remaining, a.Suite)
		if i < 0 {
			// Taking it would not shrink the list: a loop, and a lie.
			if r.Last.Err == nil {
				r.Last.Err = fmt.Errorf("tlsprobe: server chose suite 0x%04x, which was not offered", a.Suite)
			}
			break
		}
		s, _ := Lookup(v, a.Suite)
		r.Accepted = append(r.Accepted, s)
		remaining = slices.Delete(remaining, i, i+1)
	}
	return r
}
