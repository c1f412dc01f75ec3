package labtest

import (
	"context"
	"crypto/tls"
	"net/http"
	"testing"
	"time"

	"github.com/domainscan/domain-scan/internal/lab"
)

func TestStartWithOneScenario(t *testing.T) {
	sc := &lab.Scenario{Domain: "only.test", Hosts: map[string]*lab.Host{"": {HTTPS: &lab.Endpoint{Status: 204}}}}
	l := Start(t, sc)
	if got := l.Scenario(t, "only.test"); got != sc {
		t.Fatalf("Scenario() = %v", got)
	}
	nw := l.Network()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: nw.DialContext, TLSClientConfig: &tls.Config{RootCAs: l.Roots}}}
	defer client.CloseIdleConnections()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "https://only.test/", nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 {
		t.Errorf("status %d", resp.StatusCode)
	}
}
