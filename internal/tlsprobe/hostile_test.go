package tlsprobe

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net"
	"testing"
	"time"
)

// TestHostileServers: every misbehaviour costs at most one Timeout.
func TestHostileServers(t *testing.T) {
	const timeout = 400 * time.Millisecond
	drain := func(c net.Conn) { io.Copy(io.Discard, c) }
	readHello := func(c net.Conn) { c.Read(make([]byte, 4096)) }
	writeForever := func(c net.Conn, unit []byte) {
		for {
			if _, err := c.Write(unit); err != nil {
				return
			}
		}
	}
	tests := []struct {
		name   string
		v      Version
		handle func(net.Conn)
		want   Kind
		slow   bool // may use the whole timeout
	}{
		{"HTTP answer", TLS12, func(c net.Conn) {
			readHello(c)
			io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
		}, Garbage, false},
		{"random bytes", TLS12, func(c net.Conn) {
			readHello(c)
			b := make([]byte, 4096)
			rand.Read(b)
			b[0] = 0x42
			c.Write(b)
		}, Garbage, false},
		{"endless zeros", TLS12, func(c net.Conn) { writeForever(c, make([]byte, 1<<16)) }, Garbage, false},
		{"endless handshake records", TLS12, func(c net.Conn) {
			readHello(c)
			writeForever(c, tlsRecord(22, make([]byte, 1<<14)))
		}, Garbage, false},
		{"endless warning alerts", TLS12, func(c net.Conn) {
			readHello(c)
			writeForever(c, bytes.Repeat(tlsRecord(21, []byte{1, 112}), 1000))
		}, Garbage, false},
		{"huge record header", TLS12, func(c net.Conn) {
			readHello(c)
			c.Write([]byte{22, 3, 3, 0xff, 0xff})
			drain(c)
		}, Garbage, false},
		{"huge handshake message", TLS12, func(c net.Conn) {
			readHello(c)
			c.Write(tlsRecord(22, []byte{2, 0xff, 0xff, 0xff, 0, 0}))
			drain(c)
		}, Garbage, false},
		{"silence", TLS12, drain, Timeout, true},
		{"trickle", TLS12, func(c net.Conn) {
			readHello(c)
			rec := tlsRecord(22, handshakeMsg(2, serverHelloBody(0x0303, nil, 0xC02F, nil)))
			for _, b := range rec {
				if _, err := c.Write([]byte{b}); err != nil {
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
		}, Timeout, true},
		{"immediate close", TLS12, func(c net.Conn) {}, Closed, false},
		{"reset", TLS12, func(c net.Conn) {
			readHello(c)
			c.(*net.TCPConn).SetLinger(0)
		}, Closed, false},
		{"SSLv2: silence", SSL20, drain, Timeout, true},
		{"SSLv2: huge record then stall", SSL20, func(c net.Conn) {
			readHello(c)
			c.Write([]byte{0xff, 0xff, 4})
			drain(c)
		}, Timeout, true},
		{"SSLv2: endless bytes", SSL20, func(c net.Conn) { writeForever(c, bytes.Repeat([]byte{0x80, 0x10}, 1<<12)) }, Garbage, false},
		{"TLS 1.3: HTTP answer", TLS13, func(c net.Conn) {
			readHello(c)
			io.WriteString(c, "220 smtp.example ESMTP\r\n")
		}, Garbage, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := serve(t, tt.handle)
			cfg := testConfig(srv.addr)
			cfg.Timeout = timeout
			start := time.Now()
			accepted, conns, last := Enumerate(context.Background(), cfg, tt.v)
			elapsed := time.Since(start)
			if last.Kind != tt.want || len(accepted) != 0 || conns != 1 {
				t.Errorf("got %v (%v), %d accepted, %d conns; want %v", last.Kind, last.Err, len(accepted), conns, tt.want)
			}
			limit := timeout + 500*time.Millisecond
			if !tt.slow {
				limit = timeout
			}
			if elapsed > limit {
				t.Errorf("took %v", elapsed)
			}
		})
	}
}

func TestConnectFailed(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg := testConfig(addr)
	cfg.Retries = 2
	r := EnumerateResult(context.Background(), cfg, TLS12)
	if r.Last.Kind != ConnectFailed || r.Conns != 3 || r.Last.Err == nil {
		t.Errorf("closed port: %+v", r)
	}
	if a := Hello(context.Background(), Config{}, TLS12, []uint32{0xC02F}); a.Kind != ConnectFailed {
		t.Errorf("no Dial: %+v", a)
	}
	if a := Hello(context.Background(), cfg, TLS12, nil); a.Kind != 0 || a.Err == nil {
		t.Errorf("no suites: %+v", a)
	}
}

// TestCancel: cancelling the context ends a stalled exchange at once.
func TestCancel(t *testing.T) {
	srv := serve(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	cfg := testConfig(srv.addr)
	cfg.Timeout = time.Minute
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	results := ProbeAll(ctx, cfg)
	if time.Since(start) > 2*time.Second {
		t.Errorf("ProbeAll ran %v after cancel", time.Since(start))
	}
	for _, r := range results {
		if r.Last.Kind != Timeout || len(r.Accepted) != 0 {
			t.Errorf("%v: %+v", r.Version, r.Last)
		}
	}
}
