package trustymail

import "strings"

type partKind int

const (
	partMX partKind = iota + 1
	partSTARTTLS
	partSPF
	partDMARC
)

// part is what one check found, applied to the domain afterwards (so the
// checks can run at the same time and still be applied in order).
type part struct {
	kind          partKind
	live          bool // false: this check found the domain not live
	dnssec        *bool
	debug, syntax []string

	mailServers []string // MX

	ports    []int // STARTTLS
	smtpKeys []string
	smtp     map[string]SMTPResult

	spf      []string // SPF
	validSPF bool

	dmarc       []string // DMARC
	dmarcDNSSEC *bool
	validDMARC  bool
	parsed      *DMARC
}

// domainState mirrors trustymail's Domain object: nil slices are checks
// that did not run (None in the original's cells).
type domainState struct {
	name, base string
	isBase     bool
	live       bool

	mailServers []string
	mxDNSSEC    *bool
	ports       []int
	smtpKeys    []string
	smtp        map[string]SMTPResult

	spf       []string
	spfDNSSEC *bool
	validSPF  bool

	dmarc        []string
	dmarcDNSSEC  *bool // None only when the lookup timed out
	validDMARC   bool  // default True, as the original
	dmarcChecked bool
	policy       *string
	subPolicy    *string
	pct          *int
	rua, ruf     []string
	reportsErr   bool

	syntax, debug []string
}

// keep says whether the base-domain cache may keep st (nil: a lookup that
// failed internally).
// Keep: a base domain's state is shared once computed.
func (st *domainState) Keep() bool { return st != nil }

func (st *domainState) apply(p *part) {
	st.debug = append(st.debug, p.debug...)
	st.syntax = append(st.syntax, p.syntax...)
	switch p.kind {
	case partMX:
		st.mailServers, st.mxDNSSEC = p.mailServers, p.dnssec
	case partSTARTTLS:
		st.ports, st.smtpKeys, st.smtp = p.ports, p.smtpKeys, p.smtp
	case partSPF:
		st.spf, st.spfDNSSEC, st.validSPF = p.spf, p.dnssec, p.validSPF
	case partDMARC:
		st.dmarcChecked = true
		st.dmarc, st.validDMARC, st.dmarcDNSSEC = p.dmarc, p.validDMARC, p.dmarcDNSSEC
		if d := p.parsed; d != nil {
			st.policy, st.subPolicy, st.pct = d.Policy, d.SubPolicy, d.Pct
			st.rua, st.ruf, st.reportsErr = d.AggregateURIs, d.ForensicURIs, d.ReportsAddressError
		}
	}
	if !p.live {
		st.live = false
	}
}

// hasDMARC is the "DMARC Record" cell: None when DMARC was not checked.
func (st *domainState) hasDMARC() *bool {
	if !st.dmarcChecked {
		return nil
	}
	return ptr(len(st.dmarc) > 0)
}

func (st *domainState) dmarcText() *string {
	if len(st.dmarc) == 0 {
		return nil
	}
	return ptr(st.dmarc[0])
}

func (st *domainState) dnssecOfDMARC() *bool {
	if !st.dmarcChecked {
		return ptr(false)
	}
	return st.dmarcDNSSEC
}

// baseNotChecked is the debug entry of a subdomain whose base domain's
// DMARC lookup had not finished by the subdomain's deadline.
const baseNotChecked = "[DMARC] the base domain's DMARC record was not checked in time"

