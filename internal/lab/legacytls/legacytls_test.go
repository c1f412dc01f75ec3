package legacytls

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

// The test side builds and parses messages with its own byte-level code, so
// that a shared misunderstanding cannot make both sides agree.

func be16(v uint16) []byte { return []byte{byte(v >> 8), byte(v)} }

func be24(v int) []byte { return []byte{byte(v >> 16), byte(v >> 8), byte(v)} }

func extension(typ uint16, data []byte) []byte {
	return append(append(be16(typ), be16(uint16(len(data)))...), data...)
}

func extSupportedVersionsOf(vs ...uint16) []byte {
	data := []byte{byte(2 * len(vs))}
	for _, v := range vs {
		data = append(data, be16(v)...)
	}
	return extension(43, data)
}

func extGroupsOf(gs ...uint16) []byte {
	var list []byte
	for _, g := range gs {
		list = append(list, be16(g)...)
	}
	return extension(10, append(be16(uint16(len(list))), list...))
}

// extKeyShares offers one share per group, of the given key lengths.
func extKeyShares(shares map[uint16]int, order ...uint16) []byte {
	var list []byte
	for _, g := range order {
		list = append(list, be16(g)...)
		list = append(list, be16(uint16(shares[g]))...)
		key := bytes.Repeat([]byte{0x42}, shares[g])
		if g == 0x0017 {
			key[0] = 4
		}
		list = append(list, key...)
	}
	return extension(51, append(be16(uint16(len(list))), list...))
}

var extEmptyRenegInfo = extension(0xff01, []byte{0})

type testHello struct {
	recVersion uint16 // 0 means 0x0301, as most clients send
	version    uint16
	sessionID  []byte
	suites     []uint16
	exts       [][]byte // nil: no extensions block at all
}

func (h testHello) message() []byte {
	body := be16(h.version)
	body = append(body, bytes.Repeat([]byte{0xAA}, 32)...)
	body = append(body, byte(len(h.sessionID)))
	body = append(body, h.sessionID...)
	body = append(body, be16(uint16(2*len(h.suites)))...)
	for _, s := range h.suites {
		body = append(body, be16(s)...)
	}
	body = append(body, 1, 0)
	if h.exts != nil {
		var e []byte
		for _, x := range h.exts {
			e = append(e, x...)
		}
		body = append(body, be16(uint16(len(e)))...)
		body = append(body, e...)
	}
	return append(append([]byte{1}, be24(len(body))...), body...)
}

// bytes frames the hello in records of at most frag bytes (0: one record).
func (h testHello) bytes(frag int) []byte {
	rv := h.recVersion
	if rv == 0 {
		rv = 0x0301
	}
	msg := h.message()
	if frag == 0 {
		frag = len(msg)
	}
	var out []byte
	for len(msg) > 0 {
		n := min(frag, len(msg))
		out = append(out, 22)
		out = append(out, be16(rv)...)
		out = append(out, be16(uint16(n))...)
		out = append(out, msg[:n]...)
		msg = msg[n:]
	}
	return out
}

// v2Hello is an SSLv2-format CLIENT-HELLO.
func v2Hello(version uint16, specs ...uint32) []byte {
	body := []byte{1}
	body = append(body, be16(version)...)
	body = append(body, be16(uint16(3*len(specs)))...)
	body = append(body, 0, 0, 0, 16) // no session id, 16-byte challenge
	for _, s := range specs {
		body = append(body, be24(int(s))...)
	}
	body = append(body, bytes.Repeat([]byte{0x55}, 16)...)
	return append([]byte{0x80 | byte(len(body)>>8), byte(len(body))}, body...)
}

type testRec struct {
	typ     uint8
	version uint16
	payload []byte
}

func splitRecords(t *testing.T, b []byte) []testRec {
	t.Helper()
	var recs []testRec
	for len(b) > 0 {
		if len(b) < 5 {
			t.Fatalf("truncated record header % x", b)
		}
		n := int(b[3])<<8 | int(b[4])
		if len(b) < 5+n {
			t.Fatalf("truncated record: want %d bytes, have %d", n, len(b)-5)
		}
		recs = append(recs, testRec{b[0], uint16(b[1])<<8 | uint16(b[2]), b[5 : 5+n]})
		b = b[5+n:]
	}
	return recs
}

type testMsg struct {
	typ  uint8
	body []byte
}

