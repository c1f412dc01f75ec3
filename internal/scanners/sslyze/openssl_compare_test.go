package sslyze

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"

	"github.com/domainscan/domain-scan/internal/lab"
	"github.com/domainscan/domain-scan/internal/lab/labtest"
	"github.com/domainscan/domain-scan/internal/tlsprobe"
)

// TestOpenSSLAgrees compares the protocol versions and cipher suites that
// tlsprobe finds with those an independent client finds: the local
// `openssl s_client`, driven one version at a time. For each version the
// openssl client can speak, openssl offers every suite it knows for that
// version; the suite the server chose (read from the ServerHello that -msg
// dumps, which works even when the legacy responder hangs up right after
// it) is removed and the rest offered again, until the server refuses. Our
// probe's accepted suites, restricted to the suites openssl offered, must
// be the same set, and so must the answer to "is the version accepted".
func TestOpenSSLAgrees(t *testing.T) {
	if testing.Short() {
		t.Skip("runs openssl against many lab servers")
	}
	start := time.Now()
	client := osslSetup(t)

	var scenarios []*lab.Scenario
	for _, sc := range lab.Catalogue() {
		if slices.Contains(osslScenarios, sc.Domain) {
			scenarios = append(scenarios, sc)
		}
	}
	if len(scenarios) != len(osslScenarios) {
		var have []string
		for _, sc := range scenarios {
			have = append(have, sc.Domain)
		}
		t.Fatalf("lab catalogue lacks some scenarios: want %v, have %v", osslScenarios, have)
	}
	l := labtest.Start(t, scenarios...)
	network := l.Network()

	var (
		mu      sync.Mutex
		summary = map[string]map[tlsprobe.Version]osslCell{}
	)
	// At most this many openssl processes (one per scenario) at once.
	slots := make(chan struct{}, 4)
	t.Run("scenarios", func(t *testing.T) {
		for _, sc := range scenarios {
			host := sc.Domain
			t.Run(host, func(t *testing.T) {
				t.Parallel()
				slots <- struct{}{}
				defer func() { <-slots }()

				ip, ok := l.Addr(host)
				if !ok {
					t.Fatalf("the lab has no address for %s", host)
				}
				addr := net.JoinHostPort(ip.String(), strconv.Itoa(l.PortMap.Map(443)))

				ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
				defer cancel()
				cfg := tlsprobe.Config{
					ServerName:  host,
					Timeout:     3 * time.Second,
					Concurrency: 2,
					Dial: func(ctx context.Context) (net.Conn, error) {
						return network.DialContext(ctx, "tcp", net.JoinHostPort(host, "443"))
					},
				}
				var versions []tlsprobe.Version
				for _, ov := range client.versions {
					versions = append(versions, ov.v)
				}
				results := tlsprobe.ProbeAll(ctx, cfg, versions...)

				cells := map[tlsprobe.Version]osslCell{}
				for i, ov := range client.versions {
					cells[ov.v] = osslCompare(t, ctx, client, host, addr, ov, results[i])
				}
				mu.Lock()
				summary[host] = cells
				mu.Unlock()
			})
		}
	})

	// The summary: scenario × version -> suites agreed on.
	var b strings.Builder
	fmt.Fprintf(&b, "openssl %s vs tlsprobe (=N: both found the same N suites among those openssl offered, N=0: both refused the version; DIFF: disagreement; ERR: no comparison)\n", client.version)
	fmt.Fprintf(&b, "%-22s", "scenario")
	for _, ov := range client.versions {
		fmt.Fprintf(&b, " %-8s", ov.v)
	}
	b.WriteString("\n")
	compared, withSuites := 0, 0
	for _, sc := range scenarios {
		cells := summary[sc.Domain]
		fmt.Fprintf(&b, "%-22s", sc.Domain)
		anyCompared, anySuite := false, false
		for _, ov := range client.versions {
			c, ok := cells[ov.v]
			s := "-"
			switch {
			case !ok:
			case c.err:
				s = "ERR"
			case c.diff:
				s = "DIFF"
				anyCompared = true
			default:
				s = "=" + strconv.Itoa(c.agreed)
				anyCompared = true
				anySuite = anySuite || c.agreed > 0
			}
			fmt.Fprintf(&b, " %-8s", s)
		}
		b.WriteString("\n")
		if anyCompared {
			compared++
		}
		if anySuite {
			withSuites++
		}
	}
	t.Logf("%s%d scenarios compared on at least one version, %d with at least one accepted suite agreed; %d openssl runs; %v",
		b.String(), compared, withSuites, client.runs(), time.Since(start).Round(time.Millisecond))
	if withSuites < 10 {
		t.Errorf("only %d scenarios were compared with at least one accepted suite agreed by both tools; want at least 10", withSuites)
	}
}

