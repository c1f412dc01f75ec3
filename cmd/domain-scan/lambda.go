package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/domainscan/domain-scan/internal/awslambda"
	"github.com/domainscan/domain-scan/internal/scan"
	"github.com/domainscan/domain-scan/internal/scanners/all"
)

// newLambdaCmd groups what the original did with scripts in lambda/ (deploy)
// or only described in docs/lambda.md (IAM, test events, timeouts).
func newLambdaCmd(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lambda",
		Short: "Deploy and configure the scanners' AWS Lambda functions",
		Long: `Build the Lambda bootstrap and create or update one function per scanner
(task_<scanner>), adjust their timeout and memory, print console test events
and the IAM policies that running and deploying need.

AWS credentials, region and endpoint come from the standard AWS environment
and files (AWS_REGION, AWS_PROFILE or --lambda-profile, AWS_ENDPOINT_URL_LAMBDA).`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown lambda command %q (deploy, configure, event, policy)", args[0])
			}
			return cmd.Help()
		},
	}
	cmd.AddCommand(newLambdaDeployCmd(stdout, stderr), newLambdaConfigureCmd(stdout),
		newLambdaEventCmd(stdout), newLambdaPolicyCmd(stdout))
	return cmd
}

func newLambdaDeployCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		create                                bool
		arch, role, function, source, profile string
		concurrency                           int
		onFailure                             string
	)
	cmd := &cobra.Command{
		Use:   "deploy <scanner>... [flags]",
		Short: "Build the bootstrap and create or update the scanners' functions",
		Long: `Cross-compile this source tree's ./cmd/domain-scan as a provided.al2023
bootstrap, zip it, and create (--create) or update each scanner's function.
Timeout and memory come from the scanner (see "lambda configure" to change
them); an update sets them again along with the code.`,
		Example: `  AWS_LAMBDA_ROLE=arn:aws:iam::123456789012:role/domain-scan-lambda domain-scan lambda deploy pshtt --create
  domain-scan lambda deploy pshtt noop --arch amd64`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("lambda deploy needs at least one scanner")
			}
			if role == "" {
				role = os.Getenv("AWS_LAMBDA_ROLE")
			}
			if create && role == "" {
				return usagef("--create needs the function's execution role: --role ARN or $AWS_LAMBDA_ROLE (see `domain-scan lambda policy`)")
			}
			specs, err := lambdaCmdSpecs(args, function, arch, role)
			if err != nil {
				return err
			}
			if source == "" {
				wd, err := os.Getwd()
				if err != nil {
					return err
				}
				if source, err = awslambda.FindSourceTree(wd); err != nil {
					return usageError{err}
				}
			}
			ctx := cmd.Context()
			// Before the build, so that missing credentials or region do
			// not cost a minute of compiling.
			client, err := awslambda.NewDeployClient(ctx, profile)
			if err != nil {
				return err
			}
			fmt.Fprintf(stderr, "Building bootstrap for linux/%s from %s\n", arch, source)
			start := time.Now()
			bin, err := awslambda.BuildBootstrap(ctx, source, arch, version)
			if err != nil {
				return err
			}
			zip, err := awslambda.ZipBootstrap(bin)
			if err != nil {
				return err
			}
			fmt.Fprintf(stderr, "Built in %s: bootstrap %.1f MB, zip %.1f MB\n",
				time.Since(start).Round(100*time.Millisecond), float64(len(bin))/(1<<20), float64(len(zip))/(1<<20))
			// One binary serves every scanner, so one build covers them all.
			d := &awslambda.Deployer{Client: client}
			for _, fn := range specs {
				fn.Concurrency, fn.OnFailure = concurrency, onFailure
				line, err := d.Deploy(ctx, fn, zip, create)
				if err != nil {
					return err
				}
				fmt.Fprintln(stdout, line)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.SortFlags = false
	fl.BoolVar(&create, "create", false, "create the functions instead of updating existing ones")
	fl.StringVar(&arch, "arch", "arm64", "architecture of the functions: arm64 or amd64")
	fl.StringVar(&role, "role", "", "execution role ARN for --create (default $AWS_LAMBDA_ROLE)")
	fl.StringVar(&function, "function", "task_{scanner}", "function name template")
	fl.StringVar(&source, "source", "", "source tree to build (default: the domain-scan module at or above the working directory)")
	fl.StringVar(&profile, "lambda-profile", "", "AWS profile to use")
	fl.IntVar(&concurrency, "concurrency", 0, "reserved concurrency of each function: the pool of asynchronous runs (0: leave as is)")
	fl.StringVar(&onFailure, "on-failure", "", "ARN of an S3 bucket or SQS queue for asynchronous events that failed after Lambda's retries")
	return cmd
}