func handshakeMsgs(t *testing.T, recs []testRec) []testMsg {
	t.Helper()
	var all []byte
	for _, r := range recs {
		if r.typ != 22 {
			t.Fatalf("record type %d, want handshake", r.typ)
		}
		all = append(all, r.payload...)
	}
	var msgs []testMsg
	for len(all) > 0 {
		if len(all) < 4 {
			t.Fatalf("truncated handshake header")
		}
		n := int(all[1])<<16 | int(all[2])<<8 | int(all[3])
		if len(all) < 4+n {
			t.Fatalf("truncated handshake message")
		}
		msgs = append(msgs, testMsg{all[0], all[4 : 4+n]})
		all = all[4+n:]
	}
	return msgs
}

type testServerHello struct {
	version   uint16
	random    []byte
	sessionID []byte
	suite     uint16
	extBlock  bool
	exts      map[uint16][]byte
}

func parseServerHello(t *testing.T, b []byte) testServerHello {
	t.Helper()
	fail := func() { t.Fatalf("malformed ServerHello % x", b) }
	if len(b) < 2+32+1 {
		fail()
	}
	sh := testServerHello{version: uint16(b[0])<<8 | uint16(b[1]), random: b[2:34], exts: map[uint16][]byte{}}
	sidLen := int(b[34])
	rest := b[35:]
	if sidLen > 32 || len(rest) < sidLen+3 {
		fail()
	}
	sh.sessionID, rest = rest[:sidLen], rest[sidLen:]
	sh.suite = uint16(rest[0])<<8 | uint16(rest[1])
	if rest[2] != 0 {
		t.Fatalf("compression %d", rest[2])
	}
	rest = rest[3:]
	if len(rest) == 0 {
		return sh
	}
	sh.extBlock = true
	if len(rest) < 2 || int(rest[0])<<8|int(rest[1]) != len(rest)-2 {
		fail()
	}
	for rest = rest[2:]; len(rest) > 0; {
		if len(rest) < 4 {
			fail()
		}
		typ, n := uint16(rest[0])<<8|uint16(rest[1]), int(rest[2])<<8|int(rest[3])
		if len(rest) < 4+n {
			fail()
		}
		sh.exts[typ] = rest[4 : 4+n]
		rest = rest[4+n:]
	}
	return sh
}

func startServer(t *testing.T, c Config) (string, *Server) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(c)
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return l.Addr().String(), s
}

// roundTrip sends req and returns everything the server sent until it
// closed the connection.
func roundTrip(t *testing.T, addr string, req []byte) []byte {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	resp, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("reading answer: %v", err)
	}
	return resp
}

// expectServerHello checks the answer is a handshake flight at record
// version recVer and returns its ServerHello and the message types after it.
func expectServerHello(t *testing.T, resp []byte, recVer uint16) (testServerHello, []uint8) {
	t.Helper()
	recs := splitRecords(t, resp)
	if len(recs) == 0 {
		t.Fatal("no answer")
	}
	for _, r := range recs {
		if r.version != recVer {
			t.Errorf("record version %#04x, want %#04x", r.version, recVer)
		}
	}
	msgs := handshakeMsgs(t, recs)
	if msgs[0].typ != 2 {
		t.Fatalf("first message type %d, want ServerHello", msgs[0].typ)
	}
	var rest []uint8
	for _, m := range msgs[1:] {
		rest = append(rest, m.typ)
	}
	return parseServerHello(t, msgs[0].body), rest
}

func expectAlert(t *testing.T, resp []byte, recVer uint16, desc uint8) {
	t.Helper()
	recs := splitRecords(t, resp)
	if len(recs) != 1 || recs[0].typ != 21 || !bytes.Equal(recs[0].payload, []byte{2, desc}) {
		t.Fatalf("answer % x, want fatal alert %d", resp, desc)
	}
	if recs[0].version != recVer {
		t.Errorf("alert record version %#04x, want %#04x", recs[0].version, recVer)
	}
}

