package scan

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// ParseSeconds reads a time flag the way the original's were written, a
// number of seconds ("60", "2.5"), or as a Go duration ("90s", "250ms").
// Negative, infinite and out-of-range values are errors; callers that need
// a positive value check for zero.
func ParseSeconds(v string) (time.Duration, error) {
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		if !(n >= 0) || n > float64(math.MaxInt64/int64(time.Second)) {
			return 0, fmt.Errorf("%q is not a number of seconds between 0 and %d", v, math.MaxInt64/int64(time.Second))
		}
		return time.Duration(n * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a number of seconds or a duration such as 90s", v)
	}
	return d, nil
}

// SecondsFlag is a flag.Value for a duration given as ParseSeconds reads
// it, more than 0 and at most Max. It prints itself in a form it parses
// back, because scanner flags travel to Lambda as text.
type SecondsFlag struct {
	D   *time.Duration
	Max time.Duration
}

func (f SecondsFlag) String() string {
	if f.D == nil {
		return "0s"
	}
	return f.D.String()
}

// Type names the value in --help.
func (f SecondsFlag) Type() string { return "duration" }

func (f SecondsFlag) Set(v string) error {
	d, err := ParseSeconds(v)
	if err == nil && (d <= 0 || d > f.Max) {
		err = fmt.Errorf("%q: want more than 0 and at most %s", v, f.Max)
	}
	if err == nil {
		*f.D = d
	}
	return err
}
