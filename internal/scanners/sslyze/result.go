package sslyze

import "github.com/domainscan/domain-scan/internal/scan"

// Headers are the 40 columns of domain-scan's results/sslyze.csv, one row
// per scanned endpoint (the HTTPS host, then each STARTTLS mail server).
var Headers = []string{
	"Scanned Hostname",
	"Scanned Port",
	"STARTTLS SMTP",
	"SSLv2",
	"SSLv3",
	"TLSv1.0",
	"TLSv1.1",
	"TLSv1.2",
	"TLSv1.3",
	"Any Forward Secrecy",
	"All Forward Secrecy",
	"Any RC4",
	"All RC4",
	"Any 3DES",
	"Key Type",
	"Key Length",
	"Signature Algorithm",
	"SHA-1 in Served Chain",
	"SHA-1 in Constructed Chain",
	"Not Before",
	"Not After",
	"Highest Served Issuer",
	"Highest Constructed Issuer",
	"Asserts EV",
	"Trusted for EV",
	"EV Trusted OIDs",
	"EV Trusted Browsers",
	"Is Symantec Cert",
	"Symantec Distrust Date",
	"Any Export",
	"Any NULL",
	"Any MD5",
	"Any Less Than 128 Bits",
	"Insecure Renegotiation",
	"Certificate Less Than 2048",
	"MD5 Signed Certificate",
	"SHA-1 Signed Certificate",
	"Expired Certificate",
	"Accepted Ciphers",
	"Errors",
}

// Row is one scanned endpoint. Its JSON keys are the column names; nil is
// the original's None (a check that did not run or could not say).
type Row struct {
	Hostname string `json:"Scanned Hostname"`
	Port     int    `json:"Scanned Port"`
	STARTTLS bool   `json:"STARTTLS SMTP"`

	SSLv2 *bool `json:"SSLv2"`
	SSLv3 *bool `json:"SSLv3"`
	TLS10 *bool `json:"TLSv1.0"`
	TLS11 *bool `json:"TLSv1.1"`
	TLS12 *bool `json:"TLSv1.2"`
	TLS13 *bool `json:"TLSv1.3"`

	AnyFS   *bool `json:"Any Forward Secrecy"`
	AllFS   *bool `json:"All Forward Secrecy"`
	AnyRC4  *bool `json:"Any RC4"`
	AllRC4  *bool `json:"All RC4"`
	Any3DES *bool `json:"Any 3DES"`

	KeyType            *string `json:"Key Type"`
	KeyLength          *int    `json:"Key Length"`
	SignatureAlgorithm *string `json:"Signature Algorithm"`
	SHA1Served         *bool   `json:"SHA-1 in Served Chain"`
	SHA1Constructed    *bool   `json:"SHA-1 in Constructed Chain"`
	NotBefore          *string `json:"Not Before"`
	NotAfter           *string `json:"Not After"`
	ServedIssuer       *string `json:"Highest Served Issuer"`
	ConstructedIssuer  *string `json:"Highest Constructed Issuer"`
	AssertsEV          *bool   `json:"Asserts EV"`
	TrustedEV          *bool   `json:"Trusted for EV"`
	EVOIDs             *string `json:"EV Trusted OIDs"`
	EVBrowsers         *string `json:"EV Trusted Browsers"`
	Symantec           *bool   `json:"Is Symantec Cert"`
	SymantecDate       *string `json:"Symantec Distrust Date"`

	AnyExport   *bool `json:"Any Export"`
	AnyNULL     *bool `json:"Any NULL"`
	AnyMD5      *bool `json:"Any MD5"`
	AnyLessThan *bool `json:"Any Less Than 128 Bits"`

	InsecureReneg *bool `json:"Insecure Renegotiation"`

	ShortKey   *bool   `json:"Certificate Less Than 2048"`
	MD5Signed  *bool   `json:"MD5 Signed Certificate"`
	SHA1Signed *bool   `json:"SHA-1 Signed Certificate"`
	Expired    *bool   `json:"Expired Certificate"`
	Ciphers    *string `json:"Accepted Ciphers"`
	Errors     *string `json:"Errors"`

	// Mail: a mail server's row (shared by the run's domains).
	Mail bool `json:"mail,omitempty"`
	// Connections is how many connections the scan of this endpoint made.
	Connections int `json:"connections,omitempty"`
	// Incomplete: the row holds no finished scan (not started or not
	// finished before the deadline, or the scan failed internally); it is
	// never kept in the run's cache of mail server rows.
	Incomplete bool `json:"incomplete,omitempty"`
}

// Keep: only finished rows are shared with later domains (the mail cache).
func (r Row) Keep() bool { return !r.Incomplete }

// Result is a domain's rows, as cached (a JSON array).
type Result []Row

// Rows is one row per endpoint, in Headers order.
func (r *Result) Rows() [][]any {
	out := make([][]any, 0, len(*r))
	for _, x := range *r {
		out = append(out, []any{
			x.Hostname, x.Port, x.STARTTLS,
			scan.Opt(x.SSLv2), scan.Opt(x.SSLv3), scan.Opt(x.TLS10), scan.Opt(x.TLS11), scan.Opt(x.TLS12), scan.Opt(x.TLS13),
			scan.Opt(x.AnyFS), scan.Opt(x.AllFS), scan.Opt(x.AnyRC4), scan.Opt(x.AllRC4), scan.Opt(x.Any3DES),
			scan.Opt(x.KeyType), scan.Opt(x.KeyLength), scan.Opt(x.SignatureAlgorithm), scan.Opt(x.SHA1Served), scan.Opt(x.SHA1Constructed),
			scan.Opt(x.NotBefore), scan.Opt(x.NotAfter), scan.Opt(x.ServedIssuer), scan.Opt(x.ConstructedIssuer),
			scan.Opt(x.AssertsEV), scan.Opt(x.TrustedEV), scan.Opt(x.EVOIDs), scan.Opt(x.EVBrowsers), scan.Opt(x.Symantec), scan.Opt(x.SymantecDate),
			scan.Opt(x.AnyExport), scan.Opt(x.AnyNULL), scan.Opt(x.AnyMD5), scan.Opt(x.AnyLessThan), scan.Opt(x.InsecureReneg),
			scan.Opt(x.ShortKey), scan.Opt(x.MD5Signed), scan.Opt(x.SHA1Signed), scan.Opt(x.Expired), scan.Opt(x.Ciphers), scan.Opt(x.Errors),
		})
	}
	return out
}

func ptr[T any](v T) *T { return &v }