func TestTLSNegotiation(t *testing.T) {
	tls10to12 := []uint16{0x0301, 0x0302, 0x0303}
	tests := []struct {
		name     string
		cfg      Config
		hello    testHello
		recVer   uint16 // of the answer
		version  uint16 // 0: expect an alert
		suite    uint16
		alert    uint8
		certSent bool
	}{
		{
			name:    "SSLv3 RC4-MD5",
			cfg:     Config{Versions: []uint16{0x0300}, Suites: []uint16{0x0004}},
			hello:   testHello{recVersion: 0x0300, version: 0x0300, suites: []uint16{0x000A, 0x0005, 0x0004}},
			recVer:  0x0300,
			version: 0x0300, suite: 0x0004,
		},
		{
			name:    "DHE only, server preference",
			cfg:     Config{Versions: tls10to12, Suites: []uint16{0x009E, 0x0033, 0x0039}},
			hello:   testHello{version: 0x0303, suites: []uint16{0x0039, 0x0033}, exts: [][]byte{}},
			recVer:  0x0303,
			version: 0x0303, suite: 0x0033,
		},
		{
			name:    "DHE GCM with TLS 1.2",
			cfg:     Config{Versions: tls10to12, Suites: []uint16{0x009F, 0x009E}},
			hello:   testHello{version: 0x0303, suites: []uint16{0x009E, 0x009F}},
			recVer:  0x0303,
			version: 0x0303, suite: 0x009F,
		},
		{
			name:    "GCM skipped below TLS 1.2",
			cfg:     Config{Versions: tls10to12, Suites: []uint16{0x009E, 0x0039}},
			hello:   testHello{version: 0x0301, suites: []uint16{0x009E, 0x0039}},
			recVer:  0x0301,
			version: 0x0301, suite: 0x0039,
		},
		{
			name:   "no common suite",
			cfg:    Config{Versions: tls10to12, Suites: []uint16{0x0033, 0x0039}},
			hello:  testHello{version: 0x0303, suites: []uint16{0xC02F, 0x002F}},
			recVer: 0x0303, alert: 40,
		},
		{
			name:   "SSLv3 client, TLS 1.2 server",
			cfg:    Config{Versions: []uint16{0x0303}, Suites: []uint16{0x002F}},
			hello:  testHello{recVersion: 0x0300, version: 0x0300, suites: []uint16{0x002F}},
			recVer: 0x0300, alert: 70,
		},
		{
			name:   "TLS 1.2 client, TLS 1.3-only server",
			cfg:    Config{Versions: []uint16{0x0304}, Suites: []uint16{0x1301}},
			hello:  testHello{version: 0x0303, suites: []uint16{0x1301, 0xC02F}},
			recVer: 0x0301, alert: 70,
		},
		{
			name:    "highest common version",
			cfg:     Config{Versions: []uint16{0x0300, 0x0301}, Suites: []uint16{0x002F}},
			hello:   testHello{version: 0x0303, suites: []uint16{0x002F}},
			recVer:  0x0301,
			version: 0x0301, suite: 0x002F,
		},
		{
			name:    "export",
			cfg:     Config{Versions: []uint16{0x0301}, Suites: []uint16{0x0003, 0x0008}},
			hello:   testHello{version: 0x0301, suites: []uint16{0x002F, 0x0008}},
			recVer:  0x0301,
			version: 0x0301, suite: 0x0008,
		},
		{
			name:    "NULL",
			cfg:     Config{Versions: tls10to12, Suites: []uint16{0x003B, 0x0002, 0x0001}},
			hello:   testHello{version: 0x0302, suites: []uint16{0x0001, 0x0002, 0x003B}},
			recVer:  0x0302,
			version: 0x0302, suite: 0x0002,
		},
		{
			name:    "TLS 1.3 suites never below 1.3",
			cfg:     Config{Versions: tls10to12, Suites: []uint16{0x1301, 0x002F}},
			hello:   testHello{version: 0x0303, suites: []uint16{0x1301, 0x002F}},
			recVer:  0x0303,
			version: 0x0303, suite: 0x002F,
		},
		{
			name:    "signalling values are never chosen",
			cfg:     Config{Versions: tls10to12, Suites: []uint16{0x00FF, 0x5600, 0x002F}},
			hello:   testHello{version: 0x0303, suites: []uint16{0x5600, 0x00FF, 0x002F}},
			recVer:  0x0303,
			version: 0x0303, suite: 0x002F,
		},
		{
			name: "certificate after ServerHello",
			cfg: Config{Versions: tls10to12, Suites: []uint16{0x002F},
				Certificate: [][]byte{[]byte("leaf"), []byte("issuer")}},
			hello:   testHello{version: 0x0303, suites: []uint16{0x002F}},
			recVer:  0x0303,
			version: 0x0303, suite: 0x002F, certSent: true,
		},
		{
			name: "no certificate for anonymous suites",
			cfg: Config{Versions: tls10to12, Suites: []uint16{0x0034},
				Certificate: [][]byte{[]byte("leaf")}},
			hello:   testHello{version: 0x0303, suites: []uint16{0x0034}},
			recVer:  0x0303,
			version: 0x0303, suite: 0x0034,
		},
		{
			name:    "pre-1.3 server ignores supported_versions",
			cfg:     Config{Versions: tls10to12, Suites: []uint16{0x002F}},
			hello:   testHello{version: 0x0303, suites: []uint16{0x002F}, exts: [][]byte{extSupportedVersionsOf(0x0304, 0x0303)}},
			recVer:  0x0303,
			version: 0x0303, suite: 0x002F,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, _ := startServer(t, tt.cfg)
			for _, frag := range []int{0, 7} { // whole, and fragmented across records
				resp := roundTrip(t, addr, tt.hello.bytes(frag))
				if tt.version == 0 {
					expectAlert(t, resp, tt.recVer, tt.alert)
					continue
				}
				sh, rest := expectServerHello(t, resp, tt.recVer)
				if sh.version != tt.version || sh.suite != tt.suite {
					t.Errorf("ServerHello version %#04x suite %#04x, want %#04x %#04x", sh.version, sh.suite, tt.version, tt.suite)
				}
				if len(sh.sessionID) != 32 || bytes.Equal(sh.sessionID, tt.hello.sessionID) {
					t.Errorf("session id % x: want a fresh 32-byte id", sh.sessionID)
				}
				want := []uint8{14}
				if tt.certSent {
					want = []uint8{11, 14}
				}
				if !slices.Equal(rest, want) {
					t.Errorf("messages after ServerHello %v, want %v", rest, want)
				}
			}
		})
	}
}

