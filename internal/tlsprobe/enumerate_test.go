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

// checkResults compares ProbeAll results with want (versions absent from
// want must accept nothing) and checks the connection accounting.
func checkResults(t *testing.T, results []Result, want map[Version][]uint32) {
	t.Helper()
	for _, r := range results {
		got := ids(r.Accepted)
		if !sameSet(got, want[r.Version]) {
			t.Errorf("%v: accepted %04x, want %04x (last %v %v alert %d)", r.Version, got, want[r.Version], r.Last.Kind, r.Last.Err, r.Last.Alert)
		}
		wantConns := len(r.Accepted) + 1
		if r.Version == SSL20 {
			wantConns = 1
		}
		if r.Conns != wantConns {
			t.Errorf("%v: %d connections for %d suites", r.Version, r.Conns, len(r.Accepted))
		}
		if len(r.Accepted) > 0 && (r.First.Kind != ServerHello || r.First.Version != r.Version) {
			t.Errorf("%v: first answer %+v", r.Version, r.First)
		}
		if len(r.Accepted) == 0 && r.Last.Kind == ServerHello && r.Last.Version == r.Version {
			t.Errorf("%v: nothing accepted but last answer %+v", r.Version, r.Last)
		}
	}
}

func TestEnumerateGoServers(t *testing.T) {
	tests := []struct {
		name     string
		key      pki.KeyKind
		min, max uint16
		suites   []uint16
		want     map[Version][]uint32
	}{
		{
			name: "TLS 1.2 ECDHE-RSA GCM", min: tls.VersionTLS12, max: tls.VersionTLS12,
			suites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384},
			want:   map[Version][]uint32{TLS12: {0xC02F, 0xC030}},
		},
		{
			name: "TLS 1.0 only", min: tls.VersionTLS10, max: tls.VersionTLS10,
			suites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_AES_256_CBC_SHA},
			want:   map[Version][]uint32{TLS10: {0xC013, 0x0035}},
		},
		{
			name: "TLS 1.3 only", min: tls.VersionTLS13, max: tls.VersionTLS13,
			want: map[Version][]uint32{TLS13: {0x1301, 0x1302, 0x1303}},
		},
		{
			// The RSA suite is configured but unusable with an ECDSA key.
			name: "ECDSA certificate", key: pki.ECDSAP256, min: tls.VersionTLS12, max: tls.VersionTLS12,
			suites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
				tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256},
			want: map[Version][]uint32{TLS12: {0xC02B, 0xCCA9, 0xC00A}},
		},
		{
			name: "3DES and RC4", min: tls.VersionTLS10, max: tls.VersionTLS12,
			suites: []uint16{tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA,
				tls.TLS_RSA_WITH_RC4_128_SHA, tls.TLS_ECDHE_RSA_WITH_RC4_128_SHA},
			want: map[Version][]uint32{
				TLS10: {0x000A, 0xC012, 0x0005, 0xC011},
				TLS11: {0x000A, 0xC012, 0x0005, 0xC011},
				TLS12: {0x000A, 0xC012, 0x0005, 0xC011},
			},
		},
		{
			// Go's defaults with an RSA key: ECDHE only (no RSA key
			// exchange, no 3DES), AEADs and the two CBC-SHA suites.
			name: "TLS 1.2 and 1.3 defaults", min: tls.VersionTLS12, max: tls.VersionTLS13,
			want: map[Version][]uint32{
				TLS12: {0xC02F, 0xC030, 0xCCA8, 0xC013, 0xC014},
				TLS13: {0x1301, 0x1302, 0x1303},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cert := issue(t, tt.key)
			srv := goServer(t, &tls.Config{
				Certificates: []tls.Certificate{cert},
				MinVersion:   tt.min,
				MaxVersion:   tt.max,
				CipherSuites: tt.suites,
			})
			results := ProbeAll(ctxTimeout(t, time.Minute), testConfig(srv.addr))
			checkResults(t, results, tt.want)
			total := 0
			for _, r := range results {
				total += r.Conns
				if r.Version >= TLS13 || len(r.Accepted) == 0 {
					continue
				}
				if !r.First.SecureRenegotiation {
					t.Errorf("%v: Go server without secure renegotiation?", r.Version)
				}
				if !slices.EqualFunc(r.First.Certificates, cert.Certificate, slices.Equal) {
					t.Errorf("%v: got %d certificates, want the served chain of %d", r.Version, len(r.First.Certificates), len(cert.Certificate))
				}
				if r.First.Err != nil {
					t.Errorf("%v: %v", r.Version, r.First.Err)
				}
			}
			if int(srv.conns.Load()) != total {
				t.Errorf("server saw %d connections, results count %d", srv.conns.Load(), total)
			}
		})
	}
}

