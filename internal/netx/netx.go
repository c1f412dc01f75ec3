// Package netx is the one place where scanners resolve names and open
// connections, so that --dns (resolvers to ask instead of the system's) and
// --port-map (destination ports to rewrite) apply to every scanner alike.
// Pointing a scan at the offline lab is only these two flags (and --ca_file).
package netx

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ParseResolvers parses the --dns list: IPs as in the original ("8.8.8.8"),
// or IP:port, IPv6 in brackets when a port is given ("[::1]:5353"). It
// returns host:port strings, port 53 by default.
func ParseResolvers(s string) ([]string, error) {
	var out []string
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if ip, err := netip.ParseAddr(item); err == nil {
			out = append(out, netip.AddrPortFrom(ip, 53).String())
			continue
		}
		ap, err := netip.ParseAddrPort(item)
		if err != nil {
			return nil, fmt.Errorf("--dns: %q is not an IP address or IP:port (IPv6 with a port as [::1]:53)", item)
		}
		if ap.Port() == 0 {
			return nil, fmt.Errorf("--dns: %q has port 0", item)
		}
		out = append(out, ap.String())
	}
	if len(out) == 0 && strings.TrimSpace(s) != "" {
		return nil, errors.New("--dns: no resolver address given")
	}
	return out, nil
}

// PortMap rewrites destination ports: 80=8080 sends what would go to port
// 80 to port 8080 of the same address.
type PortMap map[int]int

// ParsePortMap parses "80=8080,443=8443".
func ParsePortMap(s string) (PortMap, error) {
	m := PortMap{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		from, to, ok := strings.Cut(item, "=")
		f, err1 := strconv.Atoi(strings.TrimSpace(from))
		t, err2 := strconv.Atoi(strings.TrimSpace(to))
		if !ok || err1 != nil || err2 != nil || f < 1 || f > 65535 || t < 1 || t > 65535 {
			return nil, fmt.Errorf("--port-map: %q is not PORT=PORT (e.g. 443=8443)", item)
		}
		if _, dup := m[f]; dup {
			return nil, fmt.Errorf("--port-map: port %d mapped twice", f)
		}
		m[f] = t
	}
	return m, nil
}

// String gives the stable "80=8080,443=8443" form.
func (m PortMap) String() string {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d=%d", k, m[k])
	}
	return strings.Join(parts, ",")
}

// Map returns the port to dial for port p.
func (m PortMap) Map(p int) int {
	if to, ok := m[p]; ok {
		return to
	}
	return p
}

// Network resolves and dials for scanners. The zero value uses the system
// resolver and no port map. It is safe for concurrent use.
type Network struct {
	// Resolvers are host:port addresses to ask instead of the system's.
	Resolvers []string
	// PortMap rewrites destination ports.
	PortMap PortMap
	// DNSTimeout bounds one DNS exchange; 0 means 5 s.
	DNSTimeout time.Duration

	next     atomic.Uint32
	once     sync.Once
	resolver *net.Resolver

	// A short cache of address lookups: one scan dials the same host
	// several times within seconds, as a caching resolver would answer.
	cacheMu sync.Mutex
	cache   map[string]cachedAddrs
}

type cachedAddrs struct {
	addrs   []netip.Addr
	err     error
	expires time.Time
}

// addrCacheTTL and addrCacheMax bound the lookup cache.
const (
	addrCacheTTL = 30 * time.Second
	addrCacheMax = 50000
)

// New returns a Network for the given --dns and --port-map values.
func New(dns, portMap string) (*Network, error) {
	rs, err := ParseResolvers(dns)
	if err != nil {
		return nil, err
	}
	pm, err := ParsePortMap(portMap)
	if err != nil {
		return nil, err
	}
	return &Network{Resolvers: rs, PortMap: pm}, nil
}

// DNSServers returns the --dns resolvers (host:port), or nil when the
// system's are used. Scanners that speak DNS themselves (trustymail) ask
// these servers directly.
func (n *Network) DNSServers() []string { return n.Resolvers }

// Resolver returns the resolver scanners use for address lookups. With
// Resolvers set, every query goes to them (rotating on each new
// connection), over UDP or TCP as the stub resolver decides.
func (n *Network) Resolver() *net.Resolver {
	if len(n.Resolvers) == 0 {
		return net.DefaultResolver
	}
	n.once.Do(func() {
		timeout := n.DNSTimeout
		if timeout <= 0 {
			timeout = 5 * time.Second
		}
		n.resolver = &net.Resolver{
			PreferGo: true,
			Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
				addr := n.Resolvers[int(n.next.Add(1))%len(n.Resolvers)]
				d := net.Dialer{Timeout: timeout}
				return d.DialContext(ctx, network, addr)
			},
		}
	})
	return n.resolver
}

// DialContext connects to addr ("host:port"), resolving host through the
// configured resolvers and rewriting the port through the port map. It
// tries each address of the host in turn, IPv4 first, within ctx.
func (n *Network) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		p, perr := net.DefaultResolver.LookupPort(ctx, network, portStr)
		if perr != nil {
			return nil, fmt.Errorf("dial %s: bad port: %w", addr, perr)
		}
		port = p
	}
	port = n.PortMap.Map(port)
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{ip}
	} else {
		ips, err = n.LookupAddrs(ctx, host)
		if err != nil {
			return nil, err
		}
	}
	var d net.Dialer
	var firstErr error
	for _, ip := range ips {
		if (network == "tcp4" && !ip.Is4()) || (network == "tcp6" && !ip.Is6()) {
			continue
		}
		c, err := d.DialContext(ctx, network, netip.AddrPortFrom(ip, uint16(port)).String())
		if err == nil {
			return c, nil
		}
		if firstErr == nil {
			firstErr = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	if firstErr == nil {
		firstErr = fmt.Errorf("dial %s: no %s address for %s", addr, network, host)
	}
	return nil, firstErr
}

// LookupAddrs resolves host to its addresses, IPv4 first. Answers (and
// "no such host") are cached for 30 seconds; other failures are not.
func (n *Network) LookupAddrs(ctx context.Context, host string) ([]netip.Addr, error) {
	key := strings.ToLower(host)
	now := time.Now()
	n.cacheMu.Lock()
	if c, ok := n.cache[key]; ok && now.Before(c.expires) {
		n.cacheMu.Unlock()
		return c.addrs, c.err
	}
	n.cacheMu.Unlock()
	addrs, err := n.lookup(ctx, host)
	var de *net.DNSError
	if err == nil || (errors.As(err, &de) && de.IsNotFound) {
		n.cacheMu.Lock()
		if n.cache == nil || len(n.cache) >= addrCacheMax {
			n.cache = map[string]cachedAddrs{} // simple and bounded: start over
		}
		n.cache[key] = cachedAddrs{addrs: addrs, err: err, expires: now.Add(addrCacheTTL)}
		n.cacheMu.Unlock()
	}
	return addrs, err
}

func (n *Network) lookup(ctx context.Context, host string) ([]netip.Addr, error) {
	name := host
	if len(n.Resolvers) > 0 && !strings.HasSuffix(name, ".") {
		// Absolute, so that resolv.conf search domains add no queries.
		name += "."
	}
	addrs, err := n.Resolver().LookupNetIP(ctx, "ip", name)
	if err != nil {
		return nil, err
	}
	sort.SliceStable(addrs, func(i, j int) bool { return addrs[i].Unmap().Is4() && !addrs[j].Unmap().Is4() })
	for i := range addrs {
		addrs[i] = addrs[i].Unmap()
	}
	return addrs, nil
}