func TestCertificateMessage(t *testing.T) {
	chain := [][]byte{[]byte("leaf-der"), []byte("intermediate-der")}
	addr, _ := startServer(t, Config{Versions: []uint16{0x0303}, Suites: []uint16{0x002F}, Certificate: chain})
	msgs := handshakeMsgs(t, splitRecords(t, roundTrip(t, addr, testHello{version: 0x0303, suites: []uint16{0x002F}}.bytes(0))))
	if len(msgs) != 3 || msgs[1].typ != 11 {
		t.Fatalf("messages %v", msgs)
	}
	b := msgs[1].body
	if int(b[0])<<16|int(b[1])<<8|int(b[2]) != len(b)-3 {
		t.Fatalf("certificate_list length mismatch")
	}
	var got [][]byte
	for b = b[3:]; len(b) >= 3; {
		n := int(b[0])<<16 | int(b[1])<<8 | int(b[2])
		got = append(got, b[3:3+n])
		b = b[3+n:]
	}
	if !slices.EqualFunc(got, chain, bytes.Equal) {
		t.Errorf("chain %q, want %q", got, chain)
	}
}

func TestLargeCertificateSplitsRecords(t *testing.T) {
	big := bytes.Repeat([]byte{0x30}, 40000)
	addr, _ := startServer(t, Config{Versions: []uint16{0x0303}, Suites: []uint16{0x002F}, Certificate: [][]byte{big}})
	resp := roundTrip(t, addr, testHello{version: 0x0303, suites: []uint16{0x002F}}.bytes(0))
	recs := splitRecords(t, resp)
	for _, r := range recs {
		if len(r.payload) > 1<<14 {
			t.Errorf("record of %d bytes exceeds 2^14", len(r.payload))
		}
	}
	if msgs := handshakeMsgs(t, recs); len(msgs) != 3 || len(msgs[1].body) != 40000+6 {
		t.Errorf("bad flight: %d messages", len(msgs))
	}
}

