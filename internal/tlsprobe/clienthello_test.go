package tlsprobe

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"golang.org/x/crypto/cryptobyte"
)

// parsedHello is a ClientHello read back by the test's own parser.
type parsedHello struct {
	recordVersion uint16
	version       uint16
	sessionID     []byte
	suites        []uint32
	compression   []byte
	hasExts       bool
	exts          map[uint16][]byte
	extOrder      []uint16
	msgLen        int // handshake message length including its header
}

func parseHelloBytes(v Version, b []byte) (*parsedHello, error) {
	if v == SSL20 {
		return parseV2HelloBytes(b)
	}
	s := cryptobyte.String(b)
	var typ uint8
	var recVer uint16
	var rec cryptobyte.String
	if !s.ReadUint8(&typ) || typ != 22 || !s.ReadUint16(&recVer) || !s.ReadUint16LengthPrefixed(&rec) || !s.Empty() {
		return nil, fmt.Errorf("bad record framing")
	}
	p := &parsedHello{recordVersion: recVer, msgLen: len(rec), exts: map[uint16][]byte{}}
	var body, sid, suites, comp cryptobyte.String
	if !rec.ReadUint8(&typ) || typ != 1 || !rec.ReadUint24LengthPrefixed(&body) || !rec.Empty() {
		return nil, fmt.Errorf("bad handshake framing")
	}
	if !body.ReadUint16(&p.version) || !body.Skip(32) || !body.ReadUint8LengthPrefixed(&sid) ||
		!body.ReadUint16LengthPrefixed(&suites) || len(suites)%2 != 0 || !body.ReadUint8LengthPrefixed(&comp) {
		return nil, fmt.Errorf("bad hello body")
	}
	p.sessionID, p.compression = sid, comp
	for !suites.Empty() {
		var id uint16
		suites.ReadUint16(&id)
		p.suites = append(p.suites, uint32(id))
	}
	if body.Empty() {
		return p, nil
	}
	p.hasExts = true
	var exts cryptobyte.String
	if !body.ReadUint16LengthPrefixed(&exts) || !body.Empty() {
		return nil, fmt.Errorf("bad extensions block")
	}
	for !exts.Empty() {
		var typ uint16
		var data cryptobyte.String
		if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&data) {
			return nil, fmt.Errorf("bad extension")
		}
		if _, dup := p.exts[typ]; dup {
			return nil, fmt.Errorf("duplicate extension %d", typ)
		}
		p.exts[typ] = data
		p.extOrder = append(p.extOrder, typ)
	}
	return p, nil
}

func parseV2HelloBytes(b []byte) (*parsedHello, error) {
	if len(b) < 2 || b[0]&0x80 == 0 || int(b[0]&0x7f)<<8|int(b[1]) != len(b)-2 {
		return nil, fmt.Errorf("bad SSLv2 header")
	}
	s := cryptobyte.String(b[2:])
	var typ uint8
	var version, specLen, sidLen, chalLen uint16
	var specs []byte
	if !s.ReadUint8(&typ) || typ != 1 || !s.ReadUint16(&version) || !s.ReadUint16(&specLen) ||
		!s.ReadUint16(&sidLen) || !s.ReadUint16(&chalLen) || specLen%3 != 0 || sidLen != 0 || chalLen != 16 ||
		!s.ReadBytes(&specs, int(specLen)) || !s.Skip(int(chalLen)) || !s.Empty() {
		return nil, fmt.Errorf("bad SSLv2 hello")
	}
	p := &parsedHello{version: version}
	for i := 0; i < len(specs); i += 3 {
		p.suites = append(p.suites, uint32(specs[i])<<16|uint32(specs[i+1])<<8|uint32(specs[i+2]))
	}
	return p, nil
}

