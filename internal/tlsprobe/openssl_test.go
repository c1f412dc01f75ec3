package tlsprobe

import (
	"bufio"
	"context"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/domainscan/domain-scan/internal/lab/pki"
)

// opensslServer runs `openssl s_server` with args on a loopback port and
// returns its address; the test is skipped without openssl.
func opensslServer(t *testing.T, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not in PATH")
	}
	cert := issue(t, pki.RSA2048)
	dir := t.TempDir()
	leaf := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]})
	var chain []byte
	for _, der := range cert.Certificate[1:] {
		chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	certFile, chainFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "chain.pem")
	keyFile, conf := filepath.Join(dir, "key.pem"), filepath.Join(dir, "openssl.cnf")
	for name, data := range map[string][]byte{
		certFile:  leaf,
		chainFile: chain,
		keyFile:   pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}),
		conf:      nil, // keeps the system's minimum protocol and security level out
	} {
		if err := os.WriteFile(name, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, append([]string{"s_server", "-accept", "127.0.0.1:0", "-www",
		"-cert", certFile, "-cert_chain", chainFile, "-key", keyFile}, args...)...)
	cmd.Env = append(os.Environ(), "OPENSSL_CONF="+conf)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), "ACCEPT "); ok {
				lines <- addr
			}
		}
		close(lines)
	}()
	select {
	case addr, ok := <-lines:
		if !ok {
			t.Fatal("openssl s_server exited")
		}
		return addr
	case <-time.After(10 * time.Second):
		t.Fatal("openssl s_server did not start")
	}
	return ""
}

// TestEnumerateOpenSSL checks suites crypto/tls cannot serve (ARIA,
// CAMELLIA, DHE, TLS 1.3 CCM) against OpenSSL itself.
func TestEnumerateOpenSSL(t *testing.T) {
	addr := opensslServer(t,
		"-cipher", "DHE-RSA-AES128-GCM-SHA256:ECDHE-ARIA128-GCM-SHA256:CAMELLIA256-SHA:ECDHE-RSA-CHACHA20-POLY1305:@SECLEVEL=0",
		"-ciphersuites", "TLS_AES_128_CCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_AES_128_CCM_8_SHA256")
	cfg := testConfig(addr)
	results := ProbeAll(ctxTimeout(t, time.Minute), cfg)
	checkResults(t, results, map[Version][]uint32{
		TLS10: {0x0084},
		TLS11: {0x0084},
		TLS12: {0x009E, 0xC060, 0x0084, 0xCCA8},
		TLS13: {0x1304, 0x1302, 0x1305},
	})
	for _, r := range results {
		if len(r.Accepted) > 0 && r.Version < TLS13 && (!r.First.SecureRenegotiation || len(r.First.Certificates) != 2) {
			t.Errorf("%v: renegotiation %v, %d certificates", r.Version, r.First.SecureRenegotiation, len(r.First.Certificates))
		}
		t.Logf("%v: %d accepted, last %v alert %d", r.Version, len(r.Accepted), r.Last.Kind, r.Last.Alert)
	}
}
