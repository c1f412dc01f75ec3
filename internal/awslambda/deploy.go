package awslambda

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/domainscan/domain-scan/internal/scan"
)

// Function defaults for scanners whose Info leaves them at zero.
const (
	DefaultFunctionTimeout  = 60 * time.Second
	DefaultFunctionMemoryMB = 256
)

// deployModulePath is the module whose ./cmd/domain-scan becomes bootstrap.
const deployModulePath = "github.com/domainscan/domain-scan"

// maxZipUpload is Lambda's limit for a zip sent inline (ZipFile) rather
// than through S3.
const maxZipUpload = 50 << 20

// LambdaAPI is the part of the Lambda client that deploying uses. GetFunction
// is what the SDK's waiters poll.
type LambdaAPI interface {
	CreateFunction(context.Context, *lambda.CreateFunctionInput, ...func(*lambda.Options)) (*lambda.CreateFunctionOutput, error)
	UpdateFunctionCode(context.Context, *lambda.UpdateFunctionCodeInput, ...func(*lambda.Options)) (*lambda.UpdateFunctionCodeOutput, error)
	UpdateFunctionConfiguration(context.Context, *lambda.UpdateFunctionConfigurationInput, ...func(*lambda.Options)) (*lambda.UpdateFunctionConfigurationOutput, error)
	GetFunction(context.Context, *lambda.GetFunctionInput, ...func(*lambda.Options)) (*lambda.GetFunctionOutput, error)
	PutFunctionConcurrency(context.Context, *lambda.PutFunctionConcurrencyInput, ...func(*lambda.Options)) (*lambda.PutFunctionConcurrencyOutput, error)
	PutFunctionEventInvokeConfig(context.Context, *lambda.PutFunctionEventInvokeConfigInput, ...func(*lambda.Options)) (*lambda.PutFunctionEventInvokeConfigOutput, error)
}

var _ LambdaAPI = (*lambda.Client)(nil)

// NewDeployClient loads the standard AWS configuration (environment, shared
// files, optional profile). Endpoint overrides come from the standard
// AWS_ENDPOINT_URL_LAMBDA, and AWS_CA_BUNDLE works because the SDK's own
// buildable HTTP client is left in place: the SDK refuses to add the bundle
// to a client it did not build.
func NewDeployClient(ctx context.Context, profile string) (*lambda.Client, error) {
	cfg, err := loadConfig(ctx, profile)
	if err != nil {
		return nil, err
	}
	return lambda.NewFromConfig(cfg), nil
}

// FunctionSpec is what one scanner's function should look like.
type FunctionSpec struct {
	Name     string
	Arch     string // GOARCH: "arm64" or "amd64"
	Role     string // execution role ARN; needed to create, optional to update
	Timeout  time.Duration
	MemoryMB int
	// Concurrency, when positive, is the function's reserved concurrency:
	// the pool size of asynchronous runs (--async), and a cap that keeps
	// the function from taking the account's whole concurrency.
	Concurrency int
	// OnFailure, when set, is the ARN of an S3 bucket or SQS queue that
	// receives asynchronous events that failed after Lambda's retries.
	OnFailure string
}

// NewFunctionSpec derives a scanner's function from its Info. The name
// template's "{scanner}" is replaced by the scanner's name, as in
// --lambda-function.
func NewFunctionSpec(info scan.Info, nameTemplate, arch, role string) FunctionSpec {
	fn := FunctionSpec{
		Name:     strings.ReplaceAll(nameTemplate, "{scanner}", info.Name),
		Arch:     arch,
		Role:     role,
		Timeout:  info.LambdaTimeout,
		MemoryMB: info.LambdaMemoryMB,
	}
	if fn.Timeout <= 0 {
		fn.Timeout = DefaultFunctionTimeout
	}
	if fn.MemoryMB <= 0 {
		fn.MemoryMB = DefaultFunctionMemoryMB
	}
	return fn
}

var validFunctionName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Validate checks the spec against Lambda's limits, so that a mistake is
// reported before anything is built or uploaded.
func (fn FunctionSpec) Validate() error {
	if !validFunctionName.MatchString(fn.Name) {
		return fmt.Errorf("function name %q: must be 1-64 characters of A-Z, a-z, 0-9, '_' or '-'", fn.Name)
	}
	if _, err := LambdaArchitecture(fn.Arch); err != nil {
		return err
	}
	if s := fn.timeoutSeconds(); s < 1 || s > 900 {
		return fmt.Errorf("function %s: timeout %v is outside Lambda's 1 s to 15 min", fn.Name, fn.Timeout)
	}
	if fn.MemoryMB < 128 || fn.MemoryMB > 10240 {
		return fmt.Errorf("function %s: memory %d MB is outside Lambda's 128 to 10240 MB", fn.Name, fn.MemoryMB)
	}
	return nil
}