// result computes the row (spec/scanners.md §2.11). base is the base
// domain's DMARC state for a subdomain, nil for a base domain, and
// baseUnknown says that a subdomain's base domain was not checked in time:
// then the "on Base Domain" cells are None and nothing is inherited.
func (st *domainState) result(base *domainState, baseUnknown bool) *Result {
	if baseUnknown {
		base = nil
	}
	r := &Result{Domain: st.name, BaseDomain: st.base, Live: st.live, ValidSPF: st.validSPF}
	if st.mailServers != nil {
		r.MXRecord = ptr(len(st.mailServers) > 0)
		if len(st.mailServers) > 0 {
			r.MailServers = ptr(strings.Join(st.mailServers, ", "))
		}
	}
	r.MXRecordDNSSEC = st.mxDNSSEC

	if len(st.smtpKeys) > 0 {
		r.PortsTested = portsText(st.ports)
		var smtpOK, tlsOK, negotiated, valid []string
		allTLS, anyCandidate, allNegotiated, anyNegotiated, allValid := true, false, true, false, true
		complete := 0
		for _, k := range st.smtpKeys {
			v := st.smtp[k]
			if v.Incomplete {
				continue // unknown: neither for nor against the domain
			}
			complete++
			if v.SMTP {
				smtpOK = append(smtpOK, k)
				if !v.STARTTLS {
					allTLS = false
				}
			}
			if v.STARTTLS {
				tlsOK = append(tlsOK, k)
			}
			if v.STARTTLS && !v.Credited {
				anyCandidate = true
				if !v.Negotiated {
					allNegotiated = false
				}
			}
			if v.Negotiated {
				anyNegotiated = true
				negotiated = append(negotiated, k+" "+v.TLSVersion)
				if v.CertValid {
					valid = append(valid, k)
				} else {
					allValid = false
				}
			}
		}
		if complete > 0 {
			r.SupportsSMTP = ptr(len(smtpOK) > 0)
			r.SupportsSTARTTLS = ptr(len(smtpOK) > 0 && allTLS)
		}
		r.SupportsSMTPResults = joined(smtpOK)
		r.SupportsSTARTTLSResults = joined(tlsOK)
		if anyCandidate {
			r.NegotiatesSTARTTLS = ptr(allNegotiated)
		}
		r.NegotiatesSTARTTLSResults = joined(negotiated)
		if anyNegotiated {
			r.CertificatesValid = ptr(allValid)
		}
		r.CertificatesValidResults = joined(valid)
		r.SMTP = st.smtp
	}

	if st.spf != nil {
		r.SPFRecord = ptr(len(st.spf) > 0)
		if len(st.spf) > 0 {
			r.SPFResults = ptr(st.spf[0])
		}
	}
	r.SPFRecordDNSSEC = st.spfDNSSEC

	r.DMARCRecord = st.hasDMARC()
	r.DMARCRecordDNSSEC = st.dnssecOfDMARC()
	r.ValidDMARC = and(r.DMARCRecord, st.validDMARC)
	r.DMARCResults = st.dmarcText()
	if !baseUnknown {
		o := st
		if base != nil {
			o = base
		}
		r.DMARCOnBase = o.hasDMARC()
		r.DMARCOnBaseDNSSEC = o.dnssecOfDMARC()
		r.ValidDMARCOnBase = and(o.hasDMARC(), o.validDMARC)
		r.DMARCResultsOnBase = o.dmarcText()
	}

	r.DMARCPolicy = st.policy
	r.DMARCSubdomainPolicy = st.subPolicy
	r.DMARCPct = st.pct
	rua, ruf := st.rua, st.ruf
	r.DMARCHasAggregateURI, r.DMARCHasForensicURI = len(rua) > 0, len(ruf) > 0
	if base != nil {
		// RFC 7489 §6.6.3: a subdomain without its own policy gets the
		// organisational domain's sp.
		if r.DMARCPolicy == nil {
			r.DMARCPolicy = base.subPolicy
		}
		if r.DMARCSubdomainPolicy == nil {
			r.DMARCSubdomainPolicy = base.subPolicy
		}
		if r.DMARCPct == nil {
			r.DMARCPct = base.pct
		}
		if len(rua) == 0 {
			rua = base.rua
		}
		if len(ruf) == 0 {
			ruf = base.ruf
		}
		r.DMARCHasAggregateURI = r.DMARCHasAggregateURI || len(base.rua) > 0
		r.DMARCHasForensicURI = r.DMARCHasForensicURI || len(base.ruf) > 0
	}
	r.DMARCAggregateURIs = joined(rua)
	r.DMARCForensicURIs = joined(ruf)
	r.DMARCReportsAddrError = st.reportsErr
	r.SyntaxErrors = joined(st.syntax)
	debug := st.debug
	if baseUnknown {
		debug = append(debug[:len(debug):len(debug)], baseNotChecked)
	}
	r.DebugInfo = joined(debug)
	return r
}