// osslScenarios are the lab servers compared: Go crypto/tls servers and
// legacy-responder servers of different configurations.
var osslScenarios = []string{
	// crypto/tls
	"tls-modern.test",
	"tls12-ecdhe.test",
	"tls11-tls12.test",
	"tls13-only.test",
	"tls10-only.test",
	"rc4.test",
	"triple-des.test",
	"ecdsa-p256.test",
	"ecdsa-p384.test",
	"rsa1024.test",
	// legacy responder
	"sslv2.test",
	"sslv3.test",
	"dhe.test",
	"export.test",
	"null-cipher.test",
	"rc4-md5.test",
	"insecure-reneg.test",
	"tls13-ccm.test",
}

// osslVersion is a protocol version and the option that selects it in
// `openssl s_client` and `openssl ciphers`. SSLv2 is not compared: OpenSSL
// dropped its SSLv2 client in 1.1.0.
type osslVersion struct {
	v    tlsprobe.Version
	flag string
}

var osslVersions = []osslVersion{
	{tlsprobe.SSL30, "ssl3"},
	{tlsprobe.TLS10, "tls1"},
	{tlsprobe.TLS11, "tls1_1"},
	{tlsprobe.TLS12, "tls1_2"},
	{tlsprobe.TLS13, "tls1_3"},
}

// osslTLS13Suites are the five TLS 1.3 suites, for -ciphersuites.
const osslTLS13Suites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256"

// osslSuite is a suite as `openssl ciphers -V` lists it.
type osslSuite struct {
	id   uint32
	name string
}

// osslClient is the local openssl and what its client can offer.
type osslClient struct {
	bin, conf, version string
	// providers load the legacy provider too (SEED, IDEA ...) when the
	// binary has it.
	providers []string
	versions  []osslVersion
	suites    map[tlsprobe.Version][]osslSuite

	mu sync.Mutex
	n  int
}

func (c *osslClient) runs() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// osslSetup finds openssl (skipping the test without it) and which
// versions and suites its client offers.
func osslSetup(t *testing.T) *osslClient {
	t.Helper()
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not in PATH: the comparison needs `openssl s_client`")
	}
	// An empty configuration keeps the distribution's system-wide settings
	// (security level, minimum protocol, cipher string) out of the test.
	conf := filepath.Join(t.TempDir(), "openssl.cnf")
	if err := os.WriteFile(conf, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	c := &osslClient{bin: bin, conf: conf, suites: map[tlsprobe.Version][]osslSuite{}}
	run := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = append(os.Environ(), "OPENSSL_CONF="+conf)
		cmd.WaitDelay = time.Second
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run("version")
	if err != nil {
		t.Skipf("openssl version: %v\n%s", err, out)
	}
	c.version = strings.TrimSpace(out)
	help, _ := run("s_client", "-help") // exits non-zero on some versions
	hasOption := func(opt string) bool {
		return regexp.MustCompile(`(?m)^\s*-` + regexp.QuoteMeta(opt) + `\s`).MatchString(help)
	}
	if !hasOption("msg") || !hasOption("connect") {
		t.Fatalf("openssl s_client -help does not list -msg and -connect:\n%s", help)
	}
	if hasOption("provider") {
		p := []string{"-provider", "legacy", "-provider", "default"}
		if _, err := run(append(append([]string{"ciphers"}, p...), "-s", "-tls1_2", "ALL")...); err == nil {
			c.providers = p
		}
	}
	line := regexp.MustCompile(`(?m)^\s*0x([0-9A-Fa-f]{2}),0x([0-9A-Fa-f]{2})\s+-\s+(\S+)`)
	var skipped []string
	for _, ov := range osslVersions {
		if !hasOption(ov.flag) {
			skipped = append(skipped, fmt.Sprintf("%v (s_client has no -%s)", ov.v, ov.flag))
			continue
		}
		args := append([]string{"ciphers"}, c.providers...)
		args = append(args, "-V", "-s", "-"+ov.flag)
		if ov.v == tlsprobe.TLS13 {
			args = append(args, "-ciphersuites", osslTLS13Suites)
		}
		out, err := run(append(args, "ALL:COMPLEMENTOFALL:@SECLEVEL=0")...)
		if err != nil {
			skipped = append(skipped, fmt.Sprintf("%v (openssl ciphers -%s: %v)", ov.v, ov.flag, err))
			continue
		}
		var list []osslSuite
		for _, m := range line.FindAllStringSubmatch(out, -1) {
			b, _ := hex.DecodeString(m[1] + m[2])
			id := uint32(b[0])<<8 | uint32(b[1])
			if (id>>8 == 0x13) != (ov.v == tlsprobe.TLS13) {
				continue
			}
			list = append(list, osslSuite{id, m[3]})
		}
		if len(list) == 0 {
			skipped = append(skipped, fmt.Sprintf("%v (openssl knows no suite for it)", ov.v))
			continue
		}
		c.versions = append(c.versions, ov)
		c.suites[ov.v] = list
	}
	var have []string
	for _, ov := range c.versions {
		have = append(have, fmt.Sprintf("%v (%d suites)", ov.v, len(c.suites[ov.v])))
	}
	t.Logf("%s at %s, providers %v\ncompared: %s\nnot compared: SSLv2 (no SSLv2 client in OpenSSL >= 1.1.0); %s",
		c.version, bin, c.providers, strings.Join(have, ", "), strings.Join(skipped, "; "))
	if len(c.versions) == 0 {
		t.Skip("the local openssl client speaks none of SSLv3 to TLS 1.3")
	}
	return c
}