func newLambdaConfigureCmd(stdout io.Writer) *cobra.Command {
	var (
		timeout           secondsOrDuration
		memory            int
		function, profile string
	)
	cmd := &cobra.Command{
		Use:   "configure <scanner> [--timeout 300s] [--memory 512]",
		Short: "Set a scanner function's timeout and memory",
		Long: `Update the timeout and memory of an existing scanner function, without
touching its code. Values not given are the scanner's own (as deploy sets
them).`,
		Example: `  domain-scan lambda configure pshtt --timeout 600 --memory 1024`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("lambda configure needs one scanner, got %d arguments", len(args))
			}
			specs, err := lambdaCmdSpecs(args, function, "arm64", "")
			if err != nil {
				return err
			}
			fn := specs[0]
			if timeout > 0 {
				fn.Timeout = time.Duration(timeout)
			}
			if memory != 0 {
				fn.MemoryMB = memory
			}
			if err := fn.Validate(); err != nil {
				return usageError{err}
			}
			client, err := awslambda.NewDeployClient(cmd.Context(), profile)
			if err != nil {
				return err
			}
			line, err := (&awslambda.Deployer{Client: client}).Configure(cmd.Context(), fn)
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, line)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.SortFlags = false
	fl.Var(&timeout, "timeout", "function timeout: seconds or a duration, up to 15m (default: the scanner's)")
	fl.IntVar(&memory, "memory", 0, "function memory in MB, 128 to 10240 (default: the scanner's)")
	fl.StringVar(&function, "function", "task_{scanner}", "function name template")
	fl.StringVar(&profile, "lambda-profile", "", "AWS profile to use")
	return cmd
}

func newLambdaEventCmd(stdout io.Writer) *cobra.Command {
	var domains string
	cmd := &cobra.Command{
		Use:   "event <scanner> [<domain>] [--domains a,b,c]",
		Short: "Print a test event for a scanner function (AWS console, aws lambda invoke)",
		Example: `  domain-scan lambda event noop example.com
  domain-scan lambda event pshtt --domains a.gov,b.gov`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 || len(args) > 2 {
				return usagef("lambda event needs a scanner and a domain (or --domains), got %d arguments", len(args))
			}
			if _, err := lambdaCmdScanner(args[0]); err != nil {
				return err
			}
			var list []string
			candidates := strings.Split(domains, ",")
			if len(args) == 2 {
				candidates = append([]string{args[1]}, candidates...)
			}
			for _, d := range candidates {
				if d = strings.TrimSpace(d); d != "" {
					list = append(list, d)
				}
			}
			if len(list) == 0 {
				return usagef("lambda event needs a domain or --domains")
			}
			b, err := awslambda.MarshalTestEvent(awslambda.TestEvent(args[0], list))
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(stdout, "%s\n", b)
			return err
		},
	}
	cmd.Flags().StringVar(&domains, "domains", "", "comma-separated domains for a batch event")
	return cmd
}

