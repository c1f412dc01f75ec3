package tlsprobe

import (
	"bytes"
	"io"
	"slices"
	"testing"

	"golang.org/x/crypto/cryptobyte"
)

// Test-side builders for server messages.

func tlsRecord(typ uint8, payload []byte) []byte {
	return append([]byte{typ, 3, 3, byte(len(payload) >> 8), byte(len(payload))}, payload...)
}

func handshakeMsg(typ uint8, body []byte) []byte {
	return append([]byte{typ, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}, body...)
}

type ext struct {
	typ  uint16
	data []byte
}

// serverHelloBody builds a ServerHello body; exts nil omits the block.
func serverHelloBody(version uint16, random []byte, suite uint16, exts []ext) []byte {
	b := cryptobyte.NewBuilder(nil)
	b.AddUint16(version)
	if random == nil {
		random = make([]byte, 32)
	}
	b.AddBytes(random)
	b.AddUint8(0) // empty session id
	b.AddUint16(suite)
	b.AddUint8(0)
	if exts != nil {
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			for _, e := range exts {
				b.AddUint16(e.typ)
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(e.data) })
			}
		})
	}
	return b.BytesOrPanic()
}

func certificateBody(chain ...[]byte) []byte {
	b := cryptobyte.NewBuilder(nil)
	b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, c := range chain {
			b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(c) })
		}
	})
	return b.BytesOrPanic()
}

func v2ServerHelloBytes(version uint16, cert []byte, kinds ...uint32) []byte {
	b := cryptobyte.NewBuilder(nil)
	b.AddUint8(4)
	b.AddUint8(0)
	b.AddUint8(1)
	b.AddUint16(version)
	b.AddUint16(uint16(len(cert)))
	b.AddUint16(uint16(3 * len(kinds)))
	b.AddUint16(16)
	b.AddBytes(cert)
	for _, k := range kinds {
		b.AddUint24(k)
	}
	b.AddBytes(make([]byte, 16))
	body := b.BytesOrPanic()
	return append([]byte{0x80 | byte(len(body)>>8), byte(len(body))}, body...)
}

var renegExt = ext{extRenegotiationInfo, []byte{0}}