// timeoutSeconds rounds up: Lambda takes whole seconds, and cutting a
// scanner's time short would turn slow scans into timeouts.
func (fn FunctionSpec) timeoutSeconds() int64 {
	return int64(math.Ceil(fn.Timeout.Seconds()))
}

// LambdaArchitecture maps a GOARCH to Lambda's name for it.
func LambdaArchitecture(goarch string) (types.Architecture, error) {
	switch goarch {
	case "arm64":
		return types.ArchitectureArm64, nil
	case "amd64", "x86_64":
		return types.ArchitectureX8664, nil
	}
	return "", fmt.Errorf("architecture %q: Lambda runs arm64 or amd64", goarch)
}

// Deployer creates and updates scanner functions.
type Deployer struct {
	Client LambdaAPI
	// MaxWait bounds each wait for a function to become active or to finish
	// an update (default 5 minutes).
	MaxWait time.Duration
	// MinDelay is the waiters' first delay between polls (default 1 s).
	MinDelay time.Duration
}

// Deploy uploads zip as fn's code. With create it makes a new function;
// otherwise it updates the code and then the configuration, which the
// original's deploy script left alone (so changed timeouts never reached
// existing functions). It returns a one-line summary of the function as
// Lambda reports it.
func (d *Deployer) Deploy(ctx context.Context, fn FunctionSpec, zip []byte, create bool) (string, error) {
	if err := fn.Validate(); err != nil {
		return "", err
	}
	if len(zip) > maxZipUpload {
		return "", fmt.Errorf("function %s: the zip is %d bytes, over Lambda's %d for a direct upload", fn.Name, len(zip), maxZipUpload)
	}
	arch, _ := LambdaArchitecture(fn.Arch)
	secs, mem := int32(fn.timeoutSeconds()), int32(fn.MemoryMB)
	if create {
		if fn.Role == "" {
			return "", fmt.Errorf("function %s: creating it needs an execution role ARN", fn.Name)
		}
		_, err := d.Client.CreateFunction(ctx, &lambda.CreateFunctionInput{
			FunctionName:  aws.String(fn.Name),
			Role:          aws.String(fn.Role),
			Runtime:       types.RuntimeProvidedal2023,
			Handler:       aws.String(bootstrapHandler),
			PackageType:   types.PackageTypeZip,
			Architectures: []types.Architecture{arch},
			Timeout:       aws.Int32(secs),
			MemorySize:    aws.Int32(mem),
			Code:          &types.FunctionCode{ZipFile: zip},
		})
		if err != nil {
			var exists *types.ResourceConflictException
			if errors.As(err, &exists) {
				return "", fmt.Errorf("function %s already exists (deploy without --create to update it): %w", fn.Name, err)
			}
			return "", fmt.Errorf("create function %s: %w", fn.Name, err)
		}
		out, err := d.waitActive(ctx, fn.Name)
		if err != nil {
			return "", err
		}
		if err := d.asyncSettings(ctx, fn); err != nil {
			return "", err
		}
		return summary(fn.Name, "created", out.Configuration), nil
	}

	_, err := d.Client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{
		FunctionName:  aws.String(fn.Name),
		ZipFile:       zip,
		Architectures: []types.Architecture{arch},
	})
	if err != nil {
		var missing *types.ResourceNotFoundException
		if errors.As(err, &missing) {
			return "", fmt.Errorf("function %s does not exist (deploy with --create to make it): %w", fn.Name, err)
		}
		return "", fmt.Errorf("update code of %s: %w", fn.Name, err)
	}
	// Lambda refuses a configuration change while the code update is in
	// progress, hence the wait in between.
	if _, err := d.waitUpdated(ctx, fn.Name); err != nil {
		return "", err
	}
	in := &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String(fn.Name),
		Runtime:      types.RuntimeProvidedal2023,
		Handler:      aws.String(bootstrapHandler),
		Timeout:      aws.Int32(secs),
		MemorySize:   aws.Int32(mem),
	}
	if fn.Role != "" {
		in.Role = aws.String(fn.Role)
	}
	if _, err := d.Client.UpdateFunctionConfiguration(ctx, in); err != nil {
		return "", fmt.Errorf("update configuration of %s: %w", fn.Name, err)
	}
	out, err := d.waitUpdated(ctx, fn.Name)
	if err != nil {
		return "", err
	}
	if err := d.asyncSettings(ctx, fn); err != nil {
		return "", err
	}
	return summary(fn.Name, "updated", out.Configuration), nil
}