func TestSecureRenegotiation(t *testing.T) {
	for _, secure := range []bool{false, true} {
		addr, _ := startServer(t, Config{Versions: []uint16{0x0300, 0x0303}, Suites: []uint16{0x002F}, SecureRenegotiation: secure})
		for _, tc := range []struct {
			name    string
			hello   testHello
			signals bool
		}{
			{"extension", testHello{version: 0x0303, suites: []uint16{0x002F}, exts: [][]byte{extEmptyRenegInfo}}, true},
			{"SCSV", testHello{version: 0x0303, suites: []uint16{0x002F, 0x00FF}}, true},
			{"SSLv3 SCSV", testHello{recVersion: 0x0300, version: 0x0300, suites: []uint16{0x002F, 0x00FF}}, true},
			{"neither", testHello{version: 0x0303, suites: []uint16{0x002F}, exts: [][]byte{}}, false},
		} {
			resp := roundTrip(t, addr, tc.hello.bytes(0))
			sh, _ := expectServerHello(t, resp, min(tc.hello.version, 0x0303))
			ri, has := sh.exts[0xff01]
			if want := secure && tc.signals; has != want {
				t.Errorf("secure=%v %s: renegotiation_info present=%v, want %v", secure, tc.name, has, want)
			}
			if has && !bytes.Equal(ri, []byte{0}) {
				t.Errorf("renegotiation_info % x, want 00", ri)
			}
			if !has && sh.extBlock {
				t.Errorf("%s: unexpected extensions block %v", tc.name, sh.exts)
			}
		}
	}
	// A non-empty renegotiated_connection on an initial handshake is an attack.
	addr, _ := startServer(t, Config{Versions: []uint16{0x0303}, Suites: []uint16{0x002F}, SecureRenegotiation: true})
	bad := testHello{version: 0x0303, suites: []uint16{0x002F}, exts: [][]byte{extension(0xff01, []byte{2, 1, 2})}}
	expectAlert(t, roundTrip(t, addr, bad.bytes(0)), 0x0303, 40)
}

func TestTLS13(t *testing.T) {
	cfg := Config{Versions: []uint16{0x0301, 0x0303, 0x0304}, Suites: []uint16{0x1301, 0x1304, 0x002F}}
	addr, _ := startServer(t, cfg)
	sid := bytes.Repeat([]byte{7}, 32)
	hello13 := func(suites []uint16, exts ...[]byte) testHello {
		return testHello{version: 0x0303, sessionID: sid, suites: suites,
			exts: append([][]byte{extSupportedVersionsOf(0x0304, 0x0303), extGroupsOf(0x001d, 0x0017)}, exts...)}
	}
	check13 := func(t *testing.T, resp []byte, suite, group uint16, keyLen int) testServerHello {
		t.Helper()
		sh, rest := expectServerHello(t, resp, 0x0303)
		if len(rest) != 0 {
			t.Errorf("messages after a TLS 1.3 ServerHello: %v", rest)
		}
		if sh.version != 0x0303 || sh.suite != suite || !bytes.Equal(sh.sessionID, sid) {
			t.Errorf("ServerHello version %#04x suite %#04x sid % x", sh.version, sh.suite, sh.sessionID)
		}
		if !bytes.Equal(sh.exts[43], []byte{3, 4}) {
			t.Errorf("supported_versions % x, want 03 04", sh.exts[43])
		}
		if _, ok := sh.exts[0xff01]; ok {
			t.Error("renegotiation_info in a TLS 1.3 ServerHello")
		}
		ks := sh.exts[51]
		if keyLen < 0 { // HelloRetryRequest: selected_group only
			if !bytes.Equal(ks, be16(group)) {
				t.Errorf("HRR key_share % x, want group %#04x", ks, group)
			}
			return sh
		}
		if len(ks) != 4+keyLen || !bytes.Equal(ks[:2], be16(group)) || int(ks[2])<<8|int(ks[3]) != keyLen {
			t.Errorf("key_share % x, want group %#04x with %d-byte key", ks[:min(len(ks), 4)], group, keyLen)
		}
		return sh
	}

	t.Run("CCM only", func(t *testing.T) {
		resp := roundTrip(t, addr, hello13([]uint16{0x1304}, extKeyShares(map[uint16]int{0x001d: 32}, 0x001d)).bytes(0))
		sh := check13(t, resp, 0x1304, 0x001d, 32)
		if bytes.Equal(sh.random, helloRetryRandom) {
			t.Error("ServerHello carries the HelloRetryRequest random")
		}
	})
	t.Run("x25519 preferred over first share", func(t *testing.T) {
		shares := map[uint16]int{0x11ec: 1216, 0x001d: 32}
		resp := roundTrip(t, addr, hello13([]uint16{0x1301}, extKeyShares(shares, 0x11ec, 0x001d)).bytes(0))
		check13(t, resp, 0x1301, 0x001d, 32)
	})
	t.Run("P-256 share", func(t *testing.T) {
		resp := roundTrip(t, addr, hello13([]uint16{0x1301}, extKeyShares(map[uint16]int{0x0017: 65}, 0x0017)).bytes(0))
		check13(t, resp, 0x1301, 0x0017, 65)
	})
	t.Run("no key share: HelloRetryRequest", func(t *testing.T) {
		resp := roundTrip(t, addr, hello13([]uint16{0x1301}).bytes(0))
		sh := check13(t, resp, 0x1301, 0x001d, -1)
		if !bytes.Equal(sh.random, helloRetryRandom) {
			t.Error("HelloRetryRequest without its fixed random")
		}
	})
	t.Run("TLS 1.3 suite the server lacks", func(t *testing.T) {
		resp := roundTrip(t, addr, hello13([]uint16{0x1305, 0x1303}, extKeyShares(map[uint16]int{0x001d: 32}, 0x001d)).bytes(0))
		expectAlert(t, resp, 0x0303, 40)
	})
	t.Run("1.3-capable server downgrading marks the random", func(t *testing.T) {
		for v, last := range map[uint16]byte{0x0303: 1, 0x0301: 0} {
			resp := roundTrip(t, addr, testHello{version: v, suites: []uint16{0x002F}}.bytes(0))
			sh, _ := expectServerHello(t, resp, v)
			if !bytes.Equal(sh.random[24:], append([]byte("DOWNGRD"), last)) {
				t.Errorf("random tail % x", sh.random[24:])
			}
		}
	})
}

