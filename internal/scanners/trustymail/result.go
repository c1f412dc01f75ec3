package trustymail

import (
	"github.com/domainscan/domain-scan/internal/scan"
	"strconv"
	"strings"
)

// OriginalHeaders are the 31 columns of domain-scan's results/trustymail.csv,
// in the wrapper's order ("Supports X" before "Supports X Results", the
// reverse of trustymail's own order).
var OriginalHeaders = []string{
	"Live",
	"MX Record",
	"MX Record DNSSEC",
	"Mail Servers",
	"Mail Server Ports Tested",
	"Domain Supports SMTP",
	"Domain Supports SMTP Results",
	"Domain Supports STARTTLS",
	"Domain Supports STARTTLS Results",
	"SPF Record",
	"SPF Record DNSSEC",
	"Valid SPF",
	"SPF Results",
	"DMARC Record",
	"DMARC Record DNSSEC",
	"Valid DMARC",
	"DMARC Results",
	"DMARC Record on Base Domain",
	"DMARC Record on Base Domain DNSSEC",
	"Valid DMARC Record on Base Domain",
	"DMARC Results on Base Domain",
	"DMARC Policy",
	"DMARC Subdomain Policy",
	"DMARC Policy Percentage",
	"DMARC Aggregate Report URIs",
	"DMARC Forensic Report URIs",
	"DMARC Has Aggregate Report URI",
	"DMARC Has Forensic Report URI",
	"DMARC Reporting Address Acceptance Error",
	"Syntax Errors",
	"Debug Info",
}

// NewHeaders are this implementation's columns after the original 31: what
// a real TLS handshake with each mail server showed, which trustymail never
// tried.
var NewHeaders = []string{
	"Domain Negotiates STARTTLS",
	"Domain Negotiates STARTTLS Results",
	"Domain STARTTLS Certificates Valid",
	"Domain STARTTLS Certificates Valid Results",
}

// Headers are the scanner's columns.
var Headers = append(append([]string{}, OriginalHeaders...), NewHeaders...)

// Result is one domain's row. Its JSON (cache/trustymail/<domain>.json)
// uses the column names as keys, as trustymail's generate_results did, plus
// the per-server details under "smtp_results".
type Result struct {
	Domain     string `json:"Domain"`
	BaseDomain string `json:"Base Domain"`

	Live                    bool    `json:"Live"`
	MXRecord                *bool   `json:"MX Record"`
	MXRecordDNSSEC          *bool   `json:"MX Record DNSSEC"`
	MailServers             *string `json:"Mail Servers"`
	PortsTested             *string `json:"Mail Server Ports Tested"`
	SupportsSMTP            *bool   `json:"Domain Supports SMTP"`
	SupportsSMTPResults     *string `json:"Domain Supports SMTP Results"`
	SupportsSTARTTLS        *bool   `json:"Domain Supports STARTTLS"`
	SupportsSTARTTLSResults *string `json:"Domain Supports STARTTLS Results"`

	SPFRecord       *bool   `json:"SPF Record"`
	SPFRecordDNSSEC *bool   `json:"SPF Record DNSSEC"`
	ValidSPF        bool    `json:"Valid SPF"`
	SPFResults      *string `json:"SPF Results"`

	DMARCRecord           *bool   `json:"DMARC Record"`
	DMARCRecordDNSSEC     *bool   `json:"DMARC Record DNSSEC"`
	ValidDMARC            *bool   `json:"Valid DMARC"`
	DMARCResults          *string `json:"DMARC Results"`
	DMARCOnBase           *bool   `json:"DMARC Record on Base Domain"`
	DMARCOnBaseDNSSEC     *bool   `json:"DMARC Record on Base Domain DNSSEC"`
	ValidDMARCOnBase      *bool   `json:"Valid DMARC Record on Base Domain"`
	DMARCResultsOnBase    *string `json:"DMARC Results on Base Domain"`
	DMARCPolicy           *string `json:"DMARC Policy"`
	DMARCSubdomainPolicy  *string `json:"DMARC Subdomain Policy"`
	DMARCPct              *int    `json:"DMARC Policy Percentage"`
	DMARCAggregateURIs    *string `json:"DMARC Aggregate Report URIs"`
	DMARCForensicURIs     *string `json:"DMARC Forensic Report URIs"`
	DMARCHasAggregateURI  bool    `json:"DMARC Has Aggregate Report URI"`
	DMARCHasForensicURI   bool    `json:"DMARC Has Forensic Report URI"`
	DMARCReportsAddrError bool    `json:"DMARC Reporting Address Acceptance Error"`

	SyntaxErrors *string `json:"Syntax Errors"`
	DebugInfo    *string `json:"Debug Info"`

	NegotiatesSTARTTLS        *bool   `json:"Domain Negotiates STARTTLS"`
	NegotiatesSTARTTLSResults *string `json:"Domain Negotiates STARTTLS Results"`
	CertificatesValid         *bool   `json:"Domain STARTTLS Certificates Valid"`
	CertificatesValidResults  *string `json:"Domain STARTTLS Certificates Valid Results"`

	// SMTP holds each probed "host:port" (for the per-run cache of a
	// Lambda run, and for readers of the cache).
	SMTP map[string]SMTPResult `json:"smtp_results,omitempty"`
}

// Rows is one row in Headers order.
func (r *Result) Rows() [][]any {
	return [][]any{{
		r.Live, scan.Opt(r.MXRecord), scan.Opt(r.MXRecordDNSSEC), scan.Opt(r.MailServers), scan.Opt(r.PortsTested),
		scan.Opt(r.SupportsSMTP), scan.Opt(r.SupportsSMTPResults), scan.Opt(r.SupportsSTARTTLS), scan.Opt(r.SupportsSTARTTLSResults),
		scan.Opt(r.SPFRecord), scan.Opt(r.SPFRecordDNSSEC), r.ValidSPF, scan.Opt(r.SPFResults),
		scan.Opt(r.DMARCRecord), scan.Opt(r.DMARCRecordDNSSEC), scan.Opt(r.ValidDMARC), scan.Opt(r.DMARCResults),
		scan.Opt(r.DMARCOnBase), scan.Opt(r.DMARCOnBaseDNSSEC), scan.Opt(r.ValidDMARCOnBase), scan.Opt(r.DMARCResultsOnBase),
		scan.Opt(r.DMARCPolicy), scan.Opt(r.DMARCSubdomainPolicy), scan.Opt(r.DMARCPct), scan.Opt(r.DMARCAggregateURIs), scan.Opt(r.DMARCForensicURIs),
		r.DMARCHasAggregateURI, r.DMARCHasForensicURI, r.DMARCReportsAddrError,
		scan.Opt(r.SyntaxErrors), scan.Opt(r.DebugInfo),
		scan.Opt(r.NegotiatesSTARTTLS), scan.Opt(r.NegotiatesSTARTTLSResults), scan.Opt(r.CertificatesValid), scan.Opt(r.CertificatesValidResults),
	}}
}

// joined is ", ".join(list), or None for an empty list.
func joined(list []string) *string {
	if len(list) == 0 {
		return nil
	}
	return ptr(strings.Join(list, ", "))
}

// and is Python's "a and b" for the original's None/False/True cells.
func and(a *bool, v bool) *bool {
	if a == nil || !*a {
		return a
	}
	return ptr(v)
}

func portsText(ports []int) *string {
	var parts []string
	for _, p := range ports {
		parts = append(parts, strconv.Itoa(p))
	}
	return joined(parts)
}