func TestReadAnswer(t *testing.T) {
	sh12 := handshakeMsg(typeServerHello, serverHelloBody(0x0303, nil, 0xC02F, []ext{renegExt}))
	cert := handshakeMsg(typeCertificate, certificateBody([]byte("leaf"), []byte("intermediate")))
	done := handshakeMsg(typeServerHelloDone, nil)
	flight := slices.Concat(sh12, cert, done)
	sh13 := handshakeMsg(typeServerHello, serverHelloBody(0x0303, bytes.Repeat([]byte{7}, 32), 0x1301,
		[]ext{{extSupportedVersions, []byte{3, 4}}, {extKeyShare, make([]byte, 36)}}))
	hrr := handshakeMsg(typeServerHello, serverHelloBody(0x0303, helloRetryRandom, 0x1302,
		[]ext{{extSupportedVersions, []byte{3, 4}}, {extKeyShare, []byte{0, 0x17}}}))
	warning := tlsRecord(recordAlert, []byte{1, 112})
	allKinds := suiteIDs(Candidates(SSL20))

	tests := []struct {
		name  string
		v     Version
		in    []byte
		certs bool
		check func(Answer) bool
	}{
		{"TLS 1.2 flight", TLS12, tlsRecord(22, flight), true, func(a Answer) bool {
			return a.Kind == ServerHello && a.Version == TLS12 && a.Suite == 0xC02F && a.SecureRenegotiation &&
				len(a.Certificates) == 2 && string(a.Certificates[1]) == "intermediate" && a.Err == nil
		}},
		{"without certificates", TLS12, tlsRecord(22, sh12), false, func(a Answer) bool {
			return a.Kind == ServerHello && a.Certificates == nil && a.Err == nil
		}},
		{"fragmented across records", TLS12, slices.Concat(tlsRecord(22, flight[:3]), tlsRecord(22, flight[3:50]), tlsRecord(22, flight[50:])), true,
			func(a Answer) bool { return a.Kind == ServerHello && len(a.Certificates) == 2 }},
		{"warning alert and HelloRequest first", TLS12, slices.Concat(warning, tlsRecord(22, handshakeMsg(0, nil)), tlsRecord(22, flight)), true,
			func(a Answer) bool { return a.Kind == ServerHello && len(a.Certificates) == 2 }},
		{"SSLv3 without extensions", SSL30, tlsRecord(22, handshakeMsg(2, serverHelloBody(0x0300, nil, 0x000A, nil))), false,
			func(a Answer) bool {
				return a.Kind == ServerHello && a.Version == SSL30 && a.Suite == 0x000A && !a.SecureRenegotiation
			}},
		{"anonymous: ServerHelloDone, no certificate", TLS12, tlsRecord(22, slices.Concat(sh12, done)), true,
			func(a Answer) bool { return a.Kind == ServerHello && a.Certificates == nil && a.Err == nil }},
		{"certificate cut off", TLS12, tlsRecord(22, sh12), true,
			func(a Answer) bool { return a.Kind == ServerHello && a.Certificates == nil && a.Err != nil }},
		{"TLS 1.3", TLS13, tlsRecord(22, sh13), true, func(a Answer) bool {
			return a.Kind == ServerHello && a.Version == TLS13 && a.Suite == 0x1301 && !a.HelloRetry && a.Certificates == nil
		}},
		{"HelloRetryRequest", TLS13, tlsRecord(22, hrr), true, func(a Answer) bool {
			return a.Kind == ServerHello && a.Version == TLS13 && a.Suite == 0x1302 && a.HelloRetry
		}},
		{"fatal alert", TLS12, tlsRecord(21, []byte{2, 40}), true, func(a Answer) bool { return a.Kind == Alert && a.Alert == 40 }},
		{"close_notify warning", TLS12, tlsRecord(21, []byte{1, 0}), true, func(a Answer) bool { return a.Kind == Alert && a.Alert == 0 }},
		{"EOF", TLS12, nil, true, func(a Answer) bool { return a.Kind == Closed }},
		{"truncated record", TLS12, tlsRecord(22, sh12)[:20], true, func(a Answer) bool { return a.Kind == Garbage }},
		{"one byte", TLS12, []byte{22}, true, func(a Answer) bool { return a.Kind == Garbage }},
		{"HTTP", TLS12, []byte("HTTP/1.1 400 Bad Request\r\n\r\n"), true, func(a Answer) bool { return a.Kind == Garbage }},
		{"application data first", TLS12, tlsRecord(23, []byte("x")), true, func(a Answer) bool { return a.Kind == Garbage }},
		{"certificate first", TLS12, tlsRecord(22, cert), true, func(a Answer) bool { return a.Kind == Garbage }},
		{"oversized record", TLS12, []byte{22, 3, 3, 0xff, 0xff}, true, func(a Answer) bool { return a.Kind == Garbage }},
		{"oversized message", TLS12, tlsRecord(22, []byte{2, 0xff, 0xff, 0xff}), true, func(a Answer) bool { return a.Kind == Garbage }},
		{"malformed ServerHello", TLS12, tlsRecord(22, handshakeMsg(2, []byte{3, 3, 0})), true, func(a Answer) bool { return a.Kind == Garbage }},
		{"SSLv2 record to a TLS hello", TLS12, v2ServerHelloBytes(2, nil, 0x010080), true, func(a Answer) bool { return a.Kind == Garbage }},
		{"SSLv2 SERVER-HELLO", SSL20, v2ServerHelloBytes(2, []byte("cert"), 0x080080, 0x0700C0, 0x010080, 0x0700C0), true, func(a Answer) bool {
			return a.Kind == ServerHello && a.Version == SSL20 && a.Suite == 0x0700C0 &&
				slices.Equal(a.SSLv2Suites, []uint32{0x0700C0, 0x010080}) && len(a.Certificates) == 1
		}},
		{"SSLv2 SERVER-HELLO without shared kinds", SSL20, v2ServerHelloBytes(2, nil, 0x080080), true, func(a Answer) bool {
			return a.Kind == ServerHello && a.Suite == 0 && a.SSLv2Suites == nil && a.Certificates == nil
		}},
		{"SSLv2 ERROR", SSL20, []byte{0x80, 3, 0, 0, 1}, true, func(a Answer) bool {
			return a.Kind == Alert && a.Alert == 1 && a.Version == SSL20
		}},
		{"TLS alert to SSLv2", SSL20, tlsRecord(21, []byte{2, 70}), true, func(a Answer) bool { return a.Kind == Alert && a.Alert == 70 }},
		{"SSLv2 unknown message", SSL20, []byte{0x80, 1, 9}, true, func(a Answer) bool { return a.Kind == Garbage }},
		{"SSLv2 truncated", SSL20, []byte{0x80, 40, 4, 0}, true, func(a Answer) bool { return a.Kind == Garbage }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := readAnswer(bytes.NewReader(tt.in), tt.v, allKinds, tt.certs)
			if !tt.check(a) {
				t.Errorf("got %+v", a)
			}
		})
	}
}