// TestEnumerateSingle covers Enumerate's own signature and a refused
// version's last answer.
func TestEnumerateSingle(t *testing.T) {
	srv := goServer(t, &tls.Config{
		Certificates: []tls.Certificate{issue(t, pki.RSA2048)},
		MinVersion:   tls.VersionTLS12,
		MaxVersion:   tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256},
	})
	ctx := ctxTimeout(t, time.Minute)
	cfg := testConfig(srv.addr)
	accepted, conns, last := Enumerate(ctx, cfg, TLS12)
	if !slices.Equal(ids(accepted), []uint32{0xC02F}) || conns != 2 || last.Kind != Alert || last.Alert != 40 {
		t.Errorf("TLS 1.2: %04x in %d conns, last %+v", ids(accepted), conns, last)
	}
	accepted, conns, last = Enumerate(ctx, cfg, TLS10)
	if len(accepted) != 0 || conns != 1 || last.Kind != Alert || last.Alert != 70 {
		t.Errorf("TLS 1.0: %04x in %d conns, last %+v", ids(accepted), conns, last)
	}
	// The answer to one hello names what was offered.
	a := Hello(ctx, cfg, TLS12, []uint32{0xC030, 0xC02F})
	if a.Kind != ServerHello || a.Suite != 0xC02F || a.Version != TLS12 || len(a.Certificates) == 0 {
		t.Errorf("Hello: %+v", a)
	}
}

func TestEnumerateLegacyServers(t *testing.T) {
	ca, err := labCA()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue(pki.Spec{DNSNames: []string{"probe.test"}})
	if err != nil {
		t.Fatal(err)
	}
	chain := cert.Certificate
	all := []uint16{legacytls.VersionSSL3, legacytls.VersionTLS10, legacytls.VersionTLS11, legacytls.VersionTLS12}
	tests := []struct {
		name  string
		cfg   legacytls.Config
		want  map[Version][]uint32
		reneg bool
	}{
		{
			name: "SSLv2",
			cfg:  legacytls.Config{Versions: []uint16{legacytls.VersionSSL2}, SSLv2Kinds: []uint32{0x010080, 0x0700C0}},
			want: map[Version][]uint32{SSL20: {0x010080, 0x0700C0}},
		},
		{
			name:  "SSLv3",
			cfg:   legacytls.Config{Versions: []uint16{legacytls.VersionSSL3}, Suites: []uint16{0x002F}, SecureRenegotiation: true},
			want:  map[Version][]uint32{SSL30: {0x002F}},
			reneg: true,
		},
		{
			name:  "DHE",
			cfg:   legacytls.Config{Versions: []uint16{legacytls.VersionTLS12}, Suites: []uint16{0x009E, 0x0016}, SecureRenegotiation: true},
			want:  map[Version][]uint32{TLS12: {0x009E, 0x0016}},
			reneg: true,
		},
		{
			name:  "EXPORT",
			cfg:   legacytls.Config{Versions: []uint16{legacytls.VersionTLS10}, Suites: []uint16{0x0003, 0x0008}, SecureRenegotiation: true},
			want:  map[Version][]uint32{TLS10: {0x0003, 0x0008}},
			reneg: true,
		},
		{
			name:  "NULL",
			cfg:   legacytls.Config{Versions: []uint16{legacytls.VersionTLS12}, Suites: []uint16{0x003B, 0x0002}, SecureRenegotiation: true},
			want:  map[Version][]uint32{TLS12: {0x003B, 0x0002}},
			reneg: true,
		},
		{
			name: "RC4-MD5",
			cfg: legacytls.Config{Versions: []uint16{legacytls.VersionTLS10, legacytls.VersionTLS11, legacytls.VersionTLS12},
				Suites: []uint16{0x0004}, SecureRenegotiation: true},
			want:  map[Version][]uint32{TLS10: {0x0004}, TLS11: {0x0004}, TLS12: {0x0004}},
			reneg: true,
		},
		{
			name: "no secure renegotiation",
			cfg:  legacytls.Config{Versions: []uint16{legacytls.VersionTLS12}, Suites: []uint16{0xC02F}},
			want: map[Version][]uint32{TLS12: {0xC02F}},
		},
		{
			name: "TLS 1.3 CCM",
			cfg:  legacytls.Config{Versions: []uint16{legacytls.VersionTLS13}, Suites: []uint16{0x1304, 0x1305}},
			want: map[Version][]uint32{TLS13: {0x1304, 0x1305}},
		},
		{
			// Suites valid only for some versions, and an anonymous one
			// (no certificate): each version gets exactly its share.
			name: "every version",
			cfg: legacytls.Config{
				Versions:            append([]uint16{legacytls.VersionSSL2, legacytls.VersionTLS13}, all...),
				Suites:              []uint16{0xC02F, 0x1301, 0x0033, 0x1304, 0x0004, 0x0003, 0x0018},
				SSLv2Kinds:          []uint32{0x020080},
				SecureRenegotiation: true,
			},
			want: map[Version][]uint32{
				SSL20: {0x020080},
				SSL30: {0x0033, 0x0004, 0x0003, 0x0018},
				TLS10: {0x0033, 0x0004, 0x0003, 0x0018},
				TLS11: {0x0033, 0x0004, 0x0003, 0x0018},
				TLS12: {0xC02F, 0x0033, 0x0004, 0x0003, 0x0018},
				TLS13: {0x1301, 0x1304},
			},
			reneg: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.cfg.Certificate = chain
			addr := legacyServer(t, tt.cfg)
			results := ProbeAll(ctxTimeout(t, time.Minute), testConfig(addr))
			checkResults(t, results, tt.want)
			for _, r := range results {
				if len(r.Accepted) == 0 {
					continue
				}
				switch {
				case r.Version == SSL20:
					if !slices.EqualFunc(r.First.Certificates, chain[:1], slices.Equal) {
						t.Errorf("SSLv2 certificate not returned")
					}
				case r.Version < TLS13:
					if r.First.SecureRenegotiation != tt.reneg {
						t.Errorf("%v: SecureRenegotiation %v", r.Version, r.First.SecureRenegotiation)
					}
					if r.Accepted[0].Anonymous {
						if r.First.Certificates != nil {
							t.Errorf("%v: certificates for an anonymous suite", r.Version)
						}
					} else if !slices.EqualFunc(r.First.Certificates, chain, slices.Equal) {
						t.Errorf("%v: certificates %d, want %d", r.Version, len(r.First.Certificates), len(chain))
					}
				}
			}
		})
	}
}