func TestSSLv2(t *testing.T) {
	cert := []byte("v2-cert-der")
	v2cfg := Config{Versions: []uint16{0x0002}, SSLv2Kinds: []uint32{0x0700C0, 0x010080}, Certificate: [][]byte{cert}}

	t.Run("SERVER-HELLO with common kinds", func(t *testing.T) {
		addr, _ := startServer(t, v2cfg)
		resp := roundTrip(t, addr, v2Hello(0x0002, 0x020080, 0x010080, 0x0700C0))
		if len(resp) < 2 || resp[0]&0x80 == 0 || int(resp[0]&0x7f)<<8|int(resp[1]) != len(resp)-2 {
			t.Fatalf("not one SSLv2 record: % x", resp)
		}
		b := resp[2:]
		if len(b) < 11 || b[0] != 4 || b[1] != 0 || b[2] != 1 || !bytes.Equal(b[3:5], []byte{0, 2}) {
			t.Fatalf("bad SERVER-HELLO header % x", b[:min(len(b), 11)])
		}
		certLen, specLen, idLen := int(b[5])<<8|int(b[6]), int(b[7])<<8|int(b[8]), int(b[9])<<8|int(b[10])
		if 11+certLen+specLen+idLen != len(b) || idLen != 16 {
			t.Fatalf("lengths %d %d %d for %d bytes", certLen, specLen, idLen, len(b))
		}
		if got := b[11 : 11+certLen]; !bytes.Equal(got, cert) {
			t.Errorf("certificate %q", got)
		}
		if specs := b[11+certLen : 11+certLen+specLen]; !bytes.Equal(specs, []byte{0x07, 0x00, 0xC0, 0x01, 0x00, 0x80}) {
			t.Errorf("cipher specs % x, want 0700c0 010080", specs)
		}
	})
	t.Run("no common kind: NO-CIPHER error", func(t *testing.T) {
		addr, _ := startServer(t, v2cfg)
		resp := roundTrip(t, addr, v2Hello(0x0002, 0x020080))
		if !bytes.Equal(resp, []byte{0x80, 0x03, 0x00, 0x00, 0x01}) {
			t.Errorf("answer % x, want SSLv2 ERROR NO-CIPHER", resp)
		}
	})
	t.Run("server without SSLv2 hangs up", func(t *testing.T) {
		addr, _ := startServer(t, Config{Versions: []uint16{0x0301, 0x0303}, Suites: []uint16{0x002F}})
		if resp := roundTrip(t, addr, v2Hello(0x0002, 0x010080)); len(resp) != 0 {
			t.Errorf("answer % x, want none", resp)
		}
	})
	t.Run("compatible hello gets TLS", func(t *testing.T) {
		addr, _ := startServer(t, Config{Versions: []uint16{0x0002, 0x0301, 0x0304}, Suites: []uint16{0x002F}, SSLv2Kinds: []uint32{0x010080}})
		resp := roundTrip(t, addr, v2Hello(0x0303, 0x010080, 0x00002F, 0x0000FF))
		sh, _ := expectServerHello(t, resp, 0x0301)
		if sh.version != 0x0301 || sh.suite != 0x002F {
			t.Errorf("version %#04x suite %#04x", sh.version, sh.suite)
		}
	})
	t.Run("compatible hello, no common TLS version", func(t *testing.T) {
		addr, _ := startServer(t, Config{Versions: []uint16{0x0303}, Suites: []uint16{0x002F}})
		expectAlert(t, roundTrip(t, addr, v2Hello(0x0301, 0x00002F)), 0x0301, 70)
	})
	t.Run("compatible hello, SSLv2 fallback", func(t *testing.T) {
		addr, _ := startServer(t, v2cfg)
		resp := roundTrip(t, addr, v2Hello(0x0301, 0x00002F, 0x010080))
		if len(resp) < 3 || resp[0]&0x80 == 0 || resp[2] != 4 {
			t.Errorf("answer % x, want SSLv2 SERVER-HELLO", resp)
		}
	})
}