// sClient runs one `openssl s_client -msg` offering suites for ov and
// returns its combined output. A failed handshake is an expected outcome,
// so the exit status is ignored; only a timeout is an error.
func (c *osslClient) sClient(ctx context.Context, host, addr string, ov osslVersion, suites []osslSuite) (string, error) {
	names := make([]string, len(suites))
	for i, s := range suites {
		names[i] = s.name
	}
	args := []string{"s_client", "-connect", addr, "-servername", host, "-no_ticket", "-msg", "-" + ov.flag}
	args = append(args, c.providers...)
	if ov.v == tlsprobe.TLS13 {
		args = append(args, "-ciphersuites", strings.Join(names, ":"), "-cipher", "ALL:@SECLEVEL=0")
	} else {
		args = append(args, "-cipher", strings.Join(names, ":")+":@SECLEVEL=0")
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, args...) // stdin is /dev/null
	cmd.Env = append(os.Environ(), "OPENSSL_CONF="+c.conf)
	cmd.WaitDelay = time.Second
	out, _ := cmd.CombinedOutput()
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	text := "$ openssl " + strings.Join(args, " ") + "\n" + string(out)
	if ctx.Err() != nil {
		return text, fmt.Errorf("openssl s_client timed out: %w", ctx.Err())
	}
	return text, nil
}

// osslEnumeration is what openssl found for one version.
type osslEnumeration struct {
	// offered are the suite IDs of the first ClientHello that are also in
	// openssl's list for the version.
	offered map[uint32]bool
	// accepted in the order found.
	accepted []uint32
	// stop says why the enumeration ended.
	stop string
	// outputs are the raw outputs of every s_client run.
	outputs []string
	err     error
}

