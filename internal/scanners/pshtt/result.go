package pshtt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Headers are domain-scan's pshtt columns, in its order.
var Headers = []string{
	"Canonical URL", "Live", "Redirect", "Redirect To", "Valid HTTPS",
	"Defaults to HTTPS", "Downgrades HTTPS", "Strictly Forces HTTPS",
	"HTTPS Bad Chain", "HTTPS Bad Hostname", "HTTPS Expired Cert",
	"HTTPS Self Signed Cert", "HSTS", "HSTS Header", "HSTS Max Age",
	"HSTS Entire Domain", "HSTS Preload Ready", "HSTS Preload Pending",
	"HSTS Preloaded", "Base Domain HSTS Preloaded", "Domain Supports HTTPS",
	"Domain Enforces HTTPS", "Domain Uses Strong HSTS", "HTTPS Live",
	"HTTPS Full Connection", "HTTPS Client Auth Required",
	"HTTPS Publicly Trusted", "HTTPS Custom Truststore Trusted", "IP",
	"Server Header", "Server Version", "HTTPS Cert Chain Length",
	"HTTPS Probably Missing Intermediate Cert", "Notes", "Unknown Error",
}

// pshttOrder is pshtt's own HEADERS order, the order of normalisation.
var pshttOrder = []string{
	"Domain", "Base Domain", "Canonical URL", "Live", "HTTPS Live", "HTTPS Full Connection",
	"HTTPS Client Auth Required", "Redirect", "Redirect To", "Valid HTTPS", "HTTPS Publicly Trusted",
	"HTTPS Custom Truststore Trusted", "Defaults to HTTPS", "Downgrades HTTPS", "Strictly Forces HTTPS",
	"HTTPS Bad Chain", "HTTPS Bad Hostname", "HTTPS Expired Cert", "HTTPS Self Signed Cert", "HSTS",
	"HSTS Header", "HSTS Max Age", "HSTS Entire Domain", "HSTS Preload Ready", "HSTS Preload Pending",
	"HSTS Preloaded", "Base Domain HSTS Preloaded", "Domain Supports HTTPS", "Domain Enforces HTTPS",
	"Domain Uses Strong HSTS", "IP", "Server Header", "Server Version", "HTTPS Cert Chain Length",
	"HTTPS Probably Missing Intermediate Cert", "Notes", "Unknown Error",
}

// Result is pshtt's result dict: its 37 fields under pshtt's names, and the
// four endpoints. Its JSON is the cache file other scanners read.
type Result struct {
	Fields    map[string]any
	Endpoints map[string]*Endpoint
}

// Rows gives the one CSV row.
func (r *Result) Rows() [][]any {
	row := make([]any, len(Headers))
	for i, h := range Headers {
		row[i] = r.Fields[h]
	}
	return [][]any{row}
}

// MarshalJSON flattens the fields next to "endpoints", as pshtt's dict.
func (r *Result) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(r.Fields)+1)
	for k, v := range r.Fields {
		m[k] = v
	}
	m["endpoints"] = r.Endpoints
	return json.Marshal(m)
}

// UnmarshalJSON reads a cached or remote result.
func (r *Result) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	r.Fields = map[string]any{}
	r.Endpoints = map[string]*Endpoint{}
	for k, v := range raw {
		if k == "endpoints" {
			if err := json.Unmarshal(v, &r.Endpoints); err != nil {
				return fmt.Errorf("pshtt endpoints: %w", err)
			}
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.UseNumber()
		var x any
		if err := dec.Decode(&x); err != nil {
			return fmt.Errorf("pshtt field %q: %w", k, err)
		}
		r.Fields[k] = x
	}
	return nil
}

// preloadFacts are the list memberships computed before the scan.
type preloadFacts struct {
	Preloaded     bool `json:"preloaded"`
	BasePreloaded bool `json:"base_preloaded"`
	Pending       bool `json:"pending"`
}

