package lab

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/domainscan/domain-scan/internal/lab/legacytls"
)

// The legacy scenarios are checked with ClientHellos built here, by hand,
// independently of the responder's parser, and (where OpenSSL can speak the
// protocol) with openssl s_client.

func clientHelloTLS(version uint16, suites []uint16) []byte {
	legacy := version
	if version == legacytls.VersionTLS13 {
		legacy = legacytls.VersionTLS12
	}
	random := make([]byte, 32)
	rand.Read(random)
	var body []byte
	body = binary.BigEndian.AppendUint16(body, legacy)
	body = append(body, random...)
	body = append(body, 0) // no session id
	cs := append(slices.Clone(suites), 0x00FF)
	body = binary.BigEndian.AppendUint16(body, uint16(2*len(cs)))
	for _, s := range cs {
		body = binary.BigEndian.AppendUint16(body, s)
	}
	body = append(body, 1, 0) // null compression
	var ext []byte
	if version == legacytls.VersionTLS13 {
		key := make([]byte, 32)
		rand.Read(key)
		ext = append(ext, 0x00, 0x2b, 0x00, 0x03, 0x02, 0x03, 0x04)                   // supported_versions: 1.3
		ext = append(ext, 0x00, 0x0a, 0x00, 0x04, 0x00, 0x02, 0x00, 0x1d)             // supported_groups: x25519
		ext = append(ext, 0x00, 0x0d, 0x00, 0x04, 0x00, 0x02, 0x08, 0x04)             // signature_algorithms
		ext = append(ext, 0x00, 0x33, 0x00, 0x26, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20) // key_share header
		ext = append(ext, key...)
	}
	body = binary.BigEndian.AppendUint16(body, uint16(len(ext)))
	body = append(body, ext...)
	hs := append([]byte{1, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}, body...)
	recVersion := uint16(legacytls.VersionTLS10)
	if version == legacytls.VersionSSL3 {
		recVersion = legacytls.VersionSSL3
	}
	rec := []byte{0x16, byte(recVersion >> 8), byte(recVersion)}
	rec = binary.BigEndian.AppendUint16(rec, uint16(len(hs)))
	return append(rec, hs...)
}

func clientHelloSSLv2(kinds []uint32) []byte {
	msg := []byte{1, 0x00, 0x02}
	msg = binary.BigEndian.AppendUint16(msg, uint16(3*len(kinds)))
	msg = binary.BigEndian.AppendUint16(msg, 0)  // session id
	msg = binary.BigEndian.AppendUint16(msg, 16) // challenge
	for _, k := range kinds {
		msg = append(msg, byte(k>>16), byte(k>>8), byte(k))
	}
	challenge := make([]byte, 16)
	rand.Read(challenge)
	msg = append(msg, challenge...)
	return append([]byte{0x80 | byte(len(msg)>>8), byte(len(msg))}, msg...)
}

// serverHello is what the first answer said.
type serverHello struct {
	alert         bool
	version       uint16
	suite         uint16
	renegotiation bool // renegotiation_info extension present
	sslv2         bool
}

func probe(t *testing.T, addr string, hello []byte) serverHello {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Write(hello); err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 2)
	if _, err := io.ReadFull(c, head); err != nil {
		t.Fatalf("no answer: %v", err)
	}
	if head[0]&0x80 != 0 { // SSLv2 record
		n := int(head[0]&0x7f)<<8 | int(head[1])
		msg := make([]byte, n)
		if _, err := io.ReadFull(c, msg); err != nil {
			t.Fatal(err)
		}
		if msg[0] != 4 {
			t.Fatalf("SSLv2 answer of type %d, want SERVER-HELLO", msg[0])
		}
		return serverHello{sslv2: true, version: binary.BigEndian.Uint16(msg[3:5])}
	}
	rest := make([]byte, 3)
	if _, err := io.ReadFull(c, rest); err != nil {
		t.Fatal(err)
	}
	n := int(binary.BigEndian.Uint16(rest[1:3]))
	payload := make([]byte, n)
	if _, err := io.ReadFull(c, payload); err != nil {
		t.Fatal(err)
	}
	if head[0] == 0x15 {
		return serverHello{alert: true}
	}
	if head[0] != 0x16 || payload[0] != 2 {
		t.Fatalf("answer record %x/%x, want a ServerHello", head[0], payload[0])
	}
	// The record may hold more messages after the ServerHello.
	body := payload[4 : 4+(int(payload[1])<<16|int(payload[2])<<8|int(payload[3]))]
	sh := serverHello{version: binary.BigEndian.Uint16(body[0:2])}
	sid := int(body[34])
	p := body[35+sid:]
	sh.suite = binary.BigEndian.Uint16(p[0:2])
	p = p[3:]
	if len(p) >= 2 {
		exts := p[2 : 2+int(binary.BigEndian.Uint16(p[0:2]))]
		for len(exts) >= 4 {
			typ, l := binary.BigEndian.Uint16(exts[0:2]), int(binary.BigEndian.Uint16(exts[2:4]))
			if typ == 0xff01 {
				sh.renegotiation = true
			}
			if typ == 0x002b && l == 2 {
				sh.version = binary.BigEndian.Uint16(exts[4:6])
			}
			exts = exts[4+l:]
		}
	}
	return sh
}

