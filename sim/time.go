package sim

import (
	"fmt"
	"strconv"
	"time"
)

// Time is a point in simulated time, in virtual nanoseconds since the start
// of the run. It is never read from the machine's clock.
type Time int64

// Duration units for simulated time.
const (
	Nanosecond  Time = 1
	Microsecond      = 1000 * Nanosecond
	Millisecond      = 1000 * Microsecond
	Second           = 1000 * Millisecond
	Minute           = 60 * Second
)

// TimeMax is the largest representable simulated time; it stands for "never".
const TimeMax Time = 1<<63 - 1

// Seconds returns t as a floating-point number of seconds.
func (t Time) Seconds() float64 { return float64(t) / float64(Second) }

// Milliseconds returns t as a floating-point number of milliseconds.
func (t Time) Milliseconds() float64 { return float64(t) / float64(Millisecond) }

// String renders t compactly and exactly enough for a human: "0s", "150ms",
// "1.5s", "12.345678ms". It is the one renderer of times in traces' human
// forms, the TUI and error messages.
func (t Time) String() string {
	if t == TimeMax {
		return "never"
	}
	return time.Duration(t).String()
}

// ParseTime parses a Go duration string ("150ms", "1.5s", "2m") as a
// simulated duration. Negative durations are an error.
func ParseTime(s string) (Time, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (want e.g. 150ms, 1.5s, 2m)", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("duration %s is negative", s)
	}
	return Time(d), nil
}

// MarshalText encodes t as a Go duration string so configuration files and
// trace headers stay readable.
func (t Time) MarshalText() ([]byte, error) { return []byte(time.Duration(t).String()), nil }

// UnmarshalText accepts a Go duration string or a plain integer of nanoseconds.
func (t *Time) UnmarshalText(b []byte) error {
	if n, err := strconv.ParseInt(string(b), 10, 64); err == nil {
		if n < 0 {
			return fmt.Errorf("duration %d is negative", n)
		}
		*t = Time(n)
		return nil
	}
	v, err := ParseTime(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}