// domainResult computes pshtt's domain-level fields (§1.6–1.8).
func domainResult(domain, base string, http, httpwww, https, httpswww *Endpoint, pre preloadFacts) *Result {
	f := map[string]any{}
	canonical := canonicalEndpoint(http, httpwww, https, httpswww)
	// The canonical HTTPS endpoint.
	c := https
	if canonical.host == "www" {
		c = httpswww
	}
	f["Domain"] = domain
	f["Base Domain"] = base
	f["Canonical URL"] = canonical.URL
	live := is(http.Live) || is(httpwww.Live) || is(https.Live) || is(httpswww.Live)
	f["Live"] = live
	httpsLive := is(https.Live) || is(httpswww.Live)
	f["HTTPS Live"] = httpsLive
	fullConn := is(https.HTTPSFullConnection) || is(httpswww.HTTPSFullConnection)
	f["HTTPS Full Connection"] = fullConn
	f["HTTPS Client Auth Required"] = https.HTTPSClientAuthRequired || httpswww.HTTPSClientAuthRequired

	all := []*Endpoint{http, httpwww, https, httpswww}
	isRedirect := func(e *Endpoint) bool { return is(e.RedirectEventuallyToExternal) }
	redirectOrDown := func(e *Endpoint) bool {
		return is(e.RedirectEventuallyToExternal) || !is(e.Live) || (e.https && is(e.HTTPSBadHostname)) ||
			(e.Status != nil && *e.Status >= 400)
	}
	anyRedirect, allRedirectOrDown := false, true
	for _, e := range all {
		anyRedirect = anyRedirect || isRedirect(e)
		allRedirectOrDown = allRedirectOrDown && redirectOrDown(e)
	}
	redirect := live && anyRedirect && allRedirectOrDown
	f["Redirect"] = redirect
	f["Redirect To"] = nil
	if redirect && canonical.RedirectEventuallyTo != nil {
		f["Redirect To"] = *canonical.RedirectEventuallyTo
	}

	// Valid HTTPS and trust are judged at the canonical host.
	f["Valid HTTPS"] = boolOrNone(c.Live, c.HTTPSValid)
	f["HTTPS Publicly Trusted"] = boolOrNone(c.Live, c.HTTPSPublicTrusted)
	f["HTTPS Custom Truststore Trusted"] = boolOrNone(c.Live, c.HTTPSCustomTrusted)
	defaults := canonical.https
	f["Defaults to HTTPS"] = defaults
	supports := (is(https.Live) && !is(https.HTTPSBadHostname)) || (is(httpswww.Live) && !is(httpswww.HTTPSBadHostname))
	downgrades := supports && is(c.RedirectImmediatelyToHTTP) && !is(c.RedirectImmediatelyToExternal)
	f["Downgrades HTTPS"] = downgrades
	downOrRedirects := func(e *Endpoint) bool { return !is(e.Live) || is(e.RedirectImmediatelyToHTTPS) }
	strictly := httpsLive && downOrRedirects(http) && downOrRedirects(httpwww)
	f["Strictly Forces HTTPS"] = strictly
	f["HTTPS Bad Chain"] = opt(c.HTTPSBadChain)
	f["HTTPS Bad Hostname"] = opt(c.HTTPSBadHostname)
	f["HTTPS Expired Cert"] = opt(c.HTTPSExpiredCert)
	f["HTTPS Self Signed Cert"] = opt(c.HTTPSSelfSignedCert)
	f["HSTS"] = opt(c.HSTS)
	f["HSTS Header"] = optString(c.HSTSHeader)
	f["HSTS Max Age"] = optInt(c.HSTSMaxAge)
	f["HSTS Entire Domain"] = opt(https.HSTSAllSubdomains)
	f["HSTS Preload Ready"] = https.HSTSMaxAge != nil && *https.HSTSMaxAge >= 10886400 &&
		is(https.HSTSAllSubdomains) && is(https.HSTSPreload)
	f["HSTS Preload Pending"] = pre.Pending
	f["HSTS Preloaded"] = pre.Preloaded
	f["Base Domain HSTS Preloaded"] = pre.BasePreloaded

	valid := is(c.Live) && is(c.HTTPSValid)
	domainSupports := (!downgrades && valid) || (!downgrades && is(c.HTTPSBadChain) && !is(c.HTTPSBadHostname))
	f["Domain Supports HTTPS"] = domainSupports
	httpRedirectDomain := live && (isRedirect(http) || isRedirect(httpwww)) && redirectOrDown(httpwww) && redirectOrDown(http)
	f["Domain Enforces HTTPS"] = domainSupports && strictly && (defaults || httpRedirectDomain)
	if is(c.HSTS) && c.HSTSMaxAge != nil && *c.HSTSMaxAge != 0 {
		f["Domain Uses Strong HSTS"] = *c.HSTSMaxAge >= 31536000
	} else {
		f["Domain Uses Strong HSTS"] = nil
	}

	f["IP"] = firstString(func(e *Endpoint) *string { return e.IP }, canonical, https, httpswww, httpwww, http)
	server := firstString(func(e *Endpoint) *string { return e.ServerHeader }, canonical, https, httpswww, httpwww, http)
	if s, ok := server.(string); ok {
		server = strings.ReplaceAll(s, ",", ";")
	}
	f["Server Header"] = server
	f["Server Version"] = nil
	f["HTTPS Cert Chain Length"] = optIntPtr(c.HTTPSCertChainLen)
	f["HTTPS Probably Missing Intermediate Cert"] = opt(c.HTTPSMissingInterCert)
	f["Notes"] = ""
	f["Unknown Error"] = http.UnknownError || httpwww.UnknownError || https.UnknownError || httpswww.UnknownError

	normalize(f)
	return &Result{Fields: f, Endpoints: map[string]*Endpoint{"http": http, "httpwww": httpwww, "https": https, "httpswww": httpswww}}
}

