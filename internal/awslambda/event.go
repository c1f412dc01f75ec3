package awslambda

import "encoding/json"

// TestEvent is a ready event for a function's "Test" tab in the AWS
// console (an original TODO: canned test events). One domain gives the
// original's single-domain form, more give a batch ("domains").
func TestEvent(scanner string, domains []string) Request {
	r := Request{
		Scanner: scanner,
		Environment: map[string]any{
			"scan_method": "lambda",
			"scan_uuid":   "test-uuid",
		},
		Options: map[string]any{},
	}
	if len(domains) == 1 {
		r.Domain = domains[0]
	} else {
		r.Domains = append([]string(nil), domains...)
	}
	// docs/lambda.md's task_noop event carried noop's init and init_domain
	// values; keep them so that event still reads the same. "variable" is
	// per domain, so a batch has none.
	if scanner == "noop" {
		r.Environment["constant"] = 12345
		if len(domains) == 1 {
			r.Environment["variable"] = domains[0]
		}
	}
	return r
}

// MarshalTestEvent renders r as indented JSON for pasting into the console.
// Unlike a plain Marshal it keeps an empty "options": {}, so the event
// shows every key the original's had.
func MarshalTestEvent(r Request) ([]byte, error) {
	opts := r.Options
	if opts == nil {
		opts = map[string]any{}
	}
	// The outer Options shadows the embedded one, dropping its omitempty.
	return json.MarshalIndent(struct {
		Request
		Options map[string]any `json:"options"`
	}{r, opts}, "", "  ")
}
