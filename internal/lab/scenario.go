// Package lab is an offline internet on loopback: an authoritative DNS
// server, HTTP, HTTPS and SMTP servers on one 127.x.y.z address per host, a
// private CA, the HSTS preload lists, and a catalogue of scenarios, each a
// domain whose behaviour shows some scanner fields. It backs `domain-scan
// lab`, `domain-scan demo` and the scanners' tests.
package lab

import (
	"time"

	"github.com/domainscan/domain-scan/internal/lab/dnsserver"
	"github.com/domainscan/domain-scan/internal/lab/legacytls"
	"github.com/domainscan/domain-scan/internal/lab/pki"
	"github.com/domainscan/domain-scan/internal/lab/smtpserver"
)

// Scenario is one domain of the catalogue.
type Scenario struct {
	// Domain is the scanned name, under the reserved .test TLD so that it
	// can never reach a real host.
	Domain string
	// Summary says what the scenario shows.
	Summary string
	// Hosts are the web hosts by label relative to Domain: "" for the
	// domain itself, "www" for www.<Domain>. Each gets its own address and
	// an A record unless NoAddress.
	Hosts map[string]*Host
	// Mail are the mail servers by label ("mx1" is mx1.<Domain>); listed as
	// MX records in the given order unless MXRecords is set.
	Mail []*MailHost
	// DNS holds extra records, in presentation format with names relative
	// to Domain ("@" for Domain itself): "@ TXT \"v=spf1 -all\"",
	// "_dmarc TXT \"v=DMARC1; p=reject\"". Absolute names end in a dot.
	DNS []string
	// DNSBehaviour overrides answers for a relative name ("@", "_dmarc").
	DNSBehaviour map[string]dnsserver.Behaviour
	// DNSSEC sets the AD flag on every answer at or under Domain.
	DNSSEC bool
	// NoMX leaves out the automatic MX records of Mail.
	NoMX bool
	// Preloaded and PreloadPending put Domain on the lab's HSTS preload
	// list and pending list (with include_subdomains true unless
	// PreloadNoSubdomains).
	Preloaded, PreloadPending, PreloadNoSubdomains bool
	// Served says what serves the TLS of this scenario when it is not Go's
	// crypto/tls: "legacy responder" (a ClientHello-only responder).
	Served string
	// Expect holds, per scanner, the CSV cells this scenario exists to show
	// (header -> cell as written in results/<scanner>.csv). Only the fields
	// named are asserted; "Domain"-level rows of multi-row scanners are
	// matched on their first row unless the header says otherwise.
	Expect map[string]map[string]string
}

// Host is a web host: its HTTP (port 80) and HTTPS (443) endpoints.
type Host struct {
	// NoAddress gives the host no A record (the name does not resolve).
	NoAddress bool
	// IPv6Only gives the host an AAAA record (::1) and no A record.
	IPv6Only bool
	// HTTP and HTTPS are nil when the port is closed.
	HTTP  *Endpoint
	HTTPS *Endpoint
	// TLS configures HTTPS (and nothing else).
	TLS TLS
}

// Endpoint is what an HTTP or HTTPS server answers.
type Endpoint struct {
	// Status defaults to 200.
	Status int
	// Location is sent as the Location header when set, as given
	// (relative, scheme-relative or absolute).
	Location string
	// Header lists response headers in order; a name may repeat.
	Header [][2]string
	// Body defaults to a small HTML page.
	Body string
	// Stall reads the request and never answers.
	Stall bool
	// Endless answers 200 with a body that never ends.
	Endless bool
	// Trickle sends the status line and headers one byte per second.
	Trickle bool
	// BodyBytes, when set, sends a body of that many bytes (say 1 GiB),
	// generated as it goes.
	BodyBytes int64
	// Paths overrides the answer for exact request paths ("/next").
	Paths map[string]*Endpoint
}

// TLS is the HTTPS configuration of a host.
type TLS struct {
	// Cert is issued by the lab CA; DNSNames default to the host's name.
	Cert pki.Spec
	// MinVersion and MaxVersion default to TLS 1.2 and 1.3.
	MinVersion, MaxVersion uint16
	// Suites restricts the TLS 1.0–1.2 cipher suites (nil: Go's defaults
	// plus, when MinVersion is below 1.2, the legacy CBC suites).
	Suites []uint16
	// ClientAuth requires a client certificate; OptionalClientAuth asks
	// for one but goes on without.
	ClientAuth, OptionalClientAuth bool
	// Legacy serves port 443 with the ClientHello responder instead of
	// crypto/tls (SSLv2, SSLv3, DHE, EXPORT, NULL ...).
	Legacy *legacytls.Config
	// StallHandshake accepts TCP and never answers the ClientHello.
	StallHandshake bool
}

// MailHost is one mail server.
type MailHost struct {
	// Label relative to the scenario's Domain, or an absolute name ending
	// in a dot (a shared or external mail server).
	Label string
	// Pref is the MX preference (default 10).
	Pref int
	// Ports maps 25, 587 and 465 to the server's behaviour there; a port
	// not listed is closed.
	Ports map[int]smtpserver.Behaviour
	// NoAddress gives the host no A record; IPv6Only an AAAA record only.
	NoAddress, IPv6Only bool
	// TLSCert is the certificate for STARTTLS and implicit TLS.
	TLSCert pki.Spec
}

// Catalogue defaults.
const (
	// TLD is the reserved top-level domain of every lab name.
	TLD = "test"
	// StallFor bounds how long a stalling server holds a connection.
	StallFor = 2 * time.Minute
)
