// Command domain-scan scans lists of domains for web and mail security
// hygiene. See README.md.
//
// Certificates with negative serial numbers are malformed but exist; a
// scanner must still see them (crypto/tls refuses them by default).
//
//go:debug x509negativeserial=1
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"syscall"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/spf13/cobra"

	"github.com/domainscan/domain-scan/internal/asyncrun"
	"github.com/domainscan/domain-scan/internal/awslambda"
	"github.com/domainscan/domain-scan/internal/scanners/all"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// Exit codes.
const (
	exitOK          = 0
	exitFailed      = 1   // the run could not be done
	exitUsage       = 2   // bad command line
	exitInterrupted = 130 // stopped by SIGINT (128+2; SIGTERM gives 143); results so far are written
)

func main() {
	// The same binary is the Lambda bootstrap: the runtime sets this.
	if os.Getenv("AWS_LAMBDA_RUNTIME_API") != "" {
		serveLambda()
		return
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// serveLambda serves every Lambda-capable scanner; logs go to stderr,
// which the runtime sends to CloudWatch.
func serveLambda() {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	h := awslambda.NewHandler(all.Scanners, version, log)
	h.Coordinator = func(ctx context.Context, req awslambda.Request) error {
		return asyncrun.Coordinate(ctx, req, all.Scanners, log)
	}
	lambda.Start(h.Handle)
}

// usageError is a command-line mistake: exit 2 and a hint.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// interruptedError ends a run that a signal stopped after writing its
// results. The exit code is the shell's 128 + signal number.
type interruptedError struct{ sig os.Signal }

func (e interruptedError) Error() string { return "interrupted by " + e.sig.String() }

func (e interruptedError) code() int {
	if s, ok := e.sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return exitInterrupted
}

func run(args []string, stdout, stderr io.Writer) int {
	root := newRoot(commandLine(args), stdout, stderr)
	root.SetArgs(args)
	cmd, err := root.ExecuteC()
	if err == nil {
		return exitOK
	}
	var ue usageError
	var ie interruptedError
	switch {
	case errors.As(err, &ie):
		fmt.Fprintf(stderr, "Interrupted by %s: results so far are written; run again with --cache to resume.\n", ie.sig)
		return ie.code()
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "Error: %v\nTry: %s --help\n", err, cmd.CommandPath())
		return exitUsage
	default:
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return exitFailed
	}
}

// commandLine is the run's command as meta.json records it.
func commandLine(args []string) string {
	return strings.Join(append([]string{"domain-scan"}, args...), " ")
}

func newRoot(command string, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "domain-scan",
		Short: "Scan domains for HTTPS, TLS and email security hygiene",
		Long: `domain-scan scans lists of domains for web and mail security hygiene, locally
with a worker pool or fanned out to AWS Lambda (scan --lambda). It is a
drop-in replacement for 18F's Python domain-scan: same commands, flags, CSV
headers, cache layout and meta.json. Try it offline: domain-scan demo.`,
		SilenceErrors: true,
		SilenceUsage:  true,
		Version:       version,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newScanCmd(command, stderr), newScannersCmd(stdout), newLabCmd(stdout, stderr), newDemoCmd(stdout, stderr), newLambdaCmd(stdout, stderr), newCollectCmd(stderr))
	return root
}
