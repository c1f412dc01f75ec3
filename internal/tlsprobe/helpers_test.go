package tlsprobe

import (
	"context"
	"crypto/tls"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/domainscan/domain-scan/internal/lab/legacytls"
	"github.com/domainscan/domain-scan/internal/lab/pki"
)

// labCA is created once per test binary: it costs three RSA key generations.
var labCA = sync.OnceValues(pki.New)

func issue(t testing.TB, key pki.KeyKind) tls.Certificate {
	t.Helper()
	ca, err := labCA()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue(pki.Spec{DNSNames: []string{"probe.test"}, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// testServer accepts on a loopback listener and runs handle per connection;
// everything is closed and waited for at cleanup.
type testServer struct {
	addr  string
	conns atomic.Int64 // accepted so far
}

func serve(t testing.TB, handle func(net.Conn)) *testServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{addr: l.Addr().String()}
	var (
		mu   sync.Mutex
		open = map[net.Conn]bool{}
		wg   sync.WaitGroup
	)
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			mu.Lock()
			open[c] = true
			mu.Unlock()
			wg.Go(func() {
				defer func() {
					mu.Lock()
					delete(open, c)
					mu.Unlock()
					c.Close()
				}()
				handle(c)
			})
		}
	})
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for c := range open {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return s
}

// goServer runs crypto/tls handshakes with cfg.
func goServer(t testing.TB, cfg *tls.Config) *testServer {
	return serve(t, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		tls.Server(c, cfg).Handshake()
	})
}

// legacyServer runs the lab's legacy responder with cfg.
func legacyServer(t testing.TB, cfg legacytls.Config) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := legacytls.New(cfg)
	go s.Serve(l)
	t.Cleanup(func() { s.Close(); l.Close() })
	return l.Addr().String()
}

func testConfig(addr string) Config {
	return Config{
		ServerName:       "probe.test",
		Dial:             TCPDialer(addr),
		Timeout:          5 * time.Second,
		WantCertificates: true,
	}
}

func ids(suites []Suite) []uint32 {
	out := make([]uint32, len(suites))
	for i, s := range suites {
		out[i] = s.ID
	}
	return out
}

func u32s[T ~uint16 | ~uint32](xs ...T) []uint32 {
	out := make([]uint32, len(xs))
	for i, x := range xs {
		out[i] = uint32(x)
	}
	return out
}

// sameSet reports whether a and b hold the same IDs, ignoring order.
func sameSet(a, b []uint32) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func ctxTimeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
