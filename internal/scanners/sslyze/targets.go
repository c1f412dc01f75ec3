package sslyze

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/domainscan/domain-scan/internal/scan"
)

// target is one endpoint to scan.
type target struct {
	Host     string `json:"hostname"`
	Port     int    `json:"port"`
	STARTTLS bool   `json:"starttls_smtp"`
	Mail     bool   `json:"mail,omitempty"` // a mail server (shared by the run's domains)
}

// key names the endpoint in the run's cache of mail server rows: the same
// host:port scanned with and without STARTTLS are different rows.
func (t target) key() string {
	k := net.JoinHostPort(t.Host, strconv.Itoa(t.Port))
	if t.STARTTLS {
		return k + "/starttls"
	}
	return k
}

// inputs is what Prepare computes locally from the pshtt and trustymail
// caches: the endpoints, and (in a Lambda run) the mail server rows the run
// already has.
type inputs struct {
	Targets []target       `json:"targets"`
	Cached  map[string]Row `json:"cached,omitempty"`
}

// pshttFacts are the fields of the cached pshtt result sslyze reads.
type pshttFacts struct {
	CanonicalURL string `json:"Canonical URL"`
	Endpoints    map[string]struct {
		Live            bool `json:"live"`
		HandshakeFailed bool `json:"https_handshake_failed"`
	} `json:"endpoints"`
}

// trustymailFacts are the fields of the cached trustymail result sslyze
// reads.
type trustymailFacts struct {
	STARTTLSResults *string `json:"Domain Supports STARTTLS Results"`
	SMTP            map[string]struct {
		ImplicitTLS bool `json:"implicit_tls"`
	} `json:"smtp_results"`
}

// Prepare is the original's init_domain: the HTTPS endpoint unless pshtt
// found no HTTPS (www. when pshtt's canonical URL uses it), then every mail
// server trustymail found with STARTTLS. A domain without endpoints is
// skipped (counted and logged, no row).
func (s *Scanner) Prepare(_ context.Context, t scan.Target, prior scan.Lookup) (json.RawMessage, error) {
	var in inputs
	web := target{Host: t.Domain, Port: 443}
	addWeb := true
	if prior != nil {
		if data, ok, err := prior.Lookup("pshtt", t.Domain); err != nil {
			return nil, fmt.Errorf("read the pshtt cache: %w", err)
		} else if ok {
			var p pshttFacts
			if json.Unmarshal(data, &p) == nil && p.Endpoints != nil {
				// The original scanned what pshtt found live; pshtt's TLS
				// stack (crypto/tls) cannot talk to SSLv3-only or DHE-only
				// servers, which are exactly what this scanner is for.
				https, www := p.Endpoints["https"], p.Endpoints["httpswww"]
				addWeb = https.Live || www.Live || https.HandshakeFailed || www.HandshakeFailed
				c := p.CanonicalURL
				if (strings.HasPrefix(c, "http://www") || strings.HasPrefix(c, "https://www")) && !strings.HasPrefix(t.Domain, "www.") {
					web.Host = "www." + t.Domain
				}
			}
		}
	}
	if addWeb {
		in.Targets = append(in.Targets, web)
	}
	if prior != nil {
		data, ok, err := prior.Lookup("trustymail", t.Domain)
		if err != nil {
			return nil, fmt.Errorf("read the trustymail cache: %w", err)
		}
		var tm trustymailFacts
		if ok && json.Unmarshal(data, &tm) == nil && tm.STARTTLSResults != nil {
			seen := map[string]bool{}
			for _, hp := range strings.Split(*tm.STARTTLSResults, ", ") {
				host, portStr, err := net.SplitHostPort(strings.TrimSpace(hp))
				port, perr := strconv.Atoi(portStr)
				if err != nil || perr != nil || seen[hp] {
					continue
				}
				seen[hp] = true
				// A port trustymail found speaking TLS from the first byte
				// (465) is scanned as such; the original sent STARTTLS there
				// and never connected.
				implicit := tm.SMTP[hp].ImplicitTLS
				mt := target{Host: strings.ToLower(host), Port: port, STARTTLS: !implicit, Mail: true}
				in.Targets = append(in.Targets, mt)
				if s.remote && s.useCache {
					if r, ok := s.mail.Peek(mt.key()); ok {
						if in.Cached == nil {
							in.Cached = map[string]Row{}
						}
						in.Cached[mt.key()] = r
					}
				}
			}
		}
	}
	if len(in.Targets) == 0 {
		return nil, scan.ErrSkip
	}
	return json.Marshal(in)
}
