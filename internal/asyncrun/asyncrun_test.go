package asyncrun

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/domainscan/domain-scan/internal/awslambda"
	"github.com/domainscan/domain-scan/internal/memwatch"
	"github.com/domainscan/domain-scan/internal/objstore"
	"github.com/domainscan/domain-scan/internal/scan"
	"github.com/domainscan/domain-scan/internal/scanners/noop"
)

type names int

func (n names) Len() int64 { return int64(n) }
func (n names) Range(fn func(string) bool) error {
	for i := range int(n) {
		if !fn(fmt.Sprintf("d%07d.test", i)) {
			break
		}
	}
	return nil
}

// testSubmitters is the test clients' number of submitters.
const testSubmitters = 8

func newClient(t testing.TB, rate float64) (*Client, objstore.Store) {
	t.Helper()
	ctx := context.Background()
	st, err := objstore.NewS3(ctx, "s3://runs/prefix", objstore.S3Options{})
	if err != nil {
		t.Fatal(err)
	}
	lc, err := awslambda.NewClient(ctx, "", 16)
	if err != nil {
		t.Fatal(err)
	}
	return &Client{Store: st, Lambda: lc, Scanners: map[string]scan.Scanner{"noop": noop.New()},
		Rate: rate, Submitters: testSubmitters, Poll: 20 * time.Millisecond}, st
}

func manifest(run string, batch int) *Manifest {
	return &Manifest{RunID: run, Created: time.Now(), Command: "test", BatchSize: batch, Bucket: "runs", Prefix: "prefix",
		Scanners: []ScannerSpec{{Name: "noop", Function: "task_noop"}}}
}