func TestMalformedInput(t *testing.T) {
	addr, _ := startServer(t, Config{Versions: []uint16{0x0303}, Suites: []uint16{0x002F}})
	for _, tc := range []struct {
		name  string
		in    []byte
		alert uint8 // 0: hang up silently
	}{
		{"HTTP request", []byte("GET / HTTP/1.0\r\n\r\n"), 0},
		{"truncated hello body", []byte{22, 3, 1, 0, 6, 1, 0, 0, 2, 3, 3}, 50},
		{"not a client_hello", []byte{22, 3, 1, 0, 4, 2, 0, 0, 0}, 10},
		{"empty record", []byte{22, 3, 1, 0, 0}, 50},
		{"oversize record", []byte{22, 3, 1, 0xff, 0xff}, 22},
		{"oversize hello", []byte{22, 3, 1, 0, 4, 1, 0xff, 0xff, 0xff}, 50},
		{"garbage SSLv2", []byte{0x80, 3, 9, 9, 9}, 0},
	} {
		start := time.Now()
		resp := roundTrip(t, addr, tc.in)
		if tc.alert == 0 {
			if len(resp) != 0 {
				t.Errorf("%s: answer % x, want none", tc.name, resp)
			}
		} else {
			expectAlert(t, resp, 0x0301, tc.alert)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s: took %v", tc.name, d)
		}
	}
}

func TestSlowClientDeadline(t *testing.T) {
	addr, srv := startServer(t, Config{Versions: []uint16{0x0303}, Suites: []uint16{0x002F}, Timeout: 200 * time.Millisecond})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	c.Write([]byte{22, 3, 1}) // then stall
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	n, err := c.Read(make([]byte, 1))
	if n != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("read %d, %v; want EOF", n, err)
	}
	if d := time.Since(start); d < 150*time.Millisecond || d > 2*time.Second {
		t.Errorf("connection closed after %v, want about 200ms", d)
	}
	if srv.Connections() != 1 {
		t.Errorf("Connections() = %d", srv.Connections())
	}
}

type fakeListener struct{ net.Listener }

func (fakeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4zero, Port: 443} }

func TestServeLifecycle(t *testing.T) {
	if err := New(Config{}).Serve(fakeListener{}); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("non-loopback listener: %v", err)
	}

	// Package-level Serve returns nil once its listener is closed, even with
	// a client holding a connection open.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- Serve(l, Config{Versions: []uint16{0x0303}}) }()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte{22})
	time.Sleep(20 * time.Millisecond)
	l.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Serve did not return after its listener closed")
	}

	s := New(Config{})
	s.Close()
	l2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if err := s.Serve(l2); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after Close: %v", err)
	}
}