// TestReadAnswerBound: endless valid-looking input stops at the limit.
func TestReadAnswerBound(t *testing.T) {
	for name, unit := range map[string][]byte{
		"HelloRequests":  tlsRecord(22, make([]byte, 1<<14)),
		"warning alerts": tlsRecord(21, []byte{1, 112}),
	} {
		cr := &countingReader{r: &repeatReader{unit: unit}}
		a := readAnswer(cr, TLS12, nil, true)
		if a.Kind != Garbage || cr.n > maxAnswer {
			t.Errorf("%s: %v after %d bytes (%v)", name, a.Kind, cr.n, a.Err)
		}
	}
}

type repeatReader struct {
	unit []byte
	off  int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k := copy(p[n:], r.unit[r.off:])
		n += k
		r.off = (r.off + k) % len(r.unit)
	}
	return n, nil
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func checkAnswerInvariants(t *testing.T, a Answer, offered []uint32) {
	t.Helper()
	if a.Kind < ServerHello || a.Kind > Garbage || a.Kind == Timeout {
		t.Fatalf("kind %v from a byte stream", a.Kind)
	}
	if (a.Kind == Garbage || a.Kind == Closed) != (a.Err != nil) && a.Kind != ServerHello {
		t.Fatalf("%v with Err %v", a.Kind, a.Err)
	}
	if a.Kind != ServerHello && (a.Certificates != nil || a.SSLv2Suites != nil || a.SecureRenegotiation) {
		t.Fatalf("%v with ServerHello fields: %+v", a.Kind, a)
	}
	for i, k := range a.SSLv2Suites {
		if !slices.Contains(offered, k) || slices.Index(a.SSLv2Suites, k) != i {
			t.Fatalf("SSLv2Suites %x not a duplicate-free subset of %x", a.SSLv2Suites, offered)
		}
	}
	if len(a.SSLv2Suites) > 0 && a.Suite != a.SSLv2Suites[0] {
		t.Fatalf("Suite %x, SSLv2Suites %x", a.Suite, a.SSLv2Suites)
	}
}

// FuzzParseServerHello feeds arbitrary bytes as a server's answer to TLS
// hellos: no panic, no read beyond the limit, consistent answers.
func FuzzParseServerHello(f *testing.F) {
	sh := handshakeMsg(2, serverHelloBody(0x0303, nil, 0xC02F, []ext{renegExt}))
	f.Add(tlsRecord(22, slices.Concat(sh, handshakeMsg(11, certificateBody([]byte("c"))), handshakeMsg(14, nil))))
	f.Add(tlsRecord(22, handshakeMsg(2, serverHelloBody(0x0303, helloRetryRandom, 0x1301, []ext{{43, []byte{3, 4}}}))))
	f.Add(slices.Concat(tlsRecord(21, []byte{1, 112}), tlsRecord(22, sh[:10]), tlsRecord(22, sh[10:])))
	f.Add(tlsRecord(21, []byte{2, 40}))
	f.Add([]byte{22, 3, 1, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, v := range []Version{SSL30, TLS12, TLS13} {
			cr := &countingReader{r: bytes.NewReader(data)}
			a := readAnswer(cr, v, nil, true)
			if cr.n > maxAnswer {
				t.Fatalf("read %d bytes", cr.n)
			}
			checkAnswerInvariants(t, a, nil)
			if a.Kind == ServerHello && (a.Version >= TLS13 || a.HelloRetry) && a.Certificates != nil {
				t.Fatalf("certificates read after a TLS 1.3 ServerHello")
			}
		}
	})
}

// FuzzParseSSLv2ServerHello does the same for answers to SSLv2 hellos.
func FuzzParseSSLv2ServerHello(f *testing.F) {
	f.Add(v2ServerHelloBytes(2, []byte("cert"), 0x010080, 0x0700C0))
	f.Add(v2ServerHelloBytes(2, nil, 0x080080))
	f.Add([]byte{0x80, 3, 0, 0, 1})
	f.Add(tlsRecord(21, []byte{2, 70}))
	offered := []uint32{0x010080, 0x0700C0, 0x020080}
	f.Fuzz(func(t *testing.T, data []byte) {
		cr := &countingReader{r: bytes.NewReader(data)}
		a := readAnswer(cr, SSL20, offered, true)
		if cr.n > maxAnswer {
			t.Fatalf("read %d bytes", cr.n)
		}
		checkAnswerInvariants(t, a, offered)
		if len(data) > 2 && data[0]&0x80 != 0 {
			a2, err := parseSSLv2(data[2:], offered, false)
			if err == nil {
				checkAnswerInvariants(t, a2, offered)
			}
		}
	})
}
