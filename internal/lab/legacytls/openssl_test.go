package legacytls

import (
	"bufio"
	"context"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runSClient runs openssl s_client against addr with -msg and returns its
// combined output. A failed handshake is the expected outcome, so the exit
// status is ignored.
func runSClient(t *testing.T, addr string, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not in PATH")
	}
	// An empty config keeps the distribution's system-wide settings
	// (security level, minimum protocol) out of the test.
	conf := filepath.Join(t.TempDir(), "openssl.cnf")
	if err := os.WriteFile(conf, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"s_client", "-connect", addr, "-msg"}, args...)...)
	cmd.Env = append(os.Environ(), "OPENSSL_CONF="+conf)
	out, _ := cmd.CombinedOutput() // stdin is /dev/null
	if ctx.Err() != nil {
		t.Fatalf("openssl timed out:\n%s", out)
	}
	return string(out)
}

// sClientServerHello extracts the ServerHello body that -msg dumped in hex,
// or nil if openssl received none.
func sClientServerHello(t *testing.T, out string) []byte {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "<<< ") || !strings.HasSuffix(line, ", ServerHello") {
			continue
		}
		var msg []byte
		for sc.Scan() && strings.HasPrefix(sc.Text(), "    ") {
			b, err := hex.DecodeString(strings.ReplaceAll(strings.TrimSpace(sc.Text()), " ", ""))
			if err != nil {
				t.Fatalf("bad hex dump line %q", sc.Text())
			}
			msg = append(msg, b...)
		}
		if len(msg) < 4 || msg[0] != 2 {
			t.Fatalf("ServerHello dump % x", msg)
		}
		return msg[4:]
	}
	return nil
}

func TestOpenSSLClient(t *testing.T) {
	for _, secure := range []bool{false, true} {
		addr, _ := startServer(t, Config{Versions: []uint16{0x0301, 0x0302, 0x0303}, Suites: []uint16{0x0033}, SecureRenegotiation: secure})

		out := runSClient(t, addr, "-tls1_2", "-cipher", "DHE-RSA-AES128-SHA:@SECLEVEL=0")
		body := sClientServerHello(t, out)
		if body == nil {
			t.Fatalf("secure=%v: openssl got no ServerHello:\n%s", secure, out)
		}
		sh := parseServerHello(t, body)
		if sh.version != 0x0303 || sh.suite != 0x0033 {
			t.Errorf("secure=%v: ServerHello version %#04x suite %#04x, want 0x0303 0x0033", secure, sh.version, sh.suite)
		}
		want := "Secure Renegotiation IS NOT supported"
		if secure {
			want = "Secure Renegotiation IS supported"
		}
		if !strings.Contains(out, want) {
			t.Errorf("openssl output lacks %q:\n%s", want, out)
		}

		out = runSClient(t, addr, "-tls1_2", "-cipher", "AES128-SHA")
		// "<<<" marks what openssl received, as opposed to alerts it sent.
		if sClientServerHello(t, out) != nil || !strings.Contains(out, "<<< TLS 1.2, Alert [length 0002], fatal handshake_failure") {
			t.Errorf("secure=%v: want a received handshake_failure alert and no ServerHello:\n%s", secure, out)
		}
	}
}
