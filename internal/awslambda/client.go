package awslambda

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// NewClient returns a Lambda client from the standard AWS configuration
// (profile, region, credentials, AWS_ENDPOINT_URL_LAMBDA), sized for
// inFlight concurrent invocations. The SDK's own retries are off: a retried
// invoke re-runs a scan, so the invoker decides what is safe to retry. The
// HTTP client is the SDK's buildable one with larger pools and no TLS
// settings of its own, so AWS_CA_BUNDLE keeps working.
func NewClient(ctx context.Context, profile string, inFlight int) (*lambda.Client, error) {
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.MaxIdleConns = inFlight + 16
		tr.MaxIdleConnsPerHost = inFlight + 16
		// Events and answers are small; smaller buffers keep thousands
		// of open connections cheap.
		tr.ReadBufferSize, tr.WriteBufferSize = 2048, 2048
	})
	cfg, err := loadConfig(ctx, profile,
		config.WithHTTPClient(httpClient),
		config.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }))
	if err != nil {
		return nil, err
	}
	return lambda.NewFromConfig(cfg), nil
}

// loadConfig loads the standard AWS configuration (environment, shared
// files, an optional profile) and insists on a region.
func loadConfig(ctx context.Context, profile string, opts ...func(*config.LoadOptions) error) (aws.Config, error) {
	if profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return aws.Config{}, errors.New("no AWS region: set AWS_REGION or a region in the AWS profile")
	}
	return cfg, nil
}
