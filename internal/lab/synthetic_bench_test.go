package lab

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/domainscan/domain-scan/internal/memwatch"
)

// BenchmarkSynthetic starts the lab with 100,000 synthetic domains and
// fetches http:// and https:// of 20,000 of them from 1,000 concurrent
// clients (each fetch resolving through the lab DNS). It reports the start
// time, the fetch rate and the peak heap of the process (lab and clients).
//
//	go test -run='^$' -bench=Synthetic -benchtime=1x ./internal/lab/
func BenchmarkSynthetic(b *testing.B) {
	const domains, fetched, clients = 100_000, 20_000, 1_000
	for range b.N {
		runtime.GC()
		w := memwatch.Start(50 * time.Millisecond)
		start := time.Now()
		l, err := Start(context.Background(), Options{Synthetic: domains, HighPorts: true})
		if err != nil {
			b.Fatal(err)
		}
		startup := time.Since(start)
		nw := l.Network()
		tr := &http.Transport{DialContext: nw.DialContext, TLSClientConfig: &tls.Config{RootCAs: l.CA.RootPool()},
			MaxIdleConnsPerHost: 4, DisableKeepAlives: true}
		client := &http.Client{Timeout: 20 * time.Second, Transport: tr,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		jobs := make(chan int)
		var ok, failed atomic.Int64
		var wg sync.WaitGroup
		fetchStart := time.Now()
		for range clients {
			wg.Go(func() {
				for i := range jobs {
					for _, scheme := range []string{"http", "https"} {
						resp, err := client.Get(fmt.Sprintf("%s://%s/", scheme, SyntheticName(i)))
						if err != nil {
							failed.Add(1)
							continue
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						ok.Add(1)
					}
				}
			})
		}
		for i := range fetched {
			jobs <- (i * 7919) % domains // spread over the whole range
		}
		close(jobs)
		wg.Wait()
		fetch := time.Since(fetchStart)
		peak, _ := w.Stop()
		l.Close()
		// Expected failures: NXDOMAIN names, closed 443, expired certificates.
		b.ReportMetric(startup.Seconds()*1000, "start-ms")
		b.ReportMetric(float64(ok.Load()+failed.Load())/fetch.Seconds(), "fetches/s")
		b.ReportMetric(float64(ok.Load()), "answered")
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	}
}
