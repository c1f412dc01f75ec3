package dnsserver

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Behaviour overrides how the server treats one exact query name. It applies
// to every query type at that name; names reached by CNAME chasing are not
// affected.
type Behaviour struct {
	Rcode int           // e.g. dns.RcodeServerFailure, dns.RcodeRefused, dns.RcodeNameError; 0 = normal answers
	Drop  bool          // never answer (the client times out)
	Delay time.Duration // answer after this long (cut short, without an answer, by Close)
}

// Dynamic answers names the static zone does not have, so that very large
// synthetic name sets need not be materialised. It receives the lower-case
// FQDN and the query type and returns the RRs for them; known=false means
// the name does not exist (NXDOMAIN). known=true with no RRs is NODATA.
type Dynamic func(qname string, qtype uint16) (rrs []dns.RR, known bool)

// Zone is an in-memory set of records, keyed by lower-case FQDN. It is safe
// for concurrent use, so tests may change it while a Server is answering.
//
// The lab is authoritative for every name. Negative answers carry the SOA of
// the closest enclosing zone that has an SOA record added; failing that a
// synthetic SOA is made for the last two labels of the name (for
// "x.lab.gov." that is "lab.gov."; a one-label name is its own apex).
type Zone struct {
	mu        sync.RWMutex
	records   map[string][]dns.RR
	nonTerm   map[string]bool // proper ancestors of owners: empty non-terminals unless they own records
	soas      map[string]*dns.SOA
	behaviour map[string]Behaviour
	ad        map[string]bool
}

// NewZone returns an empty zone.
func NewZone() *Zone {
	return &Zone{
		records:   make(map[string][]dns.RR),
		nonTerm:   make(map[string]bool),
		soas:      make(map[string]*dns.SOA),
		behaviour: make(map[string]Behaviour),
		ad:        make(map[string]bool),
	}
}

// canonical lower-cases a name and makes it fully qualified.
func canonical(name string) string {
	return strings.ToLower(dns.Fqdn(name))
}

// Add parses presentation-format RRs, one per argument, e.g.
// `a.lab.gov. 300 IN TXT "v=spf1 " "-all"`. Relative owner names are taken
// as fully qualified. Blank and comment-only lines are ignored. Nothing is
// added if any line fails; the error names the bad line.
func (z *Zone) Add(lines ...string) error {
	parsed := make([]dns.RR, 0, len(lines))
	for i, line := range lines {
		rr, err := dns.NewRR(line)
		if err != nil {
			return fmt.Errorf("dnsserver: record %d %q: %w", i+1, line, err)
		}
		if rr != nil {
			parsed = append(parsed, rr)
		}
	}

	z.mu.Lock()
	defer z.mu.Unlock()
	for _, rr := range parsed {
		owner := canonical(rr.Header().Name)
		rr.Header().Name = dns.Fqdn(rr.Header().Name)
		z.records[owner] = append(z.records[owner], rr)
		if soa, ok := rr.(*dns.SOA); ok {
			z.soas[owner] = soa
		}
		// Remember every ancestor so a name that only has records below
		// it answers NODATA rather than NXDOMAIN (RFC 8020).
		for off, end := dns.NextLabel(owner, 0); !end; off, end = dns.NextLabel(owner, off) {
			z.nonTerm[owner[off:]] = true
		}
	}
	return nil
}

// SetBehaviour overrides the answers for one exact name (case-insensitive).
// A zero Behaviour restores normal answers.
func (z *Zone) SetBehaviour(name string, b Behaviour) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if b == (Behaviour{}) {
		delete(z.behaviour, canonical(name))
		return
	}
	z.behaviour[canonical(name)] = b
}

// SetAD marks every name at or under suffix as DNSSEC-authenticated: answers
// then carry the AD flag, which is what a validating resolver would report.
// The longest matching suffix wins, so a secure zone can contain an insecure
// subtree. The default is false.
func (z *Zone) SetAD(suffix string, ad bool) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.ad[canonical(suffix)] = ad
}

// behaviourFor returns the override for the exact name.
func (z *Zone) behaviourFor(name string) (Behaviour, bool) {
	z.mu.RLock()
	defer z.mu.RUnlock()
	b, ok := z.behaviour[name]
	return b, ok
}

// adFor reports the AD setting of the longest suffix covering name.
func (z *Zone) adFor(name string) bool {
	z.mu.RLock()
	defer z.mu.RUnlock()
	if len(z.ad) == 0 {
		return false
	}
	for off, end := 0, false; !end; off, end = dns.NextLabel(name, off) {
		if ad, ok := z.ad[name[off:]]; ok {
			return ad
		}
	}
	ad, ok := z.ad["."]
	return ok && ad
}

// lookup returns the records at name relevant to qtype: the CNAME when the
// name has one (and qtype is not CNAME), otherwise the records of qtype.
// exists reports whether the static zone has the name at all (including as
// an empty non-terminal); when it does not, dyn is consulted.
func (z *Zone) lookup(name string, qtype uint16, dyn Dynamic) (rrs []dns.RR, exists bool) {
	z.mu.RLock()
	owned, ok := z.records[name]
	nonTerm := z.nonTerm[name]
	var out []dns.RR
	if ok {
		out = selectRRs(owned, qtype)
	}
	z.mu.RUnlock()

	if ok || nonTerm {
		return out, true
	}
	if dyn == nil {
		return nil, false
	}
	return dyn(name, qtype)
}

// selectRRs returns the records of an owner that answer qtype in a fresh
// slice. The records themselves are shared and must not be modified.
func selectRRs(owned []dns.RR, qtype uint16) []dns.RR {
	var cnames, match []dns.RR
	for _, rr := range owned {
		t := rr.Header().Rrtype
		switch {
		case qtype == dns.TypeANY || t == qtype:
			match = append(match, rr)
		case t == dns.TypeCNAME:
			cnames = append(cnames, rr)
		}
	}
	if len(match) == 0 && len(cnames) > 0 {
		return cnames
	}
	return match
}

// soaFor returns the SOA to put in the authority section of a negative
// answer for name.
func (z *Zone) soaFor(name string) dns.RR {
	z.mu.RLock()
	for off, end := 0, false; !end; off, end = dns.NextLabel(name, off) {
		if soa, ok := z.soas[name[off:]]; ok {
			z.mu.RUnlock()
			return dns.Copy(soa)
		}
	}
	z.mu.RUnlock()

	apex := name
	if idx := dns.Split(name); len(idx) > 2 {
		apex = name[idx[len(idx)-2]:]
	}
	return &dns.SOA{
		Hdr:     dns.RR_Header{Name: apex, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 60},
		Ns:      "ns1." + strings.TrimPrefix(apex, "."),
		Mbox:    "hostmaster." + strings.TrimPrefix(apex, "."),
		Serial:  1,
		Refresh: 3600,
		Retry:   600,
		Expire:  86400,
		Minttl:  60,
	}
}
