package trustymail

import (
	"context"
	"errors"
	"net"
	"strings"

	"blitiri.com.ar/go/spf"
	"github.com/miekg/dns"
)

// spfProbeIP and spfSender are what trustymail evaluated SPF records for:
// an address no domain authorises, so that "valid" means "evaluates to a
// definite answer" (pass, fail, softfail or neutral), not "authorises".
var spfProbeIP = net.ParseIP("100.27.42.254")

const spfSenderLocal = "email_wizard"

// IsSPFRecord says whether a TXT record is an SPF version 1 record: the
// version term "v=spf1" (case-insensitive, RFC 7208 §4.5) alone or followed
// by a space. The original matched the case-sensitive prefix "v=spf1",
// which also took "v=spf10".
func IsSPFRecord(txt string) bool {
	if len(txt) < 6 || !strings.EqualFold(txt[:6], "v=spf1") {
		return false
	}
	return len(txt) == 6 || txt[6] == ' '
}

// SPFRecords returns the SPF records among TXT records, in answer order.
func SPFRecords(txts []string) []string {
	var out []string
	for _, t := range txts {
		if IsSPFRecord(t) {
			out = append(out, t)
		}
	}
	return out
}

// evaluateSPF runs RFC 7208 check_host for domain with blitiri.com.ar/go/spf
// (includes, redirects, macros, the limit of 10 DNS-querying terms and 2
// void lookups), answering the domain's own TXT query from txts, which the
// caller already has.
func (r *resolver) evaluateSPF(ctx context.Context, domain string, txts []string) (spf.Result, error) {
	res := &spfResolver{r: r, pinned: dns.Fqdn(strings.ToLower(domain)), txts: txts}
	return spf.CheckHostWithSender(spfProbeIP, domain, spfSenderLocal+"@"+domain,
		spf.WithContext(ctx), spf.WithResolver(res))
}

// spfResolver adapts resolver to the SPF library's interface, with the
// errors the library understands (*net.DNSError: not found, temporary).
type spfResolver struct {
	r      *resolver
	pinned string
	txts   []string
}

func (s *spfResolver) dnsErr(err error, name string) error {
	de := &net.DNSError{Err: err.Error(), Name: name}
	switch kindOf(err) {
	case kindNXDOMAIN, kindNoAnswer:
		de.IsNotFound = true
	case kindTimeout:
		de.IsTimeout, de.IsTemporary = true, true
	default:
		de.IsTemporary = true
	}
	return de
}

func (s *spfResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	if dns.Fqdn(strings.ToLower(name)) == s.pinned {
		return s.txts, nil
	}
	msg, err := s.r.query(ctx, name, dns.TypeTXT)
	if err != nil {
		return nil, s.dnsErr(err, name)
	}
	return txtRecords(msg), nil
}

func (s *spfResolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	msg, err := s.r.query(ctx, name, dns.TypeMX)
	if err != nil {
		return nil, s.dnsErr(err, name)
	}
	var out []*net.MX
	for _, rr := range msg.Answer {
		if mx, ok := rr.(*dns.MX); ok {
			out = append(out, &net.MX{Host: mx.Mx, Pref: mx.Preference})
		}
	}
	return out, nil
}

func (s *spfResolver) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	var out []net.IPAddr
	var firstErr error
	for _, t := range []uint16{dns.TypeA, dns.TypeAAAA} {
		msg, err := s.r.query(ctx, host, t)
		if err != nil {
			if firstErr == nil || kindOf(firstErr) == kindNoAnswer {
				firstErr = err
			}
			if kindOf(err) == kindNXDOMAIN {
				break
			}
			continue
		}
		for _, rr := range msg.Answer {
			switch a := rr.(type) {
			case *dns.A:
				out = append(out, net.IPAddr{IP: a.A})
			case *dns.AAAA:
				out = append(out, net.IPAddr{IP: a.AAAA})
			}
		}
	}
	if len(out) == 0 && firstErr != nil {
		return nil, s.dnsErr(firstErr, host)
	}
	return out, nil
}

func (s *spfResolver) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	rev, err := dns.ReverseAddr(addr)
	if err != nil {
		return nil, &net.DNSError{Err: err.Error(), Name: addr, IsNotFound: true}
	}
	msg, err := s.r.query(ctx, rev, dns.TypePTR)
	if err != nil {
		return nil, s.dnsErr(err, rev)
	}
	var out []string
	for _, rr := range msg.Answer {
		if p, ok := rr.(*dns.PTR); ok {
			out = append(out, p.Ptr)
		}
	}
	return out, nil
}

// spfValid maps an evaluation to "Valid SPF" as trustymail did: a definite
// answer is valid; none, temperror and permerror are not.
func spfValid(res spf.Result) bool {
	switch res {
	case spf.Pass, spf.Fail, spf.SoftFail, spf.Neutral:
		return true
	}
	return false
}

// spfErrText is the explanation of a result for Debug Info.
func spfErrText(err error) string {
	if err == nil || errors.Is(err, spf.ErrMatchedAll) || strings.HasPrefix(err.Error(), "matched") {
		return ""
	}
	return err.Error()
}