// asyncSettings sets the reserved concurrency and the on-failure
// destination of asynchronous invocations, when asked for.
func (d *Deployer) asyncSettings(ctx context.Context, fn FunctionSpec) error {
	if fn.Concurrency > 0 {
		_, err := d.Client.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{
			FunctionName: aws.String(fn.Name), ReservedConcurrentExecutions: aws.Int32(int32(fn.Concurrency))})
		if err != nil {
			return fmt.Errorf("set reserved concurrency of %s: %w", fn.Name, err)
		}
	}
	if fn.OnFailure != "" {
		_, err := d.Client.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{
			FunctionName:         aws.String(fn.Name),
			MaximumRetryAttempts: aws.Int32(2),
			DestinationConfig:    &types.DestinationConfig{OnFailure: &types.OnFailure{Destination: aws.String(fn.OnFailure)}},
		})
		if err != nil {
			return fmt.Errorf("set the on-failure destination of %s: %w", fn.Name, err)
		}
	}
	return nil
}

// Configure sets only fn's timeout and memory (and role when given), the
// original's TODO "scripts for adjusting timeouts".
func (d *Deployer) Configure(ctx context.Context, fn FunctionSpec) (string, error) {
	if err := validateConfig(fn); err != nil {
		return "", err
	}
	in := &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String(fn.Name),
		Timeout:      aws.Int32(int32(fn.timeoutSeconds())),
		MemorySize:   aws.Int32(int32(fn.MemoryMB)),
	}
	if fn.Role != "" {
		in.Role = aws.String(fn.Role)
	}
	if _, err := d.Client.UpdateFunctionConfiguration(ctx, in); err != nil {
		var missing *types.ResourceNotFoundException
		if errors.As(err, &missing) {
			return "", fmt.Errorf("function %s does not exist (create it with `lambda deploy --create`): %w", fn.Name, err)
		}
		return "", fmt.Errorf("update configuration of %s: %w", fn.Name, err)
	}
	out, err := d.waitUpdated(ctx, fn.Name)
	if err != nil {
		return "", err
	}
	return summary(fn.Name, "configured", out.Configuration), nil
}

// validateConfig is Validate without the architecture, which configuring
// does not touch.
func validateConfig(fn FunctionSpec) error {
	fn.Arch = "arm64"
	return fn.Validate()
}

// bootstrapHandler is informational for provided.* runtimes, which always
// run the file named bootstrap; the original's was lambda_handler.handler.
const bootstrapHandler = "bootstrap"

func (d *Deployer) waiterDelays() (minDelay, maxDelay, maxWait time.Duration) {
	minDelay, maxWait = d.MinDelay, d.MaxWait
	if minDelay <= 0 {
		minDelay = time.Second
	}
	if maxWait <= 0 {
		maxWait = 5 * time.Minute
	}
	// Deployments settle in seconds to a minute; polling at most every 10 s
	// keeps the command from idling long after the function is ready.
	return minDelay, max(minDelay, 10*time.Second), maxWait
}

func (d *Deployer) waitActive(ctx context.Context, name string) (*lambda.GetFunctionOutput, error) {
	minDelay, maxDelay, maxWait := d.waiterDelays()
	w := lambda.NewFunctionActiveV2Waiter(d.Client, func(o *lambda.FunctionActiveV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = minDelay, maxDelay
		o.Retryable = activeRetryable
	})
	out, err := w.WaitForOutput(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)}, maxWait)
	if err != nil {
		return nil, fmt.Errorf("waiting for %s to become active: %w", name, err)
	}
	return out, nil
}

func (d *Deployer) waitUpdated(ctx context.Context, name string) (*lambda.GetFunctionOutput, error) {
	minDelay, maxDelay, maxWait := d.waiterDelays()
	w := lambda.NewFunctionUpdatedV2Waiter(d.Client, func(o *lambda.FunctionUpdatedV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = minDelay, maxDelay
		o.Retryable = updatedRetryable
	})
	out, err := w.WaitForOutput(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)}, maxWait)
	if err != nil {
		return nil, fmt.Errorf("waiting for the update of %s: %w", name, err)
	}
	return out, nil
}

// activeRetryable is the SDK waiter's rule (Active: done; Failed: error;
// otherwise poll again), but a failure says why, which the SDK's does not.
func activeRetryable(_ context.Context, _ *lambda.GetFunctionInput, out *lambda.GetFunctionOutput, err error) (bool, error) {
	if err != nil {
		return false, err
	}
	if out == nil || out.Configuration == nil {
		return true, nil
	}
	c := out.Configuration
	switch c.State {
	case types.StateActive:
		return false, nil
	case types.StateFailed:
		return false, fmt.Errorf("function state Failed (%s): %s", c.StateReasonCode, aws.ToString(c.StateReason))
	}
	return true, nil
}