// osslEnumerate finds the suites the server accepts for ov with openssl
// as the client: offer every known suite, take the ServerHello's suite,
// remove it, repeat until the server refuses.
func osslEnumerate(ctx context.Context, c *osslClient, host, addr string, ov osslVersion) osslEnumeration {
	e := osslEnumeration{offered: map[uint32]bool{}}
	known := c.suites[ov.v]
	remaining := slices.Clone(known)
	for first := true; ; first = false {
		if len(remaining) == 0 {
			e.stop = "every suite accepted"
			return e
		}
		out, err := c.sClient(ctx, host, addr, ov, remaining)
		e.outputs = append(e.outputs, out)
		if err != nil {
			e.err = err
			return e
		}
		blocks := osslBlocks(out)
		if first {
			ch, err := osslHandshake(blocks, false, 1, "ClientHello")
			if err == nil && ch == nil {
				err = errors.New("no ClientHello in the -msg output")
			}
			if err != nil {
				e.err = err
				return e
			}
			_, wire, _, err := osslParseHello(ch, false)
			if err != nil {
				e.err = fmt.Errorf("ClientHello: %w", err)
				return e
			}
			for _, s := range known {
				if slices.Contains(wire, s.id) {
					e.offered[s.id] = true
				}
			}
			if len(e.offered) == 0 {
				e.err = fmt.Errorf("the ClientHello offered none of the %d suites listed (wire: %04x)", len(known), wire)
				return e
			}
		}
		sh, err := osslHandshake(blocks, true, 2, "ServerHello")
		if err != nil {
			e.err = err
			return e
		}
		if sh == nil {
			e.stop = "no ServerHello"
			return e
		}
		v, _, suite, err := osslParseHello(sh, true)
		if err != nil {
			e.err = fmt.Errorf("ServerHello: %w", err)
			return e
		}
		if tlsprobe.Version(v) != ov.v {
			e.stop = fmt.Sprintf("ServerHello for %v", tlsprobe.Version(v))
			return e
		}
		i := slices.IndexFunc(remaining, func(s osslSuite) bool { return s.id == suite })
		if i < 0 {
			e.err = fmt.Errorf("the server chose suite 0x%04x, which was not offered", suite)
			return e
		}
		e.accepted = append(e.accepted, suite)
		remaining = slices.Delete(remaining, i, i+1)
	}
}

// osslBlock is one message that `s_client -msg` printed: a header line
// ("<<< TLS 1.2, Handshake [length 0051], ServerHello"; the layout differs
// between OpenSSL versions) and the hex dump below it.
type osslBlock struct {
	received bool
	header   string
	data     []byte
}

var osslHexLine = regexp.MustCompile(`^\s+[0-9A-Fa-f]{2}(\s+[0-9A-Fa-f]{2})*\s*$`)

// osslBlocks splits -msg output into messages.
func osslBlocks(out string) []osslBlock {
	var blocks []osslBlock
	cur := -1
	for line := range strings.Lines(out) {
		line = strings.TrimRight(line, "\r\n")
		switch {
		case strings.HasPrefix(line, "<<<") || strings.HasPrefix(line, ">>>"):
			blocks = append(blocks, osslBlock{received: line[0] == '<', header: line})
			cur = len(blocks) - 1
		case cur >= 0 && osslHexLine.MatchString(line):
			b, err := hex.DecodeString(strings.Join(strings.Fields(line), ""))
			if err != nil {
				cur = -1
				continue
			}
			blocks[cur].data = append(blocks[cur].data, b...)
		default:
			cur = -1
		}
	}
	return blocks
}

// osslHandshake returns the first handshake message of type typ sent in
// the given direction: a dump that is one whole message of that type
// (record headers, alerts and change_cipher_spec never are). A dump whose
// header names the message but that is not one is an error.
func osslHandshake(blocks []osslBlock, received bool, typ byte, name string) ([]byte, error) {
	for _, b := range blocks {
		if b.received != received {
			continue
		}
		d := b.data
		whole := len(d) >= 4 && d[0] == typ && 4+(int(d[1])<<16|int(d[2])<<8|int(d[3])) == len(d)
		if whole && !strings.Contains(b.header, "Alert") && !strings.Contains(b.header, "RecordHeader") {
			return d, nil
		}
		if strings.HasSuffix(strings.TrimSpace(b.header), name) {
			return nil, fmt.Errorf("cannot read the %s dump % x (header %q)", name, d, b.header)
		}
	}
	return nil, nil
}

// osslParseHello reads a ClientHello's suites or a ServerHello's version
// (supported_versions if present) and suite from a whole handshake
// message.
func osslParseHello(msg []byte, server bool) (version uint16, suites []uint32, suite uint32, err error) {
	s := cryptobyte.String(msg[4:])
	var sid cryptobyte.String
	if !s.ReadUint16(&version) || !s.Skip(32) || !s.ReadUint8LengthPrefixed(&sid) {
		return 0, nil, 0, fmt.Errorf("truncated hello % x", msg)
	}
	if !server {
		var list cryptobyte.String
		if !s.ReadUint16LengthPrefixed(&list) {
			return 0, nil, 0, fmt.Errorf("truncated ClientHello suites % x", msg)
		}
		for !list.Empty() {
			var id uint16
			if !list.ReadUint16(&id) {
				return 0, nil, 0, fmt.Errorf("odd ClientHello suite list % x", msg)
			}
			suites = append(suites, uint32(id))
		}
		return version, suites, 0, nil
	}
	var id uint16
	var comp uint8
	if !s.ReadUint16(&id) || !s.ReadUint8(&comp) {
		return 0, nil, 0, fmt.Errorf("truncated ServerHello % x", msg)
	}
	if s.Empty() {
		return version, nil, uint32(id), nil
	}
	var exts cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&exts) {
		return 0, nil, 0, fmt.Errorf("bad ServerHello extensions % x", msg)
	}
	for !exts.Empty() {
		var typ uint16
		var body cryptobyte.String
		if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&body) {
			return 0, nil, 0, fmt.Errorf("bad ServerHello extension % x", msg)
		}
		var v uint16
		if typ == 0x002b && body.ReadUint16(&v) && body.Empty() {
			version = v
		}
	}
	return version, nil, uint32(id), nil
}