func newLambdaPolicyCmd(stdout io.Writer) *cobra.Command {
	var function, role, document, bucket string
	var coordinate bool
	cmd := &cobra.Command{
		Use:   "policy [flags]",
		Short: "Print least-privilege IAM policies for running and deploying",
		Long: `Print the IAM policy documents that domain-scan needs, as JSON:
  user_policy        for the user who runs scans and deploys (invoke, deploy, pass the role)
  role_trust_policy  the functions' execution role: trust for lambda.amazonaws.com
  role_policy        the execution role's permissions (its CloudWatch logs only)
--document prints one of them alone, ready for aws iam ... --policy-document.`,
		Example: `  domain-scan lambda policy --document trust > trust.json
  aws iam create-role --role-name domain-scan-lambda --assume-role-policy-document file://trust.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			docs := map[string]json.RawMessage{
				"user":  awslambda.UserPolicy(function, role, bucket),
				"trust": awslambda.TrustPolicy(),
				"role":  awslambda.RolePolicy(function, bucket, coordinate),
			}
			var out []byte
			switch document {
			case "all":
				var err error
				out, err = json.MarshalIndent(struct {
					User  json.RawMessage `json:"user_policy"`
					Trust json.RawMessage `json:"role_trust_policy"`
					Role  json.RawMessage `json:"role_policy"`
				}{docs["user"], docs["trust"], docs["role"]}, "", "  ")
				if err != nil {
					return err
				}
			case "user", "trust", "role":
				out = docs[document]
			default:
				return usagef("--document %q: want all, user, trust or role", document)
			}
			_, err := fmt.Fprintf(stdout, "%s\n", out)
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&function, "function", "task_{scanner}", "function name template ({scanner} becomes *)")
	fl.StringVar(&role, "role", "", "execution role ARN that deploying may pass (default arn:aws:iam::*:role/"+awslambda.DefaultRoleName+")")
	fl.StringVar(&document, "document", "all", "which document: all, user, trust or role")
	fl.BoolVar(&coordinate, "coordinator", false, "the role for scan --async --coordinator: the functions invoke each other and read the bucket")
	fl.StringVar(&bucket, "bucket", "", "S3 bucket of --output s3://… and --async runs: adds its permissions to the user and role policies")
	return cmd
}

// lambdaCmdScanner returns a built-in scanner's Info if it can run in
// Lambda; anything else is a command-line mistake.
func lambdaCmdScanner(name string) (scan.Info, error) {
	reg, err := all.Registry()
	if err != nil {
		return scan.Info{}, err
	}
	s, err := reg.Get(name)
	if err != nil {
		return scan.Info{}, usageError{err}
	}
	info := s.Info()
	if !info.Lambda {
		var able []string
		for _, n := range reg.Names() {
			if x, _ := reg.Get(n); x.Info().Lambda {
				able = append(able, n)
			}
		}
		sort.Strings(able)
		return scan.Info{}, usagef("scanner %q does not run in Lambda (Lambda scanners: %s)", name, strings.Join(able, ", "))
	}
	return info, nil
}

// lambdaCmdSpecs resolves scanners to function specs, checking everything
// that can be checked before building or calling AWS.
func lambdaCmdSpecs(names []string, template, arch, role string) ([]awslambda.FunctionSpec, error) {
	if _, err := awslambda.LambdaArchitecture(arch); err != nil {
		return nil, usageError{err}
	}
	var specs []awslambda.FunctionSpec
	byFunction := map[string]string{}
	for _, name := range names {
		info, err := lambdaCmdScanner(name)
		if err != nil {
			return nil, err
		}
		fn := awslambda.NewFunctionSpec(info, template, arch, role)
		if err := fn.Validate(); err != nil {
			return nil, usageError{err}
		}
		if prev, dup := byFunction[fn.Name]; dup {
			if prev == name {
				continue
			}
			return nil, usagef("scanners %s and %s would share the function %s: put {scanner} in --function", prev, name, fn.Name)
		}
		byFunction[fn.Name] = name
		specs = append(specs, fn)
	}
	return specs, nil
}
