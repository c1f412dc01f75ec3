package awslambda

import (
	"encoding/json"
	"strings"
)

// The IAM documents that `lambda policy` prints. The original pointed users
// at AWSLambdaFullAccess; these grant only what domain-scan calls, on the
// scanner functions only.

// DefaultRoleName is the execution role the documents assume when no role
// ARN is given.
const DefaultRoleName = "domain-scan-lambda"

type policyDocument struct {
	Version   string            `json:"Version"`
	Statement []policyStatement `json:"Statement"`
}

type policyStatement struct {
	Sid       string                       `json:"Sid,omitempty"`
	Effect    string                       `json:"Effect"`
	Principal map[string]string            `json:"Principal,omitempty"`
	Action    []string                     `json:"Action"`
	Resource  []string                     `json:"Resource,omitempty"`
	Condition map[string]map[string]string `json:"Condition,omitempty"`
}

// functionPattern turns a --lambda-function template into an ARN pattern
// matching every scanner's function.
func functionPattern(nameTemplate string) string {
	if nameTemplate == "" {
		nameTemplate = "task_{scanner}"
	}
	return strings.ReplaceAll(nameTemplate, "{scanner}", "*")
}

func marshalPolicy(p policyDocument) json.RawMessage {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		panic(err) // only strings: cannot fail
	}
	return b
}

// UserPolicy is for whoever runs domain-scan: invoking the functions
// (`scan --lambda`), and deploying them. PassRole is limited to the
// execution role and to Lambda, so the user cannot hand that role to
// anything else. roleARN "" means arn:aws:iam::*:role/DefaultRoleName.
// With a bucket, the user may also read, write and list it (--output
// s3://bucket/…, --async, collect).
func UserPolicy(nameTemplate, roleARN, bucket string) json.RawMessage {
	fns := "arn:aws:lambda:*:*:function:" + functionPattern(nameTemplate)
	if roleARN == "" {
		roleARN = "arn:aws:iam::*:role/" + DefaultRoleName
	}
	return marshalPolicy(policyDocument{
		Version: "2012-10-17",
		Statement: append([]policyStatement{
			{
				Sid:      "ScanWithLambda",
				Effect:   "Allow",
				Action:   []string{"lambda:InvokeFunction", "lambda:GetFunctionConfiguration"},
				Resource: []string{fns},
			},
			{
				Sid:    "DeployScannerFunctions",
				Effect: "Allow",
				Action: []string{
					"lambda:CreateFunction",
					"lambda:GetFunction",
					"lambda:UpdateFunctionCode",
					"lambda:UpdateFunctionConfiguration",
					"lambda:PutFunctionConcurrency",
					"lambda:PutFunctionEventInvokeConfig",
				},
				Resource: []string{fns},
			},
			{
				Sid:       "PassExecutionRoleToLambda",
				Effect:    "Allow",
				Action:    []string{"iam:PassRole"},
				Resource:  []string{roleARN},
				Condition: map[string]map[string]string{"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}},
			},
		}, bucketStatements(bucket, []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"}, true)...),
	})
}

// bucketStatements grant actions on a bucket's objects (and listing it).
func bucketStatements(bucket string, actions []string, list bool) []policyStatement {
	if bucket == "" {
		return nil
	}
	out := []policyStatement{{Sid: "ResultsObjects", Effect: "Allow", Action: actions, Resource: []string{"arn:aws:s3:::" + bucket + "/*"}}}
	if list {
		out = append(out, policyStatement{Sid: "ListResults", Effect: "Allow", Action: []string{"s3:ListBucket"}, Resource: []string{"arn:aws:s3:::" + bucket}})
	}
	return out
}

// TrustPolicy lets Lambda assume the execution role.
func TrustPolicy() json.RawMessage {
	return marshalPolicy(policyDocument{
		Version: "2012-10-17",
		Statement: []policyStatement{{
			Effect:    "Allow",
			Principal: map[string]string{"Service": "lambda.amazonaws.com"},
			Action:    []string{"sts:AssumeRole"},
		}},
	})
}

// RolePolicy is the execution role's permissions: the functions write
// their logs (scans reach the internet without AWS permissions) and, with a
// bucket, the results of asynchronous batches (and failed events, when the
// on-failure destination is that bucket).
//
// With coordinate, the functions may also invoke each other and list and
// read the bucket: a coordinator (scan --async --coordinator) sends a run's
// batches and collects them itself.
func RolePolicy(nameTemplate, bucket string, coordinate bool) json.RawMessage {
	group := "arn:aws:logs:*:*:log-group:/aws/lambda/" + functionPattern(nameTemplate)
	return marshalPolicy(policyDocument{
		Version: "2012-10-17",
		Statement: append([]policyStatement{
			{
				Sid:      "CreateLogGroup",
				Effect:   "Allow",
				Action:   []string{"logs:CreateLogGroup"},
				Resource: []string{group},
			},
			{
				Sid:      "WriteLogs",
				Effect:   "Allow",
				Action:   []string{"logs:CreateLogStream", "logs:PutLogEvents"},
				Resource: []string{group + ":log-stream:*"},
			},
		}, roleExtras(nameTemplate, bucket, coordinate)...),
	})
}

func roleExtras(nameTemplate, bucket string, coordinate bool) []policyStatement {
	if !coordinate {
		return bucketStatements(bucket, []string{"s3:PutObject"}, false)
	}
	return append(bucketStatements(bucket, []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"}, true),
		policyStatement{Sid: "CoordinateRuns", Effect: "Allow", Action: []string{"lambda:InvokeFunction"},
			Resource: []string{"arn:aws:lambda:*:*:function:" + functionPattern(nameTemplate)}})
}