// osslCell is the outcome of one scenario and version.
type osslCell struct {
	agreed    int
	diff, err bool
}

// osslCompare enumerates ov with openssl and compares the result with the
// probe's, restricted to the suites openssl offered.
func osslCompare(t *testing.T, ctx context.Context, c *osslClient, host, addr string, ov osslVersion, r tlsprobe.Result) osslCell {
	t.Helper()
	e := osslEnumerate(ctx, c, host, addr, ov)
	if e.err != nil {
		t.Errorf("%s %v: openssl enumeration failed: %v\n%s", host, ov.v, e.err, osslTail(e.outputs))
		return osslCell{err: true}
	}
	if r.Last.Kind == tlsprobe.ConnectFailed || r.Last.Kind == tlsprobe.Timeout || r.Last.Kind == tlsprobe.Garbage {
		t.Errorf("%s %v: probe ended with %v: %v", host, ov.v, r.Last.Kind, r.Last.Err)
		return osslCell{err: true}
	}

	var probe, outside []uint32
	for _, s := range r.Accepted {
		if e.offered[s.ID] {
			probe = append(probe, s.ID)
		} else {
			outside = append(outside, s.ID)
		}
	}
	name := func(id uint32) string {
		if s, ok := tlsprobe.Lookup(ov.v, id); ok {
			return s.IANA
		}
		return fmt.Sprintf("0x%04x (not a tlsprobe candidate)", id)
	}
	var onlyProbe, onlyOpenSSL []string
	for _, id := range probe {
		if !slices.Contains(e.accepted, id) {
			onlyProbe = append(onlyProbe, name(id))
		}
	}
	for _, id := range e.accepted {
		if !slices.Contains(probe, id) {
			onlyOpenSSL = append(onlyOpenSSL, name(id))
		}
	}
	cell := osslCell{agreed: len(e.accepted) - len(onlyOpenSSL)}
	if (len(probe) > 0) != (len(e.accepted) > 0) {
		cell.diff = true
		t.Errorf("%s %v: protocol support differs: tlsprobe accepted=%v (%d suites, last answer %v alert %d), openssl accepted=%v (%s)",
			host, ov.v, len(probe) > 0, len(probe), r.Last.Kind, r.Last.Alert, len(e.accepted) > 0, e.stop)
	}
	if len(onlyProbe) > 0 || len(onlyOpenSSL) > 0 {
		cell.diff = true
		t.Errorf("%s %v: suite lists differ among the %d suites openssl offered\n  only tlsprobe: %v\n  only openssl:  %v\nopenssl output:\n%s",
			host, ov.v, len(e.offered), onlyProbe, onlyOpenSSL, osslTail(e.outputs))
	}
	names := func(ids []uint32) []string {
		var out []string
		for _, id := range ids {
			out = append(out, name(id))
		}
		return out
	}
	t.Logf("%s %v: openssl offered %d suites and found %v (stopped on %q after %d runs); tlsprobe found %d of them; tlsprobe also accepted %v, which openssl cannot offer",
		host, ov.v, len(e.offered), names(e.accepted), e.stop, len(e.outputs), len(probe), names(outside))
	return cell
}

// osslTail is the first and the last openssl output, shortened.
func osslTail(outputs []string) string {
	cut := func(s string) string {
		if len(s) > 6000 {
			return s[:6000] + "\n[... cut]"
		}
		return s
	}
	switch len(outputs) {
	case 0:
		return "(no output)"
	case 1:
		return cut(outputs[0])
	}
	return cut(outputs[0]) + "\n[... " + strconv.Itoa(len(outputs)-2) + " runs left out ...]\n" + cut(outputs[len(outputs)-1])
}
