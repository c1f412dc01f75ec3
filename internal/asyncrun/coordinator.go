package asyncrun

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/domainscan/domain-scan/internal/awslambda"
	"github.com/domainscan/domain-scan/internal/objstore"
	"github.com/domainscan/domain-scan/internal/scan"
)

// SubmitCoordinator hands a started run (Start) to a coordinator: one
// Event invocation of function, which sends the batches, follows them and
// collects the results, invoking itself again before its deadline as long
// as the run needs. The client can go offline at once.
func SubmitCoordinator(ctx context.Context, api InvokeAPI, function string, m *Manifest, wait time.Duration) error {
	req := awslambda.Request{
		Scanner: m.Scanners[0].Name,
		Coordinate: &awslambda.Coordination{
			Store: "s3://" + m.Bucket + "/" + m.Prefix, RunID: m.RunID,
			Until: float64(time.Now().Add(wait).UnixNano()) / 1e9,
		},
		S3PathStyle: m.S3PathStyle,
		Version:     m.Version,
	}
	payload, err := json.Marshal(req)
	if err != nil {
		return err
	}
	c := &Client{Lambda: api}
	return c.invoke(ctx, function, payload)
}

// coordinatorMargin is what a coordinator keeps of its time to hand over.
func coordinatorMargin(remaining time.Duration) time.Duration {
	return min(30*time.Second, remaining/4)
}

// Coordinate serves a coordinator event inside the function: it prepares
// the run's scanners (their Prepare runs here, as on a client), sends what
// is not sent, waits until shortly before its own deadline, then either
// collects the results (every batch in, nothing more can arrive, or the
// run's wait is over) or invokes the next coordinator.
func Coordinate(ctx context.Context, req awslambda.Request, newScanners func() []scan.Scanner, log *slog.Logger) error {
	co := req.Coordinate
	var ps *bool
	if req.S3PathStyle {
		ps = &req.S3PathStyle
	}
	store, err := objstore.NewS3(ctx, co.Store, objstore.S3Options{PathStyle: ps})
	if err != nil {
		return err
	}
	m, err := ReadManifest(ctx, store, co.RunID)
	if err != nil {
		return err
	}
	api, err := awslambda.NewClient(ctx, "", 16)
	if err != nil {
		return err
	}
	scanners := map[string]scan.Scanner{}
	for _, s := range newScanners() {
		scanners[s.Info().Name] = s
	}
	for _, sp := range m.Scanners {
		if err := PrepareScanner(ctx, scanners[sp.Name], sp.Options); err != nil {
			return err
		}
	}
	c := &Client{Store: store, Lambda: api, Scanners: scanners, Log: log, Rate: 200, Submitters: 8, Poll: 5 * time.Second}
	if m.Rate > 0 {
		c.Rate = m.Rate
	}
	if m.Submitters > 0 {
		c.Submitters = m.Submitters
	}
	if v := os.Getenv("DOMAIN_SCAN_ASYNC_POLL"); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			c.Poll = d
		}
	}
	slice := 15 * time.Minute
	if d, ok := ctx.Deadline(); ok {
		slice = time.Until(d) - coordinatorMargin(time.Until(d))
	}
	if v := os.Getenv("DOMAIN_SCAN_COORDINATOR_SLICE"); v != "" { // tests: hand over often
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			slice = min(slice, d)
		}
	}
	until := time.Unix(0, int64(co.Until*1e9))
	missing, err := c.Follow(ctx, m, FollowOptions{Deadline: max(0, min(slice, time.Until(until)))})
	if err != nil {
		return err
	}
	if len(missing) > 0 && time.Now().Before(until) && !allGivenUp(missing) {
		next := req
		nc := *co
		nc.Generation++
		next.Coordinate = &nc
		payload, err := json.Marshal(next)
		if err != nil {
			return err
		}
		function := lambdacontext.FunctionName
		if function == "" {
			function = os.Getenv("AWS_LAMBDA_FUNCTION_NAME")
		}
		if function == "" {
			return errors.New("coordinator: cannot tell this function's name to hand over")
		}
		_, err = api.Invoke(ctx, &lambda.InvokeInput{FunctionName: &function, Payload: payload, InvocationType: types.InvocationTypeEvent})
		if err != nil {
			return fmt.Errorf("coordinator: hand over to generation %d: %w", nc.Generation, err)
		}
		return nil
	}
	_, err = c.Collect(ctx, m, store)
	return err
}

// allGivenUp: nothing left can change by waiting.
func allGivenUp(missing []Missing) bool {
	for _, ms := range missing {
		if ms.Reason == "sent, no results yet" || ms.Reason == "not sent yet" {
			return false
		}
	}
	return true
}

// PrepareScanner gives a scanner the run's flags and initialises it as a
// client would, for its Prepare (scanners without Prepare are left alone).
func PrepareScanner(ctx context.Context, s scan.Scanner, opts map[string]string) error {
	if s == nil {
		return nil
	}
	if _, ok := s.(scan.Preparer); !ok {
		return nil
	}
	if fd, ok := s.(scan.FlagDefiner); ok {
		fs := flag.NewFlagSet(s.Info().Name, flag.ContinueOnError)
		fd.DefineFlags(fs)
		for k, v := range opts {
			if fs.Lookup(k) != nil {
				if err := fs.Set(k, v); err != nil {
					return fmt.Errorf("%s --%s=%s: %w", s.Info().Name, k, v, err)
				}
			}
		}
	}
	if ini, ok := s.(scan.Initializer); ok {
		return ini.Init(ctx, scan.Run{Method: "local", Remote: true})
	}
	return nil
}