// normalize is pshtt's result_for: None becomes False except where pshtt
// kept it.
func normalize(f map[string]any) {
	full, _ := f["HTTPS Full Connection"].(bool)
	httpsLive, _ := f["HTTPS Live"].(bool)
	for _, h := range pshttOrder {
		switch h {
		case "HSTS Header", "HSTS Max Age", "Redirect To", "IP", "Server Header", "Server Version",
			"HTTPS Cert Chain Length", "Notes", "Domain", "Base Domain", "Canonical URL":
			continue
		case "HSTS", "HSTS Entire Domain", "HSTS Preload Ready", "Domain Uses Strong HSTS":
			if !full {
				continue
			}
		case "Valid HTTPS", "HTTPS Publicly Trusted", "HTTPS Custom Truststore Trusted":
			if !httpsLive {
				f[h] = false
			}
			continue
		}
		if f[h] == nil {
			f[h] = false
		}
	}
}

// canonicalEndpoint is pshtt's canonical_endpoint.
func canonicalEndpoint(http, httpwww, https, httpswww *Endpoint) *Endpoint {
	status := func(e *Endpoint) string {
		if e.Status == nil {
			return "None"
		}
		return fmt.Sprint(*e.Status)
	}
	atLeastOneWWW := is(httpswww.Live) || is(httpwww.Live)
	rootUnused := func(e *Endpoint) bool {
		return is(e.Redirect) || !is(e.Live) || is(e.HTTPSBadHostname) || !strings.HasPrefix(status(e), "2")
	}
	rootDown := func(e *Endpoint) bool {
		return !is(e.Live) || is(e.HTTPSBadHostname) ||
			(!strings.HasPrefix(status(e), "2") && !strings.HasPrefix(status(e), "3"))
	}
	isWWW := atLeastOneWWW && rootUnused(https) && rootUnused(http) &&
		((rootDown(https) && rootDown(http)) || is(https.RedirectImmediatelyToWWW) || is(http.RedirectImmediatelyToWWW))
	httpsUsed := func(e *Endpoint) bool { return is(e.Live) && !is(e.HTTPSBadHostname) }
	httpUnused := func(e *Endpoint) bool { return is(e.Redirect) || !is(e.Live) || !strings.HasPrefix(status(e), "2") }
	httpUpgrades := func(e *Endpoint) bool {
		return is(e.RedirectImmediatelyToHTTPS) && !is(e.RedirectImmediatelyToExternal)
	}
	isHTTPS := (httpsUsed(https) || httpsUsed(httpswww)) && httpUnused(http) && httpUnused(httpwww) &&
		((!is(http.Live) && !is(httpwww.Live)) || httpUpgrades(http) || httpUpgrades(httpwww))
	switch {
	case isWWW && isHTTPS:
		return httpswww
	case isWWW:
		return httpwww
	case isHTTPS:
		return https
	}
	return http
}

// boolOrNone is "E.live and E.x" in Python: False when not live, else x.
func boolOrNone(live, x *bool) any {
	if !is(live) {
		if live == nil {
			return nil
		}
		return false
	}
	return opt(x)
}

func opt(b *bool) any {
	if b == nil {
		return nil
	}
	return *b
}

func optString(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

func optInt(n *int64) any {
	if n == nil {
		return nil
	}
	return *n
}

func optIntPtr(n *int) any {
	if n == nil {
		return nil
	}
	return *n
}

func firstString(get func(*Endpoint) *string, es ...*Endpoint) any {
	for _, e := range es {
		if s := get(e); s != nil {
			return *s
		}
	}
	return nil
}
