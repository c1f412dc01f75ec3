package pki

import (
	"crypto/tls"
	"fmt"
	"sync"
	"testing"
)

func hostSpec(host string) func() Spec {
	return func() Spec { return Spec{DNSNames: []string{host}, Key: ECDSAP256} }
}

// countingSpec counts how often each key's spec is requested, i.e. issued.
type countingSpec struct {
	mu    sync.Mutex
	calls map[string]int
}

func (c *countingSpec) fn(key string) func() Spec {
	return func() Spec {
		c.mu.Lock()
		if c.calls == nil {
			c.calls = map[string]int{}
		}
		c.calls[key]++
		c.mu.Unlock()
		return hostSpec(key)()
	}
}

// entries returns how many certificates c holds, checking that its map and
// LRU list agree.
func entries(t *testing.T, c *Cache) int {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) != c.lru.Len() {
		t.Fatalf("map has %d entries, list %d", len(c.entries), c.lru.Len())
	}
	return len(c.entries)
}

func TestCacheSamePointer(t *testing.T) {
	c := NewCache(testCA(t), 10)
	var cs countingSpec
	a, err := c.Get("a.example.lab", cs.fn("a.example.lab"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Get("a.example.lab", cs.fn("a.example.lab"))
	if err != nil {
		t.Fatal(err)
	}
	if a != b || cs.calls["a.example.lab"] != 1 {
		t.Errorf("second Get: same pointer %v, issued %d times", a == b, cs.calls["a.example.lab"])
	}
	if a.Leaf.DNSNames[0] != "a.example.lab" {
		t.Errorf("leaf for %v", a.Leaf.DNSNames)
	}
}

func TestCacheConcurrent(t *testing.T) {
	c := NewCache(testCA(t), 100)
	var cs countingSpec
	var first sync.Map // key -> *tls.Certificate
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Go(func() {
			for i := range 40 {
				key := fmt.Sprintf("h%d.example.lab", (g+i)%8)
				cert, err := c.Get(key, cs.fn(key))
				if err != nil {
					t.Error(err)
					return
				}
				if prev, loaded := first.LoadOrStore(key, cert); loaded && prev != cert {
					t.Errorf("%s: different pointers while cached", key)
				}
			}
		})
	}
	wg.Wait()
	for key, n := range cs.calls {
		if n != 1 {
			t.Errorf("%s issued %d times, want once (in-flight dedupe)", key, n)
		}
	}
	if n := entries(t, c); n != 8 {
		t.Errorf("cache holds %d, want 8", n)
	}
}

func TestCacheEviction(t *testing.T) {
	c := NewCache(testCA(t), 3)
	var cs countingSpec
	get := func(key string) *tls.Certificate {
		t.Helper()
		cert, err := c.Get(key, cs.fn(key))
		if err != nil {
			t.Fatal(err)
		}
		if n := entries(t, c); n > 3 {
			t.Fatalf("cache holds %d, bound is 3", n)
		}
		return cert
	}
	for i := range 10 {
		get(fmt.Sprintf("e%d", i))
	}
	e7 := get("e7")      // touch: e7 becomes most recent, e8 least
	get("e10")           // evicts e8
	if get("e7") != e7 { // still cached
		t.Error("recently used entry was evicted")
	}
	if get("e9"); cs.calls["e9"] != 1 {
		t.Error("e9 should still be cached")
	}
	if get("e8"); cs.calls["e8"] != 2 {
		t.Errorf("e8 issued %d times, want re-issue after LRU eviction", cs.calls["e8"])
	}
	if get("e0"); cs.calls["e0"] != 2 {
		t.Errorf("e0 issued %d times, want re-issue after eviction", cs.calls["e0"])
	}
}

func TestCacheConcurrentEviction(t *testing.T) {
	c := NewCache(testCA(t), 4)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 30 {
				key := fmt.Sprintf("c%d.example.lab", (g*7+i)%20)
				cert, err := c.Get(key, hostSpec(key))
				if err != nil || cert.Leaf.DNSNames[0] != key {
					t.Errorf("%s: %v", key, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := entries(t, c); n > 4 {
		t.Errorf("cache holds %d, bound is 4", n)
	}
}

func TestCacheErrorsNotCached(t *testing.T) {
	c := NewCache(testCA(t), 0) // treated as 1
	calls := 0
	bad := func() Spec { calls++; return Spec{} }
	for range 2 {
		if _, err := c.Get("bad", bad); err == nil {
			t.Fatal("invalid spec issued")
		}
	}
	if n := entries(t, c); calls != 2 || n != 0 {
		t.Errorf("error was cached: %d calls, %d entries", calls, n)
	}
	if _, err := c.Get("nil", nil); err == nil {
		t.Error("nil spec function accepted")
	}

	func() {
		defer func() {
			if recover() == nil {
				t.Error("spec panic was swallowed")
			}
		}()
		c.Get("panic", func() Spec { panic("boom") })
	}()
	if entries(t, c) != 0 {
		t.Error("panicked entry left in cache")
	}
	if _, err := c.Get("panic", hostSpec("panic.example.lab")); err != nil {
		t.Errorf("retry after panic: %v", err)
	}
}

// TestCacheSNI is synthetic mode end to end: one listener, a certificate
// per requested server name.
func TestCacheSNI(t *testing.T) {
	ca := testCA(t)
	c := NewCache(ca, 16)
	addr := serveTLS(t, &tls.Config{
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			return c.Get(hello.ServerName, hostSpec(hello.ServerName))
		},
	})
	for _, host := range []string{"one.example.lab", "two.example.lab", "one.example.lab"} {
		conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: ca.RootPool(), ServerName: host})
		if err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		peers := conn.ConnectionState().PeerCertificates
		conn.Close()
		if len(peers) != 2 || peers[0].DNSNames[0] != host {
			t.Errorf("%s: got %d certs for %v", host, len(peers), peers[0].DNSNames)
		}
	}
	if n := entries(t, c); n != 2 {
		t.Errorf("cache holds %d, want 2", n)
	}
}
