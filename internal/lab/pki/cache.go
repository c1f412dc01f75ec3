package pki

import (
	"container/list"
	"crypto/tls"
	"errors"
	"sync"
)

// Cache issues certificates on demand for synthetic mode, where a single
// listener answers for many host names via SNI. Entries are keyed by a
// caller-chosen string and evicted least-recently-used beyond max entries.
// It is safe for concurrent use.
type Cache struct {
	ca  *CA
	max int

	mu      sync.Mutex
	lru     *list.List // of *cacheEntry, most recently used at the front
	entries map[string]*list.Element
}

// cacheEntry is published before its certificate exists so that concurrent
// Gets for one key wait for a single issuance instead of each signing.
type cacheEntry struct {
	key   string
	ready chan struct{} // closed once cert or err is set
	cert  *tls.Certificate
	err   error
}

// NewCache returns a cache over ca holding at most max certificates; max
// below 1 is treated as 1.
func NewCache(ca *CA, max int) *Cache {
	if max < 1 {
		max = 1
	}
	return &Cache{ca: ca, max: max, lru: list.New(), entries: make(map[string]*list.Element)}
}

// Get returns the certificate cached under key, issuing it from spec() on a
// miss. spec is called at most once per miss, outside the cache lock. While
// an entry stays cached every Get returns the same pointer; failed issuances
// are not cached.
func (c *Cache) Get(key string, spec func() Spec) (*tls.Certificate, error) {
	c.mu.Lock()
	if el, ok := c.entries[key]; ok {
		c.lru.MoveToFront(el)
		c.mu.Unlock()
		e := el.Value.(*cacheEntry)
		<-e.ready
		return e.cert, e.err
	}
	e := &cacheEntry{key: key, ready: make(chan struct{})}
	el := c.lru.PushFront(e)
	c.entries[key] = el
	for c.lru.Len() > c.max {
		// Evicting an in-flight entry is harmless: its waiters hold e.
		old := c.lru.Remove(c.lru.Back()).(*cacheEntry)
		delete(c.entries, old.key)
	}
	c.mu.Unlock()

	done := false
	defer func() {
		if !done { // spec or Issue panicked: release waiters, then re-panic
			e.err = errors.New("pki: certificate issuance panicked")
		}
		if e.err != nil {
			c.forget(el)
		}
		close(e.ready)
	}()
	if spec == nil {
		e.err = errors.New("pki: nil spec function")
	} else if cert, err := c.ca.Issue(spec()); err != nil {
		e.err = err
	} else {
		e.cert = &cert
	}
	done = true
	return e.cert, e.err
}

// forget drops el if it is still the cached element for its key, so a later
// Get retries instead of replaying the error.
func (c *Cache) forget(el *list.Element) {
	key := el.Value.(*cacheEntry).key
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur, ok := c.entries[key]; ok && cur == el {
		c.lru.Remove(el)
		delete(c.entries, key)
	}
}
