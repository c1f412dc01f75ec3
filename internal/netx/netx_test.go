package netx

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseResolvers(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr string
	}{
		{"8.8.8.8", "8.8.8.8:53", ""},
		{"8.8.8.8, 1.1.1.1:5353", "8.8.8.8:53,1.1.1.1:5353", ""},
		{"::1", "[::1]:53", ""},
		{"[::1]:5353", "[::1]:5353", ""},
		{"", "", ""},
		{"dns.google", "", "not an IP address"},
		{"1.2.3.4:0", "", "port 0"},
		{"1.2.3.4:99999", "", "not an IP address"},
	}
	for _, tt := range tests {
		got, err := ParseResolvers(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%q: err = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || strings.Join(got, ",") != tt.want {
			t.Errorf("%q = %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}

func TestParsePortMap(t *testing.T) {
	m, err := ParsePortMap("443=8443, 80=8080")
	if err != nil || m.String() != "80=8080,443=8443" || m.Map(80) != 8080 || m.Map(25) != 25 {
		t.Errorf("got %v, %v", m, err)
	}
	for _, bad := range []string{"80", "80=x", "0=1", "80=70000", "80=1,80=2"} {
		if _, err := ParsePortMap(bad); err == nil || !strings.Contains(err.Error(), "--port-map") {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
}

// fakeDNS answers every A query with 127.0.0.1 over UDP, with a minimal
// hand-built reply, so this package's test needs no DNS library.
func fakeDNS(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			q := buf[:n]
			// Question ends after the name's zero byte + type + class.
			i := 12
			for i < len(q) && q[i] != 0 {
				i += int(q[i]) + 1
			}
			if i+5 > len(q) {
				continue
			}
			qtype := int(q[i+1])<<8 | int(q[i+2])
			resp := append([]byte{}, q[:i+5]...)
			resp[2], resp[3] = 0x84, 0x00 // QR, AA; NOERROR
			resp[6], resp[7] = 0, 0
			if qtype == 1 {
				resp[7] = 1
				resp = append(resp, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1)
			}
			pc.WriteTo(resp, addr)
		}
	}()
	return pc.LocalAddr().String()
}

func TestDialThroughResolverAndPortMap(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("hi"))
			c.Close()
		}
	}()
	port := l.Addr().(*net.TCPAddr).Port
	n, err := New(fakeDNS(t), "443="+itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// example.invalid exists only in the fake DNS; 443 exists only through the map.
	c, err := n.DialContext(ctx, "tcp", "example.invalid:443")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2)
	if _, err := c.Read(buf); err != nil || string(buf) != "hi" {
		t.Errorf("read %q, %v", buf, err)
	}
	c.Close()

	// Without the map, the same dial goes to port 443 and fails.
	n2, _ := New(fakeDNS(t), "")
	if c, err := n2.DialContext(ctx, "tcp", "example.invalid:"+itoa(port+1)); err == nil {
		c.Close()
		t.Errorf("dial to an unmapped closed port succeeded")
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
