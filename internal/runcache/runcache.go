// Package runcache is the per-run cache scanners share between domains
// (the original's "fast cache": mail servers probed once per run): a key's
// value is computed once and handed to every concurrent and later caller.
package runcache

import (
	"context"
	"sync"
)

// Keeper says whether a value may be kept for later callers; placeholders
// and failures may not.
type Keeper interface{ Keep() bool }

// DefaultMax is Memo's size bound when Max is 0.
const DefaultMax = 200_000

// Memo runs a function once per key and shares its value. Values that may
// not be kept go to the callers waiting for them, and the next caller
// computes again. It holds at most Max keys: past that it starts over,
// which costs repeated work, never wrong answers. The zero value is ready.
type Memo[V Keeper] struct {
	Max int

	mu sync.Mutex
	m  map[string]*entry[V]
}

type entry[V any] struct {
	done chan struct{}
	v    V
}

func (c *Memo[V]) reset() {
	limit := c.Max
	if limit <= 0 {
		limit = DefaultMax
	}
	if c.m == nil || len(c.m) >= limit {
		c.m = map[string]*entry[V]{}
	}
}

// Get returns key's value, computing it with fn on first use, in a
// goroutine of its own; a panic of fn becomes the value failed gives (the
// zero value when failed is nil), which is not kept. A caller whose ctx
// ends stops waiting (ok false) and the computation goes on for the
// others; a caller whose ctx has already ended starts nothing.
func (c *Memo[V]) Get(ctx context.Context, key string, fn func() V, failed func(any) V) (v V, ok bool) {
	c.mu.Lock()
	c.reset()
	e, found := c.m[key]
	if !found {
		if ctx.Err() != nil {
			c.mu.Unlock()
			return v, false
		}
		e = &entry[V]{done: make(chan struct{})}
		c.m[key] = e
		go c.run(key, e, fn, failed)
	}
	c.mu.Unlock()
	select {
	case <-e.done:
		return e.v, true
	case <-ctx.Done():
		return v, false
	}
}

func (c *Memo[V]) run(key string, e *entry[V], fn func() V, failed func(any) V) {
	var v V
	panicked := false
	defer func() {
		if p := recover(); p != nil {
			panicked = true
			var zero V
			v = zero
			if failed != nil {
				v = failed(p)
			}
		}
		c.mu.Lock()
		if (panicked || !v.Keep()) && c.m[key] == e {
			delete(c.m, key)
		}
		e.v = v
		close(e.done)
		c.mu.Unlock()
	}()
	v = fn()
}

// Put stores a value computed elsewhere (a result from Lambda), unless the
// key is known or the value may not be kept.
func (c *Memo[V]) Put(key string, v V) {
	if !v.Keep() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reset()
	if _, found := c.m[key]; found {
		return
	}
	e := &entry[V]{done: make(chan struct{}), v: v}
	close(e.done)
	c.m[key] = e
}

// Peek returns a finished value that may be kept.
func (c *Memo[V]) Peek(key string) (V, bool) {
	c.mu.Lock()
	e, found := c.m[key]
	c.mu.Unlock()
	var zero V
	if !found {
		return zero, false
	}
	select {
	case <-e.done:
		if !e.v.Keep() {
			return zero, false
		}
		return e.v, true
	default:
		return zero, false
	}
}

// Empty reports whether nothing is stored.
func (c *Memo[V]) Empty() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m) == 0
}