// countedConn tracks how many client connections are open.
type countedConn struct {
	net.Conn
	open *atomic.Int64
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() { c.open.Add(-1) })
	return c.Conn.Close()
}

// TestProbeAllConcurrency checks the bound on simultaneous connections.
func TestProbeAllConcurrency(t *testing.T) {
	cfg := &tls.Config{Certificates: []tls.Certificate{issue(t, pki.RSA2048)}, MinVersion: tls.VersionTLS10}
	// A slow server keeps connections open long enough to overlap.
	srv := serve(t, func(c net.Conn) {
		time.Sleep(20 * time.Millisecond)
		c.SetDeadline(time.Now().Add(5 * time.Second))
		tls.Server(c, cfg).Handshake()
	})
	for _, limit := range []int{1, 2, 5} {
		var open, most atomic.Int64
		pc := testConfig(srv.addr)
		pc.Concurrency = limit
		pc.Dial = func(ctx context.Context) (net.Conn, error) {
			c, err := TCPDialer(srv.addr)(ctx)
			if err != nil {
				return nil, err
			}
			n := open.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			return &countedConn{Conn: c, open: &open}, nil
		}
		ProbeAll(ctxTimeout(t, time.Minute), pc)
		if got := most.Load(); got > int64(limit) || limit > 1 && got < 2 {
			t.Errorf("Concurrency %d: %d connections open at once", limit, got)
		}
	}
}

// TestFullEnumerationGoServer reports connections and time for all six
// versions against a Go TLS 1.2/1.3 server with default settings.
func TestFullEnumerationGoServer(t *testing.T) {
	srv := goServer(t, &tls.Config{Certificates: []tls.Certificate{issue(t, pki.RSA2048)}})
	cfg := testConfig(srv.addr)
	start := time.Now()
	results := ProbeAll(context.Background(), cfg)
	elapsed := time.Since(start)
	total := 0
	for _, r := range results {
		total += r.Conns
		t.Logf("%-7v accepted %2d with %2d connections (last: %v alert %d)", r.Version, len(r.Accepted), r.Conns, r.Last.Kind, r.Last.Alert)
	}
	t.Logf("all six versions: %d connections, %v (Concurrency %d)", total, elapsed, cfg.concurrency())
	cfg.Concurrency = 1
	start = time.Now()
	ProbeAll(context.Background(), cfg)
	t.Logf("serial: %v", time.Since(start))
}

func BenchmarkProbeAllGoServer(b *testing.B) {
	srv := goServer(b, &tls.Config{Certificates: []tls.Certificate{issue(b, pki.RSA2048)}})
	cfg := testConfig(srv.addr)
	conns := 0
	for b.Loop() {
		for _, r := range ProbeAll(context.Background(), cfg) {
			conns += r.Conns
		}
	}
	b.ReportMetric(float64(conns)/float64(b.N), "conns/op")
}