func stats(t *testing.T, lambdaURL string) (invocations int, deliveries map[string]int) {
	t.Helper()
	resp, err := http.Get(lambdaURL + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s struct {
		Invocations int            `json:"invocations"`
		Deliveries  map[string]int `json:"deliveries"`
	}
	json.NewDecoder(resp.Body).Decode(&s)
	return s.Invocations, s.Deliveries
}

// TestFaults: a batch whose function keeps crashing, a batch that crashes
// once (Lambda retries it), a batch delivered twice and a result write
// that fails once. Nothing is lost, nothing is counted twice: the crashed
// batch is reported with its domains and ends as failed rows, and a
// resubmission completes the run.
func TestFaults(t *testing.T) {
	lambdaURL := fakeAWS(t, "FAKE_FAULTS=3=crash:3,2=crash:1,4=dup", "FAKE_S3_FAIL=000005.jsonl:4")
	c, st := newClient(t, 100)
	ctx := context.Background()
	m := manifest("run-faults", 5)
	if err := c.Start(ctx, m, names(40)); err != nil {
		t.Fatal(err)
	}
	if m.Batches != 8 || m.Domains != 40 {
		t.Fatalf("%d batches, %d domains", m.Batches, m.Domains)
	}
	missing, err := c.Follow(ctx, m, FollowOptions{Deadline: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) != 1 || missing[0].Batch != 3 || missing[0].Reason != "sent, no results yet" {
		t.Fatalf("missing = %+v, want batch 3, sent", missing)
	}
	if doms, _ := c.BatchDomains(ctx, m.RunID, 3); len(doms) != 5 || doms[0] != "d0000010.test" {
		t.Fatalf("batch 3 = %v", doms)
	}
	got, err := c.Collect(ctx, m, st)
	if err != nil {
		t.Fatal(err)
	}
	cnt := got.Counts["noop"]
	if cnt.Domains != 40 || cnt.OK != 35 || cnt.Missing != 5 || cnt.Failed != 0 || cnt.Rows != 40 {
		t.Errorf("counts %+v", cnt)
	}
	checkRows(t, st, 40, 5)

	// The crashed batch's fourth delivery succeeds: resubmit.
	missing, err = c.Follow(ctx, m, FollowOptions{Resubmit: true, Deadline: 5 * time.Second})
	if err != nil || len(missing) != 0 {
		t.Fatalf("after resubmission: missing %+v, %v", missing, err)
	}
	got, err = c.Collect(ctx, m, st)
	if err != nil {
		t.Fatal(err)
	}
	if cnt := got.Counts["noop"]; cnt.OK != 40 || cnt.Rows != 40 || cnt.Missing != 0 {
		t.Errorf("counts after resubmission %+v", cnt)
	}
	checkRows(t, st, 40, 0)
	inv, del := stats(t, lambdaURL)
	// 8 batches, then batch 3 again; the others were not resent.
	if inv != 9 {
		t.Errorf("%d invocations, want 9", inv)
	}
	if del["3"] != 4 || del["2"] != 2 || del["4"] != 2 || del["5"] != 2 || del["1"] != 1 {
		t.Errorf("deliveries %v: want batch 3 four times, 2 twice (one retry), 4 twice (duplicated), 5 twice (its write failed once), 1 once", del)
	}
}

// TestDetachAndResume: a batch the Lambda API refuses while detaching is
// not marked sent; plain collect looks without sending (and without a
// Lambda client); the resumed follow sends exactly that batch.
func TestDetachAndResume(t *testing.T) {
	lambdaURL := fakeAWS(t, "FAKE_FAULTS=2=reject:1")
	c, st := newClient(t, 100)
	ctx := context.Background()
	m := manifest("run-detach", 5)
	if err := c.Start(ctx, m, names(20)); err != nil {
		t.Fatal(err)
	}
	missing, err := c.Follow(ctx, m, FollowOptions{Detach: true})
	if err != nil {
		t.Fatal(err)
	}
	notSent := 0
	for _, ms := range missing {
		if strings.HasPrefix(ms.Reason, "not sent") {
			notSent++
		}
	}
	if notSent != 1 {
		t.Errorf("after detaching: %+v, want batch 2 not sent", missing)
	}
	// Plain collect: no Lambda client, nothing sent, batch 2 reported.
	look := &Client{Store: st, Scanners: c.Scanners, Poll: 20 * time.Millisecond}
	time.Sleep(300 * time.Millisecond) // the fake delivers in the background
	missing, err = look.Follow(ctx, m, FollowOptions{NoSubmit: true})
	if err != nil || len(missing) != 1 || missing[0].Batch != 2 {
		t.Fatalf("plain look: %+v, %v", missing, err)
	}
	got, err := look.Collect(ctx, m, st)
	if err != nil || got.Counts["noop"].Missing != 5 {
		t.Fatalf("collect: %+v, %v", got, err)
	}
	inv, _ := stats(t, lambdaURL)
	if inv != 3 {
		t.Errorf("%d invocations accepted before resuming, want 3", inv)
	}
	// Resume: only batch 2 goes out.
	missing, err = c.Follow(ctx, m, FollowOptions{Deadline: 5 * time.Second})
	if err != nil || len(missing) != 0 {
		t.Fatalf("resumed: %+v, %v", missing, err)
	}
	if inv, _ := stats(t, lambdaURL); inv != 4 {
		t.Errorf("%d invocations after resuming, want 4", inv)
	}
	if got, err := c.Collect(ctx, m, st); err != nil || got.Counts["noop"].OK != 20 {
		t.Fatalf("final collect: %+v, %v", got, err)
	}
}

// TestCollectErrorKeepsResults: a collect that fails (a corrupt batch
// object) leaves the previous results file in place.
func TestCollectErrorKeepsResults(t *testing.T) {
	fakeAWS(t)
	c, st := newClient(t, 100)
	ctx := context.Background()
	m := manifest("run-corrupt", 5)
	if err := c.Start(ctx, m, names(10)); err != nil {
		t.Fatal(err)
	}
	if missing, err := c.Follow(ctx, m, FollowOptions{Deadline: 5 * time.Second}); err != nil || len(missing) > 0 {
		t.Fatalf("%+v, %v", missing, err)
	}
	if _, err := c.Collect(ctx, m, st); err != nil {
		t.Fatal(err)
	}
	good, _ := st.Get(ctx, "results/noop.csv", 1<<20)
	if err := st.Put(ctx, resultKey(m.RunID, "noop", 2), []byte("{not json\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Collect(ctx, m, st); err == nil {
		t.Fatal("collect of a corrupt batch succeeded")
	}
	after, _ := st.Get(ctx, "results/noop.csv", 1<<20)
	if string(after) != string(good) || len(good) == 0 {
		t.Errorf("results/noop.csv changed by a failed collect:\n%s\nwas\n%s", after, good)
	}
}

// TestCoordinator: the client only writes the run and hands it to a
// coordinator invocation; the coordinator sends the batches, hands over to
// its next generation before its (here very short) time is up, and
// collects the results.
func TestCoordinator(t *testing.T) {
	lambdaURL := fakeAWS(t, "DOMAIN_SCAN_COORDINATOR_SLICE=300ms", "DOMAIN_SCAN_ASYNC_POLL=50ms")
	c, st := newClient(t, 100)
	ctx := context.Background()
	m := manifest("run-coordinated", 5)
	m.Scanners[0].Options = map[string]string{"noop-delay": "1"} // each batch outlives a coordinator's slice
	if err := c.Start(ctx, m, names(40)); err != nil {
		t.Fatal(err)
	}
	if err := SubmitCoordinator(ctx, c.Lambda, "task_noop", m, time.Minute); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := st.Get(ctx, "results/meta.json", 1<<20); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the coordinator never collected the run")
		}
		time.Sleep(100 * time.Millisecond)
	}
	checkRows(t, st, 40, 0)
	inv, _ := stats(t, lambdaURL)
	// 8 batches, and at least two coordinator generations.
	if inv < 8+2 {
		t.Errorf("%d invocations: want the 8 batches and a hand-over", inv)
	}
}

// checkRows: every domain exactly once in results/noop.csv, failed ones
// saying why.
func checkRows(t *testing.T, st objstore.Store, n, failed int) {
	t.Helper()
	b, err := st.Get(context.Background(), "results/noop.csv", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\r\n"), "\r\n")[1:]
	seen := map[string]bool{}
	blank := 0
	for _, l := range lines {
		d := strings.Split(l, ",")[0]
		if seen[d] {
			t.Errorf("%s twice", d)
		}
		seen[d] = true
		if strings.HasSuffix(l, ",,,") {
			blank++
		}
	}
	if len(seen) != n || blank != failed {
		t.Errorf("%d domains (%d without data), want %d (%d)", len(seen), blank, n, failed)
	}
}

// run measures one asynchronous run of n domains: peak heap and peak
// goroutines above what was there before (earlier runs' idle connections
// linger), and wall time.
func run(t testing.TB, n int) (heap uint64, goroutines int, took time.Duration) {
	c, st := newClient(t, 5000)
	ctx := context.Background()
	m := manifest(fmt.Sprintf("run-%d", n), 100)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	baseG := runtime.NumGoroutine()
	w := memwatch.Start(5 * time.Millisecond)
	start := time.Now()
	if err := c.Start(ctx, m, names(n)); err != nil {
		t.Fatal(err)
	}
	missing, err := c.Follow(ctx, m, FollowOptions{Deadline: 5 * time.Minute})
	if err != nil || len(missing) > 0 {
		t.Fatalf("missing %d batches, %v", len(missing), err)
	}
	got, err := c.Collect(ctx, m, st)
	if err != nil {
		t.Fatal(err)
	}
	took = time.Since(start)
	heap, _ = w.Stop()
	if got.Counts["noop"].OK != int64(n) {
		t.Fatalf("%+v", got.Counts["noop"])
	}
	return heap - min(heap, before.HeapInuse), w.Goroutines() - baseG, took
}

// TestClientFlat: the client's memory and goroutines do not grow with the
// number of domains. Goroutines are bounded by the client's settings
// alone — the batch writers, the submitters and one connection (two
// goroutines) per request in flight to each service — and that bound holds
// at 1,000, 10,000 and 100,000 domains (10 to 1,000 batches). Past the
// first few batches, 10,000 and 100,000 domains cost about the same heap.
func TestClientFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 100,000 domains")
	}
	fakeAWS(t)
	// Writers and submitters, their connections, and a few for the
	// lister, the collector's streams and the test's own watchers.
	bound := batchWriters + 2*batchWriters + testSubmitters + 2*testSubmitters + 16
	for _, n := range []int{1_000, 10_000, 100_000} {
		h, g, d := run(t, n)
		t.Logf("%7d domains: peak heap +%5.1f MiB, peak goroutines +%3d (bound %d), %s", n, float64(h)/(1<<20), g, bound, d.Round(time.Millisecond))
		flat[n] = [2]uint64{h, uint64(g)}
		if g > bound {
			t.Errorf("%d domains: %d goroutines, more than the client's settings allow (%d)", n, g, bound)
		}
	}
	h1, h2 := flat[10_000][0], flat[100_000][0]
	// Results files stream through S3 multipart buffers (two 5 MiB parts
	// uploading and one filling): the only memory that depends on the
	// run's size, capped; 100,000 domains are the first to need parts.
	if h2 > h1+24<<20 {
		t.Errorf("peak heap grew from %d to %d bytes with 10 times the domains", h1, h2)
	}
}

var flat = map[int][2]uint64{}
