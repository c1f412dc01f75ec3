package tlsprobe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// Defaults for zero Config fields.
const (
	DefaultTimeout     = 5 * time.Second
	DefaultConcurrency = 5
)

// Config says how to reach a server and how hard to try.
type Config struct {
	// ServerName is sent as SNI (never for IP literals, SSLv2 or SSLv3).
	ServerName string
	// Dial opens a new connection ready for the ClientHello; for STARTTLS
	// targets it does the plain-text dialogue first (see SMTPDialer).
	Dial func(ctx context.Context) (net.Conn, error)
	// Timeout bounds one exchange: connect (and STARTTLS), hello, answer.
	// Default DefaultTimeout.
	Timeout time.Duration
	// Concurrency bounds the connections ProbeAll has open at once
	// (Enumerate uses one at a time). Default DefaultConcurrency.
	Concurrency int
	// WantCertificates makes Hello read the certificate message after a
	// TLS <= 1.2 ServerHello (and keep the SSLv2 server certificate).
	WantCertificates bool
	// Retries is how many more times an exchange is tried after it ended in
	// ConnectFailed, Closed or Timeout, for servers that drop connections
	// under load. Default 0: servers that refuse a hello by hanging up
	// would otherwise cost extra connections per refusal.
	Retries int
}

func (c *Config) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}

func (c *Config) concurrency() int {
	if c.Concurrency > 0 {
		return c.Concurrency
	}
	return DefaultConcurrency
}

var errNoDial = errors.New("tlsprobe: Config.Dial is nil")

// Hello sends one ClientHello of version v offering suites, in that order,
// on a new connection and classifies the answer. It reads at most 256 KiB,
// stopping after the ServerHello, or with cfg.WantCertificates and v <= TLS
// 1.2 after the Certificate or ServerHelloDone message. It never takes
// longer than cfg.Timeout, or than ctx allows, per attempt.
func Hello(ctx context.Context, cfg Config, v Version, suites []uint32) Answer {
	a, _ := hello(ctx, &cfg, v, suites)
	return a
}

// hello is Hello that also returns the number of connections tried.
func hello(ctx context.Context, cfg *Config, v Version, suites []uint32) (Answer, int) {
	msg, err := buildHello(v, suites, cfg.ServerName)
	if err != nil {
		return Answer{Err: err}, 0
	}
	var a Answer
	tries := 0
	for tries <= max(cfg.Retries, 0) {
		a = exchange(ctx, cfg, v, msg, suites)
		tries++
		if !retriable(a.Kind) || ctx.Err() != nil {
			break
		}
	}
	return a, tries
}

func retriable(k Kind) bool { return k == ConnectFailed || k == Closed || k == Timeout }

// exchange does one connection: dial, send msg, read the answer.
func exchange(ctx context.Context, cfg *Config, v Version, msg []byte, offered []uint32) Answer {
	if cfg.Dial == nil {
		return Answer{Kind: ConnectFailed, Err: errNoDial}
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout())
	defer cancel()
	conn, err := cfg.Dial(ctx)
	if err == nil && conn == nil {
		err = errors.New("dial returned no connection")
	}
	if err != nil {
		return Answer{Kind: ConnectFailed, Err: fmt.Errorf("tlsprobe: connecting: %w", err)}
	}
	defer conn.Close()
	// The deadline bounds every read and write; cancelling ctx moves it to
	// the past, which unblocks them at once.
	deadline, _ := ctx.Deadline()
	if err := conn.SetDeadline(deadline); err != nil {
		return Answer{Kind: ConnectFailed, Err: fmt.Errorf("tlsprobe: setting deadline: %w", err)}
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	if _, werr := conn.Write(msg); werr != nil {
		// A server may have answered and hung up before reading it all.
		if a := readAnswer(conn, v, offered, cfg.WantCertificates); a.Kind == ServerHello || a.Kind == Alert {
			return a
		}
		kind := Closed
		if isTimeout(werr) {
			kind = Timeout
		}
		return Answer{Kind: kind, Err: fmt.Errorf("tlsprobe: sending the ClientHello: %w", werr)}
	}
	a := readAnswer(conn, v, offered, cfg.WantCertificates)
	if a.Kind == Timeout && errors.Is(ctx.Err(), context.Canceled) {
		a.Err = fmt.Errorf("tlsprobe: cancelled: %w", a.Err)
	}
	return a
}
