package awslambda

import (
	"encoding/json"
	"reflect"
	"testing"
)

func decodeEvent(t *testing.T, r Request) map[string]any {
	t.Helper()
	b, err := MarshalTestEvent(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%v in\n%s", err, b)
	}
	return m
}

// docs/lambda.md's console event for task_noop, with options emptied: the
// handler takes only scanner flags there, and "debug" is none.
const originalNoopEvent = `{"scanner": "noop", "domain": "example.com",
  "environment": {"scan_uuid": "test-uuid", "scan_method": "lambda", "constant": 12345, "variable": "example.com"},
  "options": {}}`

func TestTestEventNoop(t *testing.T) {
	var want map[string]any
	if err := json.Unmarshal([]byte(originalNoopEvent), &want); err != nil {
		t.Fatal(err)
	}
	if got := decodeEvent(t, TestEvent("noop", []string{"example.com"})); !reflect.DeepEqual(got, want) {
		t.Errorf("event = %v\nwant    %v", got, want)
	}
}

func TestTestEventBatch(t *testing.T) {
	got := decodeEvent(t, TestEvent("pshtt", []string{"a.gov", "b.gov"}))
	want := map[string]any{
		"scanner":     "pshtt",
		"domains":     []any{"a.gov", "b.gov"},
		"environment": map[string]any{"scan_uuid": "test-uuid", "scan_method": "lambda"},
		"options":     map[string]any{},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("event = %v\nwant    %v", got, want)
	}

	// A noop batch keeps the constant but has no single "variable".
	env := decodeEvent(t, TestEvent("noop", []string{"a.gov", "b.gov"}))["environment"].(map[string]any)
	if _, ok := env["variable"]; ok || env["constant"] != 12345.0 {
		t.Errorf("noop batch environment = %v", env)
	}
}

// The event is a Request: what the handler decodes is what was built.
func TestTestEventRoundTrip(t *testing.T) {
	in := TestEvent("noop", []string{"example.com"})
	b, err := MarshalTestEvent(in)
	if err != nil {
		t.Fatal(err)
	}
	var out Request
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.Scanner != "noop" || out.Domain != "example.com" || out.Environment["variable"] != "example.com" || out.Options == nil {
		t.Errorf("decoded %+v", out)
	}
}

func TestPolicies(t *testing.T) {
	for name, doc := range map[string]json.RawMessage{
		"user":  UserPolicy("task_{scanner}", "", "results-bucket"),
		"trust": TrustPolicy(),
		"role":  RolePolicy("task_{scanner}", "results-bucket", true),
	} {
		var p policyDocument
		if err := json.Unmarshal(doc, &p); err != nil || p.Version != "2012-10-17" || len(p.Statement) == 0 {
			t.Errorf("%s policy: %v\n%s", name, err, doc)
		}
		for _, s := range p.Statement {
			for _, r := range s.Resource {
				if r == "*" {
					t.Errorf("%s policy grants %v on every resource", name, s.Action)
				}
			}
		}
	}
	var p policyDocument
	_ = json.Unmarshal(UserPolicy("scan-{scanner}", "arn:aws:iam::1:role/r", ""), &p)
	if p.Statement[0].Resource[0] != "arn:aws:lambda:*:*:function:scan-*" || p.Statement[2].Resource[0] != "arn:aws:iam::1:role/r" {
		t.Errorf("user policy resources: %+v", p.Statement)
	}
}
