package trustymail

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// lookupKind classifies a failed lookup the way dnspython did, because the
// original's columns depend on the class (a name that does not exist makes
// a domain "not live", a timeout does not).
type lookupKind int

const (
	kindNXDOMAIN      lookupKind = iota + 1 // the name does not exist
	kindNoAnswer                            // the name exists, no record of the type
	kindNoNameservers                       // every server answered SERVFAIL, REFUSED or garbage
	kindTimeout                             // no answer within the lifetime
)

// lookupError is a failed lookup. For NXDOMAIN and NoAnswer the response is
// kept, because the DNSSEC columns read its AD flag.
type lookupError struct {
	kind  lookupKind
	name  string
	qtype uint16
	msg   *dns.Msg
	cause error
}

func (e *lookupError) Error() string {
	t := dns.TypeToString[e.qtype]
	switch e.kind {
	case kindNXDOMAIN:
		return fmt.Sprintf("the DNS query name does not exist: %s", e.name)
	case kindNoAnswer:
		return fmt.Sprintf("the DNS response does not contain an answer to the question: %s IN %s", e.name, t)
	case kindNoNameservers:
		if e.cause != nil {
			return fmt.Sprintf("all nameservers failed to answer the query %s IN %s: %v", e.name, t, e.cause)
		}
		return fmt.Sprintf("all nameservers failed to answer the query %s IN %s", e.name, t)
	default:
		if e.cause != nil {
			return fmt.Sprintf("the DNS operation timed out (%s IN %s): %v", e.name, t, e.cause)
		}
		return fmt.Sprintf("the DNS operation timed out (%s IN %s)", e.name, t)
	}
}

func kindOf(err error) lookupKind {
	var le *lookupError
	if errors.As(err, &le) {
		return le.kind
	}
	return kindTimeout
}

// adOf is the DNSSEC column of a lookup: the AD flag of the answer, or
// unknown (nil) when there was no usable answer.
func adOf(msg *dns.Msg, err error) *bool {
	if err != nil {
		var le *lookupError
		if errors.As(err, &le) && le.msg != nil {
			return ptr(le.msg.AuthenticatedData)
		}
		return nil
	}
	if msg == nil {
		return nil
	}
	return ptr(msg.AuthenticatedData)
}

// resolver asks recursive resolvers directly with miekg/dns, so that the
// scanner sees rcodes and the AD flag, which the standard library hides.
// Queries go over UDP with the DO and AD bits set and fall back to TCP when
// an answer is truncated; one query per name and type gives both the
// records and the DNSSEC column (the original asked twice, over TCP).
type resolver struct {
	servers  []string      // host:port
	lifetime time.Duration // bound of one lookup over all tries (--timeout)
	next     atomic.Uint32
	udp, tcp *dns.Client
}

// tryTimeout bounds one exchange with one server; a lookup tries again
// (rotating servers) until its lifetime is over.
const tryTimeout = 3 * time.Second

func newResolver(servers []string, lifetime time.Duration) *resolver {
	var unique []string // a server listed twice is one server
	for _, srv := range servers {
		if !slices.Contains(unique, srv) {
			unique = append(unique, srv)
		}
	}
	return &resolver{
		servers:  unique,
		lifetime: lifetime,
		udp:      &dns.Client{Net: "udp", UDPSize: 4096},
		tcp:      &dns.Client{Net: "tcp"},
	}
}

// query looks up name (absolute or not) and type, returning the response
// when it holds at least one record of that type.
func (r *resolver) query(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	fqdn := dns.Fqdn(strings.ToLower(name))
	shown := strings.TrimSuffix(fqdn, ".")
	if len(r.servers) == 0 {
		return nil, &lookupError{kind: kindNoNameservers, name: shown, qtype: qtype, cause: errors.New("no DNS servers configured")}
	}
	if _, ok := dns.IsDomainName(fqdn); !ok {
		return nil, &lookupError{kind: kindNXDOMAIN, name: shown, qtype: qtype, cause: errors.New("not a domain name")}
	}
	ctx, cancel := context.WithTimeout(ctx, r.lifetime)
	defer cancel()
	q := new(dns.Msg)
	q.SetQuestion(fqdn, qtype)
	q.RecursionDesired = true
	q.AuthenticatedData = true
	q.SetEdns0(4096, true)

	failed := make([]bool, len(r.servers)) // servers that answered with a failure
	nFailed := 0
	var lastErr error
	for {
		if nFailed == len(r.servers) {
			// As dnspython without retry_servfail: every server refused.
			return nil, &lookupError{kind: kindNoNameservers, name: shown, qtype: qtype, cause: lastErr}
		}
		if ctx.Err() != nil {
			return nil, &lookupError{kind: kindTimeout, name: shown, qtype: qtype, cause: lastErr}
		}
		i := int(r.next.Add(1)) % len(r.servers)
		for failed[i] {
			i = (i + 1) % len(r.servers)
		}
		server := r.servers[i]
		resp, err := r.exchange(ctx, q, server)
		if err != nil {
			lastErr = err
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || ctx.Err() != nil {
				continue // no answer yet: try again until the lifetime is over
			}
			// Refused connections, garbage: this server is of no use.
			failed[i] = true
			nFailed++
			continue
		}
		switch resp.Rcode {
		case dns.RcodeSuccess:
			for _, rr := range resp.Answer {
				if rr.Header().Rrtype == qtype {
					return resp, nil
				}
			}
			return nil, &lookupError{kind: kindNoAnswer, name: shown, qtype: qtype, msg: resp}
		case dns.RcodeNameError:
			return nil, &lookupError{kind: kindNXDOMAIN, name: shown, qtype: qtype, msg: resp}
		default:
			lastErr = fmt.Errorf("%s answered %s", server, dns.RcodeToString[resp.Rcode])
			failed[i] = true
			nFailed++
		}
	}
}

func (r *resolver) exchange(ctx context.Context, q *dns.Msg, server string) (*dns.Msg, error) {
	try, cancel := context.WithTimeout(ctx, tryTimeout)
	defer cancel()
	q.Id = dns.Id()
	resp, _, err := r.udp.ExchangeContext(try, q, server)
	if err == nil && resp.Truncated {
		resp, _, err = r.tcp.ExchangeContext(try, q, server)
	}
	if err == nil && resp.Id != q.Id {
		err = errors.New("answer with another id")
	}
	return resp, err
}

// txt returns the TXT records of name, each record's strings joined
// without a separator (what the original's remove_quotes produced).
func txtRecords(msg *dns.Msg) []string {
	var out []string
	for _, rr := range msg.Answer {
		if t, ok := rr.(*dns.TXT); ok {
			out = append(out, strings.Join(t.Txt, ""))
		}
	}
	return out
}

// hostAddrs looks up the IPv4 addresses of host, and whether it has IPv6
// ones when it has no IPv4 address.
func (r *resolver) hostAddrs(ctx context.Context, host string) (v4 []net.IP, hasV6 bool, err error) {
	msg, err := r.query(ctx, host, dns.TypeA)
	if err == nil {
		for _, rr := range msg.Answer {
			if a, ok := rr.(*dns.A); ok {
				v4 = append(v4, a.A)
			}
		}
		return v4, false, nil
	}
	if k := kindOf(err); k == kindNXDOMAIN || k == kindNoAnswer {
		if m6, err6 := r.query(ctx, host, dns.TypeAAAA); err6 == nil && len(m6.Answer) > 0 {
			return nil, true, err
		}
	}
	return nil, false, err
}

func ptr[T any](v T) *T { return &v }
