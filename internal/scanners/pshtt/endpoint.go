package pshtt

import (
	"encoding/json"
	"strings"
)

// endpointBase holds the fields every endpoint has, under pshtt's JSON
// names (the cache is an internal API: other scanners read it). A nil
// pointer is Python's None.
type endpointBase struct {
	URL                           string            `json:"url"`
	Headers                       map[string]string `json:"headers"`
	Status                        *int              `json:"status"`
	IP                            *string           `json:"ip"`
	Live                          *bool             `json:"live"`
	Redirect                      *bool             `json:"redirect"`
	RedirectEventuallyTo          *string           `json:"redirect_eventually_to"`
	RedirectImmediatelyTo         *string           `json:"redirect_immediately_to"`
	RedirectImmediatelyToWWW      *bool             `json:"redirect_immediately_to_www"`
	RedirectImmediatelyToHTTPS    *bool             `json:"redirect_immediately_to_https"`
	RedirectImmediatelyToHTTP     *bool             `json:"redirect_immediately_to_http"`
	RedirectImmediatelyToExternal *bool             `json:"redirect_immediately_to_external"`
	RedirectImmediatelyToSubdom   *bool             `json:"redirect_immediately_to_subdomain"`
	RedirectEventuallyToHTTPS     *bool             `json:"redirect_eventually_to_https"`
	RedirectEventuallyToHTTP      *bool             `json:"redirect_eventually_to_http"`
	RedirectEventuallyToExternal  *bool             `json:"redirect_eventually_to_external"`
	RedirectEventuallyToSubdom    *bool             `json:"redirect_eventually_to_subdomain"`
	ServerHeader                  *string           `json:"server_header"`
	ServerVersion                 *string           `json:"server_version"`
	Notes                         string            `json:"notes"`
	UnknownError                  bool              `json:"unknown_error"`
}

// endpointTLS holds the fields only HTTPS endpoints have.
type endpointTLS struct {
	HTTPSFullConnection     *bool   `json:"https_full_connection"`
	HTTPSClientAuthRequired bool    `json:"https_client_auth_required"`
	HTTPSValid              *bool   `json:"https_valid"`
	HTTPSPublicTrusted      *bool   `json:"https_public_trusted"`
	HTTPSCustomTrusted      *bool   `json:"https_custom_trusted"`
	HTTPSBadChain           *bool   `json:"https_bad_chain"`
	HTTPSBadHostname        *bool   `json:"https_bad_hostname"`
	HTTPSExpiredCert        *bool   `json:"https_expired_cert"`
	HTTPSSelfSignedCert     *bool   `json:"https_self_signed_cert"`
	HTTPSCertChainLen       *int    `json:"https_cert_chain_len"`
	HTTPSMissingInterCert   *bool   `json:"https_missing_intermediate_cert"`
	HSTS                    *bool   `json:"hsts"`
	HSTSHeader              *string `json:"hsts_header"`
	HSTSMaxAge              *int64  `json:"hsts_max_age"`
	HSTSAllSubdomains       *bool   `json:"hsts_all_subdomains"`
	HSTSPreload             *bool   `json:"hsts_preload"`
	// HTTPSHandshakeFailed: port 443 accepted the connection but no TLS
	// handshake succeeded (not in pshtt; read by the sslyze scanner).
	HTTPSHandshakeFailed bool `json:"https_handshake_failed"`
}

// Endpoint is one of http://D, http://www.D, https://D, https://www.D.
type Endpoint struct {
	endpointBase
	endpointTLS
	https bool
	host  string // "root" or "www"
	name  string // the host name
	// hstsValues are the Strict-Transport-Security values of the first
	// response, for hsts_check.
	hstsValues []string
}

func newEndpoint(scheme, host, domain string) *Endpoint {
	name := domain
	if host == "www" {
		name = "www." + domain
	}
	return &Endpoint{
		endpointBase: endpointBase{URL: scheme + "://" + name, Headers: map[string]string{}},
		https:        scheme == "https",
		host:         host,
		name:         name,
	}
}

// MarshalJSON writes the HTTPS fields only for HTTPS endpoints, as pshtt
// did.
func (e *Endpoint) MarshalJSON() ([]byte, error) {
	if e.https {
		return json.Marshal(struct {
			*endpointBase
			*endpointTLS
		}{&e.endpointBase, &e.endpointTLS})
	}
	return json.Marshal(&e.endpointBase)
}

// UnmarshalJSON reads either form.
func (e *Endpoint) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, &struct {
		*endpointBase
		*endpointTLS
	}{&e.endpointBase, &e.endpointTLS}); err != nil {
		return err
	}
	e.https = strings.HasPrefix(e.URL, "https:")
	e.host = "root"
	if strings.Contains(e.URL, "://www.") {
		e.host = "www"
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

// is reports a *bool that is set and true (Python truthiness of None/False).
func is(b *bool) bool { return b != nil && *b }