// updatedRetryable is the same for LastUpdateStatus.
func updatedRetryable(_ context.Context, _ *lambda.GetFunctionInput, out *lambda.GetFunctionOutput, err error) (bool, error) {
	if err != nil {
		return false, err
	}
	if out == nil || out.Configuration == nil {
		return true, nil
	}
	c := out.Configuration
	switch c.LastUpdateStatus {
	case types.LastUpdateStatusSuccessful:
		return false, nil
	case types.LastUpdateStatusFailed:
		return false, fmt.Errorf("update Failed (%s): %s", c.LastUpdateStatusReasonCode, aws.ToString(c.LastUpdateStatusReason))
	}
	return true, nil
}

// summary is the line printed per function, e.g.
// "task_pshtt: created (arm64, 512 MB, 300 s)".
func summary(name, verb string, c *types.FunctionConfiguration) string {
	if c == nil {
		return name + ": " + verb
	}
	arch := "?"
	if len(c.Architectures) > 0 {
		arch = string(c.Architectures[0])
	}
	return fmt.Sprintf("%s: %s (%s, %d MB, %d s)", name, verb, arch,
		aws.ToInt32(c.MemorySize), aws.ToInt32(c.Timeout))
}

// BuildBootstrap cross-compiles srcDir's ./cmd/domain-scan for Lambda and
// returns the binary. The lambda.norpc tag drops aws-lambda-go's legacy RPC
// mode, which provided.* runtimes never use; CGO_ENABLED=0 makes it static,
// as provided.al2023 has no guarantee of a matching libc.
func BuildBootstrap(ctx context.Context, srcDir, arch, version string) ([]byte, error) {
	if _, err := LambdaArchitecture(arch); err != nil {
		return nil, err
	}
	if arch == "x86_64" {
		arch = "amd64"
	}
	if version == "" {
		version = "dev"
	}
	// -ldflags is split on spaces and quotes; refuse rather than mangle.
	if strings.ContainsAny(version, " \t\r\n'\"") {
		return nil, fmt.Errorf("version %q: must not contain spaces or quotes", version)
	}
	tmp, err := os.MkdirTemp("", "domain-scan-bootstrap-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "bootstrap")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-tags", "lambda.norpc",
		"-ldflags", "-s -w -X main.version="+version, "-o", out, "./cmd/domain-scan")
	cmd.Dir = srcDir
	// Later entries win, so these override whatever the caller's
	// environment says.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	var msgs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &msgs, &msgs
	if err := cmd.Run(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return nil, fmt.Errorf("building the bootstrap needs the go command on PATH: %w", err)
		}
		return nil, fmt.Errorf("go build in %s: %w\n%s", srcDir, err, bytes.TrimSpace(msgs.Bytes()))
	}
	return os.ReadFile(out)
}

// ZipBootstrap packs bin as the executable "bootstrap" of a Lambda zip.
// The timestamp is fixed so that the same binary gives the same zip, and so
// the same CodeSha256 in Lambda.
func ZipBootstrap(bin []byte) ([]byte, error) {
	var buf bytes.Buffer
	// Default deflate: best compression saves 0.4% of a 4.6 MB zip for
	// three times the CPU.
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{
		Name:     "bootstrap",
		Method:   zip.Deflate,
		Modified: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	// Lambda runs the file as it is unpacked: without the execute bits the
	// runtime fails with "permission denied".
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(bin); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// FindSourceTree walks up from dir to the root of this module (a go.mod
// declaring github.com/domainscan/domain-scan), which BuildBootstrap needs.
func FindSourceTree(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := abs; ; {
		if modulePathOf(filepath.Join(d, "go.mod")) == deployModulePath {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("no source tree of %s at or above %s: run from a checkout or pass --source", deployModulePath, abs)
		}
		d = parent
	}
}

// modulePathOf returns the module line of a go.mod, or "" if there is none.
func modulePathOf(gomod string) string {
	f, err := os.Open(gomod)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if i := strings.Index(line, "//"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		rest, ok := strings.CutPrefix(line, "module")
		if !ok || rest == "" || (rest[0] != ' ' && rest[0] != '\t') {
			continue
		}
		rest = strings.TrimSpace(rest)
		if s, err := strconv.Unquote(rest); err == nil {
			return s
		}
		return rest
	}
	return ""
}
