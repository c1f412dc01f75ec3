package runcache

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type val struct {
	s    string
	done bool
}

func (v val) Keep() bool { return v.done }

// TestOnce: concurrent callers of one key share one computation.
func TestOnce(t *testing.T) {
	var m Memo[val]
	var calls atomic.Int64
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			v, ok := m.Get(context.Background(), "k", func() val {
				calls.Add(1)
				time.Sleep(20 * time.Millisecond)
				return val{"x", true}
			}, nil)
			if !ok || v.s != "x" {
				t.Errorf("got %+v, %v", v, ok)
			}
		})
	}
	wg.Wait()
	if calls.Load() != 1 {
		t.Errorf("%d computations, want 1", calls.Load())
	}
	if v, ok := m.Peek("k"); !ok || v.s != "x" || m.Empty() {
		t.Errorf("Peek = %+v, %v", v, ok)
	}
}

// TestGuards: a caller whose context has ended starts nothing; a
// computation that panics gives the failure value, which is not kept; a
// value that may not be kept is recomputed; Put keeps only keepable values
// for unknown keys; Max bounds the keys.
func TestGuards(t *testing.T) {
	var m Memo[val]
	dead, cancel := context.WithCancel(context.Background())
	cancel()
	started := false
	if _, ok := m.Get(dead, "k", func() val { started = true; return val{} }, nil); ok || started {
		t.Errorf("ended context: ok %v, started %v", ok, started)
	}
	failed := func(p any) val { return val{s: fmt.Sprint("internal error: ", p)} }
	if v, ok := m.Get(context.Background(), "k", func() val { panic("boom") }, failed); !ok || v.s != "internal error: boom" {
		t.Errorf("after a panic: %+v, %v", v, ok)
	}
	if _, ok := m.Peek("k"); ok {
		t.Error("the failure was kept")
	}
	if v, _ := m.Get(context.Background(), "k", func() val { return val{"again", true} }, nil); v.s != "again" {
		t.Errorf("not recomputed: %+v", v)
	}
	m.Put("p", val{"placeholder", false})
	if _, ok := m.Peek("p"); ok {
		t.Error("a placeholder was put")
	}
	m.Put("k", val{"other", true})
	if v, _ := m.Peek("k"); v.s != "again" {
		t.Errorf("Put replaced a known key: %+v", v)
	}
	small := Memo[val]{Max: 3}
	for i := range 10 {
		small.Put(fmt.Sprint(i), val{"v", true})
	}
	if len(small.m) > 3 {
		t.Errorf("%d keys held, max 3", len(small.m))
	}
	// A caller that stops waiting does not stop the computation for others.
	ctx, stop := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer stop()
	release := make(chan struct{})
	if _, ok := m.Get(ctx, "slow", func() val { <-release; return val{"slow", true} }, nil); ok {
		t.Error("the impatient caller got a value")
	}
	close(release)
	if v, ok := m.Get(context.Background(), "slow", func() val { return val{"recomputed", true} }, nil); !ok || v.s != "slow" {
		t.Errorf("the computation did not go on: %+v", v)
	}
}