// checkHello verifies b as the hello buildHello should make for the inputs.
func checkHello(t *testing.T, v Version, suites []uint32, serverName string, b []byte) {
	t.Helper()
	p, err := parseHelloBytes(v, b)
	if err != nil {
		t.Fatalf("%v: %v\n% x", v, err, b)
	}
	if v == SSL20 {
		if p.version != 2 || !slices.Equal(p.suites, suites) {
			t.Fatalf("SSLv2 hello: version %#x suites %x", p.version, p.suites)
		}
		return
	}
	wantRec, wantVer := uint16(TLS10), uint16(min(v, TLS12))
	wantSuites := slices.Clone(suites)
	if v == SSL30 {
		wantRec = uint16(SSL30)
		wantSuites = append(wantSuites, 0x00ff)
	}
	if p.recordVersion != wantRec || p.version != wantVer {
		t.Errorf("%v: record %#x, client_version %#x", v, p.recordVersion, p.version)
	}
	if !slices.Equal(p.suites, wantSuites) {
		t.Errorf("%v: suites %x, want %x", v, p.suites, wantSuites)
	}
	if !bytes.Equal(p.compression, []byte{0}) {
		t.Errorf("%v: compression % x", v, p.compression)
	}
	if (v == TLS13) != (len(p.sessionID) == 32) || v != TLS13 && len(p.sessionID) != 0 {
		t.Errorf("%v: session id of %d bytes", v, len(p.sessionID))
	}
	if v == SSL30 {
		if p.hasExts {
			t.Errorf("SSLv3 hello has extensions")
		}
		return
	}
	if p.msgLen > 0xff && p.msgLen < 0x200 {
		t.Errorf("%v: %d-byte hello, in the range some servers hang on", v, p.msgLen)
	}
	has := func(e uint16) bool { _, ok := p.exts[e]; return ok }
	sni := sniName(v, serverName)
	if sni == "" {
		if has(extServerName) {
			t.Errorf("%v: SNI sent for %q", v, serverName)
		}
	} else {
		want := cryptobyte.NewBuilder(nil)
		want.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			b.AddUint8(0)
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(sni)) })
		})
		if !bytes.Equal(p.exts[extServerName], want.BytesOrPanic()) {
			t.Errorf("%v: server_name % x for %q", v, p.exts[extServerName], sni)
		}
	}
	if has(extRenegotiationInfo) != (v < TLS13) || v < TLS13 && !bytes.Equal(p.exts[extRenegotiationInfo], []byte{0}) {
		t.Errorf("%v: renegotiation_info % x", v, p.exts[extRenegotiationInfo])
	}
	if !has(extSupportedGroups) {
		t.Errorf("%v: no supported_groups", v)
	}
	if has(extECPointFormats) != (v < TLS13) {
		t.Errorf("%v: ec_point_formats presence", v)
	}
	if has(extSignatureAlgorithms) != (v >= TLS12) {
		t.Errorf("%v: signature_algorithms presence", v)
	}
	if v == TLS13 {
		if !bytes.Equal(p.exts[extSupportedVersions], []byte{2, 3, 4}) {
			t.Errorf("supported_versions % x", p.exts[extSupportedVersions])
		}
		ks := cryptobyte.String(p.exts[extKeyShare])
		var list, key cryptobyte.String
		var group uint16
		if !ks.ReadUint16LengthPrefixed(&list) || !list.ReadUint16(&group) || group != groupX25519 ||
			!list.ReadUint16LengthPrefixed(&key) || len(key) != 32 || !list.Empty() {
			t.Errorf("key_share % x", p.exts[extKeyShare])
		}
	} else if has(extSupportedVersions) || has(extKeyShare) {
		t.Errorf("%v: TLS 1.3 extensions in a legacy hello", v)
	}
}

func TestClientHelloWire(t *testing.T) {
	for _, v := range Versions {
		for _, name := range []string{"", "probe.test", "probe.test.", "192.0.2.1", "::1", "bad name"} {
			suites := suiteIDs(Candidates(v))
			b, err := buildHello(v, suites, name)
			if err != nil {
				t.Fatalf("%v %q: %v", v, name, err)
			}
			checkHello(t, v, suites, name, b)
		}
		// Short lists land in the padding range for TLS.
		for n := 1; n <= 200 && n <= len(Candidates(v)); n += 7 {
			suites := suiteIDs(Candidates(v))[:n]
			b, err := buildHello(v, suites, "a-rather-long-host-name.probe.test")
			if err != nil {
				t.Fatal(err)
			}
			checkHello(t, v, suites, "a-rather-long-host-name.probe.test", b)
		}
	}
	if _, err := buildHello(TLS12, nil, ""); err == nil {
		t.Error("empty suite list accepted")
	}
	if _, err := buildHello(TLS12, []uint32{0x10000}, ""); err == nil {
		t.Error("3-byte TLS suite accepted")
	}
	if _, err := buildHello(Version(0x0305), []uint32{1}, ""); err == nil {
		t.Error("unknown version accepted")
	}
	if _, err := buildHello(SSL20, make([]uint32, maxSSLv2Suites+1), ""); err == nil {
		t.Error("oversized SSLv2 hello accepted")
	}
	if got := sniName(TLS12, "Probe.Test."); got != "Probe.Test" {
		t.Errorf("sniName kept %q", got)
	}
}

// FuzzClientHello builds hellos for arbitrary suite lists, versions and
// names and parses them back.
func FuzzClientHello(f *testing.F) {
	f.Add([]byte{0xc0, 0x2f, 0x00, 0x0a}, uint8(4), "probe.test")
	f.Add([]byte{0x13, 0x01}, uint8(5), "")
	f.Add([]byte{0x01, 0x00, 0x80, 0x07, 0x00, 0xc0}, uint8(0), "x")
	f.Add(bytes.Repeat([]byte{0, 5}, 120), uint8(2), "192.0.2.1")
	f.Fuzz(func(t *testing.T, raw []byte, vi uint8, name string) {
		v := Versions[int(vi)%len(Versions)]
		width := 2
		if v == SSL20 {
			width = 3
		}
		var suites []uint32
		for i := 0; i+width <= len(raw); i += width {
			var id uint32
			for _, c := range raw[i : i+width] {
				id = id<<8 | uint32(c)
			}
			suites = append(suites, id)
		}
		b, err := buildHello(v, suites, name)
		if err != nil {
			if len(suites) == 0 || v == SSL20 && len(suites) > maxSSLv2Suites || v != SSL20 && len(suites) > 4000 {
				return
			}
			t.Fatalf("%v with %d suites: %v", v, len(suites), err)
		}
		checkHello(t, v, suites, name, b)
	})
}