func selfSigned(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "legacy.lab"},
		DNSNames:     []string{"legacy.lab"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// goHandshake runs crypto/tls's client against addr and returns its error
// and the chain it was shown.
func goHandshake(t *testing.T, addr string) ([][]byte, error) {
	t.Helper()
	var seen [][]byte
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := tls.Client(conn, &tls.Config{
		ServerName:         "legacy.lab",
		InsecureSkipVerify: true, // verification is not under test; the callback records the chain
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			seen = raw
			return nil
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	err = c.HandshakeContext(ctx)
	if err == nil {
		t.Fatal("handshake succeeded against a responder that cannot finish one")
	}
	return seen, err
}

func TestGoClient(t *testing.T) {
	der := selfSigned(t)

	t.Run("TLS 1.2 gets past ServerHello and Certificate", func(t *testing.T) {
		addr, _ := startServer(t, Config{Versions: []uint16{0x0303}, Suites: []uint16{0xC02F}, Certificate: [][]byte{der}})
		seen, err := goHandshake(t, addr)
		t.Logf("crypto/tls: %v", err)
		if strings.Contains(err.Error(), "remote error") || strings.Contains(err.Error(), "protocol version") {
			t.Errorf("failed at negotiation: %v", err)
		}
		if len(seen) != 1 || !bytes.Equal(seen[0], der) {
			t.Errorf("client did not accept the certificate message (saw %d certs)", len(seen))
		}
	})
	t.Run("TLS 1.2 without certificate", func(t *testing.T) {
		addr, _ := startServer(t, Config{Versions: []uint16{0x0303}, Suites: []uint16{0xC02F}, SecureRenegotiation: true})
		_, err := goHandshake(t, addr)
		t.Logf("crypto/tls: %v", err)
		if !strings.Contains(err.Error(), "unexpected") || strings.Contains(err.Error(), "remote error") {
			t.Errorf("want a failure after ServerHello, got %v", err)
		}
	})
	t.Run("TLS 1.3 ServerHello accepted", func(t *testing.T) {
		addr, _ := startServer(t, Config{Versions: []uint16{0x0303, 0x0304}, Suites: []uint16{0x1301}})
		_, err := goHandshake(t, addr)
		t.Logf("crypto/tls: %v", err)
		if !errors.Is(err, io.EOF) {
			t.Errorf("want EOF after the ServerHello, got %v", err)
		}
	})
	t.Run("suite Go does not offer", func(t *testing.T) {
		addr, _ := startServer(t, Config{Versions: []uint16{0x0303}, Suites: []uint16{0x0004}})
		_, err := goHandshake(t, addr)
		if !strings.Contains(err.Error(), "handshake failure") {
			t.Errorf("want a handshake failure alert, got %v", err)
		}
	})
}

func TestSuiteTable(t *testing.T) {
	seen := map[uint16]string{}
	for name, id := range Suites {
		if other, ok := seen[id]; ok {
			t.Errorf("%s and %s share %#04x", name, other, id)
		}
		seen[id] = name
		// Where crypto/tls knows the suite, the names must agree.
		if goName := tls.CipherSuiteName(id); !strings.HasPrefix(goName, "0x") && goName != name {
			t.Errorf("%#04x: %s here, %s in crypto/tls", id, name, goName)
		}
	}
	for name, want := range map[string]uint16{
		"TLS_RSA_EXPORT_WITH_RC4_40_MD5": 0x0003, "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA": 0x0008,
		"TLS_RSA_WITH_NULL_MD5": 0x0001, "TLS_RSA_WITH_RC4_128_MD5": 0x0004,
		"TLS_DHE_RSA_WITH_AES_128_CBC_SHA": 0x0033, "TLS_DH_anon_WITH_AES_128_CBC_SHA": 0x0034,
		"TLS_AES_128_CCM_SHA256": 0x1304, "TLS_AES_128_CCM_8_SHA256": 0x1305,
	} {
		if Suites[name] != want {
			t.Errorf("Suites[%s] = %#04x, want %#04x", name, Suites[name], want)
		}
	}
	if SSLv2Kinds["SSL_CK_DES_192_EDE3_CBC_WITH_MD5"] != 0x0700C0 {
		t.Error("SSLv2 kind table")
	}
}

func TestKeyShareSizes(t *testing.T) {
	for _, tc := range []struct {
		group     uint16
		clientLen int
		want      int
	}{
		{0x001d, 32, 32}, {0x0018, 97, 97}, {0x0019, 133, 133}, {0x001e, 56, 56},
		{0x0100, 256, 256}, {0x11ec, 1216, 1120}, {0x0201, 1184, 1088}, {0x9999, 7, 7},
	} {
		if got := len(serverKeyShare(tc.group, make([]byte, tc.clientLen))); got != tc.want {
			t.Errorf("group %#04x: %d-byte share, want %d", tc.group, got, tc.want)
		}
	}
}