func TestLegacyScenarios(t *testing.T) {
	var legacy []*Scenario
	for _, sc := range Catalogue() {
		if h := sc.Hosts[""]; h != nil && h.TLS.Legacy != nil {
			legacy = append(legacy, sc)
		}
	}
	if len(legacy) == 0 {
		t.Fatal("no legacy scenarios")
	}
	l, err := Start(context.Background(), Options{Scenarios: legacy, HighPorts: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, sc := range legacy {
		t.Run(sc.Domain, func(t *testing.T) {
			cfg := sc.Hosts[""].TLS.Legacy
			ip, _ := l.Addr(sc.Domain)
			addr := netip.AddrPortFrom(ip, uint16(l.port(443))).String()
			if sc.Served != "legacy responder" {
				t.Errorf("Served = %q", sc.Served)
			}
			for _, v := range cfg.Versions {
				if v == legacytls.VersionSSL2 {
					sh := probe(t, addr, clientHelloSSLv2(cfg.SSLv2Kinds))
					if !sh.sslv2 {
						t.Errorf("SSLv2 hello not answered in SSLv2")
					}
					continue
				}
				sh := probe(t, addr, clientHelloTLS(v, cfg.Suites))
				if sh.alert || sh.version != v || !slices.Contains(cfg.Suites, sh.suite) {
					t.Errorf("version %04x: answer %+v, want that version and one of %04x", v, sh, cfg.Suites)
				}
				if v < legacytls.VersionTLS13 && sh.renegotiation != cfg.SecureRenegotiation {
					t.Errorf("version %04x: renegotiation_info %v, configured %v", v, sh.renegotiation, cfg.SecureRenegotiation)
				}
			}
			// A version the server lacks is refused.
			for _, v := range []uint16{legacytls.VersionSSL3, legacytls.VersionTLS10, legacytls.VersionTLS12} {
				if slices.Contains(cfg.Versions, v) || (v == legacytls.VersionTLS10 && slices.Contains(cfg.Versions, legacytls.VersionTLS11)) ||
					(v == legacytls.VersionSSL3 && len(cfg.Versions) > 0 && cfg.Versions[0] < legacytls.VersionTLS13 && cfg.Versions[0] != legacytls.VersionSSL2 && cfg.Versions[0] <= v) {
					continue
				}
				if len(cfg.Suites) == 0 {
					continue
				}
				// Offer only that version (no higher one to fall back to).
				if sh := probe(t, addr, clientHelloTLS(v, cfg.Suites)); !sh.alert && sh.version == v {
					t.Errorf("version %04x accepted; configured %04x", v, cfg.Versions)
				}
			}
		})
	}
}

// TestLegacyWithOpenSSL asks openssl s_client for the DHE scenarios, a
// protocol Debian's OpenSSL 3 still speaks.
func TestLegacyWithOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	var dhe []*Scenario
	for _, sc := range Catalogue() {
		if h := sc.Hosts[""]; h != nil && h.TLS.Legacy != nil && (slices.Contains(h.TLS.Legacy.Suites, legacytls.Suites["TLS_DHE_RSA_WITH_AES_128_CBC_SHA"]) ||
			slices.Contains(h.TLS.Legacy.Suites, legacytls.Suites["TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"])) &&
			slices.Contains(h.TLS.Legacy.Versions, legacytls.VersionTLS12) {
			dhe = append(dhe, sc)
		}
	}
	if len(dhe) == 0 {
		t.Skip("no DHE scenario over TLS 1.2")
	}
	l, err := Start(context.Background(), Options{Scenarios: dhe, HighPorts: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	conf := t.TempDir() + "/openssl.cnf"
	if err := writeEmpty(conf); err != nil {
		t.Fatal(err)
	}
	for _, sc := range dhe {
		ip, _ := l.Addr(sc.Domain)
		addr := netip.AddrPortFrom(ip, uint16(l.port(443))).String()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		cmd := exec.CommandContext(ctx, "openssl", "s_client", "-connect", addr, "-servername", sc.Domain,
			"-tls1_2", "-cipher", "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES128-SHA:@SECLEVEL=0", "-msg")
		cmd.Env = append(cmd.Environ(), "OPENSSL_CONF="+conf)
		cmd.Stdin = bytes.NewReader(nil)
		out, _ := cmd.CombinedOutput()
		cancel()
		if !regexp.MustCompile(`(?m)^<<< .*ServerHello`).Match(out) {
			t.Errorf("%s: openssl saw no ServerHello:\n%s", sc.Domain, out)
		}
	}
}

func writeEmpty(path string) error { return os.WriteFile(path, nil, 0o644) }
