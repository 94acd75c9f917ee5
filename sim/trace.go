package sim

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
)

// TraceFormat is the version of the trace file format. A reader rejects
// traces of another format with a clear error.
const TraceFormat = 1

// Version is synod's version, recorded in every trace: a run recorded by
// another version may legitimately differ when replayed.
const Version = "0.1.0"

// TraceHeader is the first line of a trace: everything needed to re-run it.
type TraceHeader struct {
	Synod   string          `json:"synod"`   // always "trace"
	Format  int             `json:"format"`  // TraceFormat
	Version string          `json:"version"` // the synod Version that wrote it
	Run     json.RawMessage `json:"run"`     // the caller's run description (protocol, options, workload)
	Sim     Config          `json:"sim"`
}

// TraceEnd is the last line of a complete trace.
type TraceEnd struct {
	Events     int64       `json:"events"`
	Time       Time        `json:"time"`
	Stopped    string      `json:"stopped"`
	Violations []Violation `json:"violations,omitempty"`
	Stats      Stats       `json:"stats"`
	// Position is where a viewer stood when the trace was saved (-1: the end).
	Position int64 `json:"position"`
	// Digest is "sha256:" and the hex SHA-256 of every line before the end
	// line (header, events, choices), each with its newline: a reader
	// checks it before trusting the header (see Trace.Verify). Traces of
	// older synods have none.
	Digest string `json:"digest,omitempty"`
}

// digestPrefix names the digest's hash.
const digestPrefix = "sha256:"

// TraceWriter is an Observer that writes every event, its effects and every
// manual choice as JSON lines. Nothing in it depends on the machine, the
// wall clock or the schedule of goroutines, so the same run always gives
// the same bytes.
type TraceWriter struct {
	w        *bufio.Writer
	h        hash.Hash // sees every byte before the end line
	buf      []byte
	choices  int
	err      error
	Position int64
}

// NewTraceWriter writes the header line and returns the writer. Attach it
// with Sim.AddObserver and call Close at the end of the run.
func NewTraceWriter(w io.Writer, run json.RawMessage, cfg Config) (*TraceWriter, error) {
	if len(run) == 0 {
		run = json.RawMessage("{}")
	}
	h := TraceHeader{Synod: "trace", Format: TraceFormat, Version: Version, Run: run, Sim: cfg}
	b, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("trace header: %v", err)
	}
	sum := sha256.New()
	tw := &TraceWriter{w: bufio.NewWriterSize(io.MultiWriter(w, sum), 1<<16), h: sum, Position: -1}
	tw.w.Write(b)
	tw.w.WriteByte('\n')
	return tw, nil
}

// Observe writes any new choices, then the event.
func (tw *TraceWriter) Observe(s *Sim, r *Record) {
	tw.flushChoices(s)
	tw.buf = AppendRecord(tw.buf[:0], r)
	tw.buf = append(tw.buf, '\n')
	if _, err := tw.w.Write(tw.buf); err != nil && tw.err == nil {
		tw.err = err
	}
}

func (tw *TraceWriter) flushChoices(s *Sim) {
	cs := s.Choices()
	for ; tw.choices < len(cs); tw.choices++ {
		b, _ := json.Marshal(struct {
			Choice Choice `json:"choice"`
		}{cs[tw.choices]})
		tw.w.Write(b)
		tw.w.WriteByte('\n')
	}
}

// Close writes the closing line and flushes.
func (tw *TraceWriter) Close(s *Sim) error {
	tw.flushChoices(s)
	if err := tw.w.Flush(); err != nil {
		return err
	}
	end := TraceEnd{Events: s.Index(), Time: s.Now(), Stopped: s.Stopped(), Violations: s.Violations(), Stats: s.Stats(), Position: tw.Position,
		Digest: digestPrefix + hex.EncodeToString(tw.h.Sum(nil))}
	b, err := json.Marshal(struct {
		End TraceEnd `json:"end"`
	}{end})
	if err != nil {
		return err
	}
	tw.w.Write(b)
	tw.w.WriteByte('\n')
	if err := tw.w.Flush(); err != nil {
		return err
	}
	return tw.err
}

// AppendRecord appends one event's JSON line (without newline).
func AppendRecord(b []byte, r *Record) []byte {
	ev := &r.Event
	b = append(b, `{"i":`...)
	b = strconv.AppendInt(b, r.Index, 10)
	b = append(b, `,"t":`...)
	b = strconv.AppendInt(b, int64(ev.At), 10)
	b = append(b, `,"k":"`...)
	b = append(b, ev.Kind.String()...)
	b = append(b, `","id":`...)
	b = strconv.AppendUint(b, uint64(ev.ID), 10)
	switch ev.Kind {
	case KindDeliver, KindRequest:
		b = appendNode(b, "from", ev.From)
		b = appendNode(b, "to", ev.To)
		if ev.Dup {
			b = append(b, `,"dup":true`...)
		}
		b = append(b, `,"msg":`...)
		b = Messages.Encode(b, ev.Msg)
	case KindTimer:
		b = appendNode(b, "to", ev.To)
		b = append(b, `,"timer":`...)
		b = strconv.AppendQuote(b, ev.Timer.Name)
		if ev.Timer.Arg != 0 {
			b = append(b, `,"arg":`...)
			b = strconv.AppendInt(b, ev.Timer.Arg, 10)
		}
	case KindStart:
		b = appendNode(b, "to", ev.To)
	case KindFault:
		fb, _ := json.Marshal(ev.Fault)
		b = append(b, `,"fault":`...)
		b = append(b, fb...)
	}
	if r.Outcome != "" {
		b = append(b, `,"outcome":`...)
		b = strconv.AppendQuote(b, r.Outcome)
	}
	if len(r.Effects) > 0 {
		b = append(b, `,"fx":[`...)
		for i := range r.Effects {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendEffect(b, &r.Effects[i])
		}
		b = append(b, ']')
	}
	if len(r.violations) > 0 {
		vb, _ := json.Marshal(r.violations)
		b = append(b, `,"violations":`...)
		b = append(b, vb...)
	}
	return append(b, '}')
}

func appendNode(b []byte, field string, id NodeID) []byte {
	b = append(b, `,"`...)
	b = append(b, field...)
	b = append(b, `":"`...)
	if id < 0 {
		b = append(b, 'c')
		b = strconv.AppendInt(b, int64(-id), 10)
	} else {
		b = append(b, 'n')
		b = strconv.AppendInt(b, int64(id), 10)
	}
	return append(b, '"')
}

func appendEffect(b []byte, e *Effect) []byte {
	b = append(b, `{"e":"`...)
	b = append(b, e.Kind.String()...)
	b = append(b, '"')
	switch e.Kind {
	case EffectSend:
		b = append(b, `,"id":`...)
		b = strconv.AppendUint(b, uint64(e.ID), 10)
		b = appendNode(b, "to", e.To)
		b = append(b, `,"at":`...)
		b = strconv.AppendInt(b, int64(e.At), 10)
		if e.Dup {
			b = append(b, `,"dup":true`...)
		}
		b = append(b, `,"msg":`...)
		b = Messages.Encode(b, e.Msg)
	case EffectDrop:
		b = appendNode(b, "to", e.To)
		b = append(b, `,"why":`...)
		b = strconv.AppendQuote(b, e.Name)
		b = append(b, `,"msg":`...)
		b = Messages.Encode(b, e.Msg)
	case EffectTimer:
		b = append(b, `,"id":`...)
		b = strconv.AppendUint(b, uint64(e.ID), 10)
		b = append(b, `,"name":`...)
		b = strconv.AppendQuote(b, e.Name)
		b = append(b, `,"at":`...)
		b = strconv.AppendInt(b, int64(e.At), 10)
		if e.Arg != 0 {
			b = append(b, `,"arg":`...)
			b = strconv.AppendInt(b, e.Arg, 10)
		}
	case EffectCancel:
		b = append(b, `,"id":`...)
		b = strconv.AppendUint(b, uint64(e.ID), 10)
	case EffectStore:
		b = append(b, `,"key":`...)
		b = strconv.AppendQuote(b, e.Name)
		b = append(b, `,"bytes":`...)
		b = strconv.AppendInt(b, e.Arg, 10)
	case EffectDelete:
		b = append(b, `,"key":`...)
		b = strconv.AppendQuote(b, e.Name)
	case EffectNote:
		b = append(b, `,"text":`...)
		b = strconv.AppendQuote(b, e.Name)
	}
	return append(b, '}')
}

// Trace is a trace file read back.
type Trace struct {
	Header  TraceHeader
	Choices []Choice
	// Lines holds every line after the header, for exact comparison.
	Lines [][]byte
	// Events is the number of event lines.
	Events int64
	End    TraceEnd
	// Digest is the digest of the lines read, to compare with End.Digest.
	Digest string
	// Name is the file's name, for messages.
	Name string
}

// ErrTraceUnsigned is wrapped by Verify's error for a trace without a
// digest (written by an older synod): it cannot be checked, which a
// viewer may accept with a warning.
var ErrTraceUnsigned = errors.New("the trace has no digest (an older synod wrote it), so edits to it cannot be detected")

// Verify checks the trace's digest against its contents: an error naming
// the file says it was edited (its header, an event, a choice) after it
// was written, so it is not the run it claims to be. A trace without a
// digest gives an error wrapping ErrTraceUnsigned. The TUI calls this
// before showing a trace.
func (t *Trace) Verify() error {
	line := len(t.Lines) + 1 // the end line
	if err := t.checkEnd(line); err != nil {
		return err
	}
	switch {
	case t.End.Digest == "":
		return &TraceError{File: t.Name, Line: line, Field: "end.digest", Msg: ErrTraceUnsigned.Error(), err: ErrTraceUnsigned}
	case t.End.Digest != t.Digest:
		return &TraceError{File: t.Name, Line: line, Field: "end.digest",
			Msg: fmt.Sprintf("tampered: the trace's contents have digest %.19s..., not the %.19s... recorded when it was written (its header, an event or a choice was edited)", t.Digest, t.End.Digest)}
	}
	return nil
}

// checkEnd checks that the end line agrees with the header: a run that
// stopped at its duration ended exactly there, no run outlives its
// duration or its events bound, and one stopped by the bound has that
// many events. A header edited to claim another run fails here even when
// its digest was recomputed.
func (t *Trace) checkEnd(line int) error {
	cfg, end := &t.Header.Sim, &t.End
	eventsMax := cfg.EventsMax
	if eventsMax == 0 {
		eventsMax = DefaultEventsMax
	}
	bad := func(format string, args ...any) error {
		return &TraceError{File: t.Name, Line: line, Field: "end", Msg: "tampered: " + fmt.Sprintf(format, args...)}
	}
	manual := len(t.Choices) > 0 // manual choices move the clock their own way
	switch {
	case !manual && end.Stopped == StopDuration && end.Time != cfg.Duration:
		return bad("the run stopped at its duration at %v, but the header's duration is %v", end.Time, cfg.Duration)
	case !manual && cfg.Duration > 0 && end.Time > cfg.Duration:
		return bad("the run ended at %v, past the header's duration %v", end.Time, cfg.Duration)
	case end.Events > eventsMax:
		return bad("%d events, over the header's events bound %d", end.Events, eventsMax)
	case end.Stopped == StopEventsMax && end.Events != eventsMax:
		return bad("the run stopped at its events bound after %d events, but the header's bound is %d", end.Events, eventsMax)
	}
	return nil
}

// TraceError locates a problem in a trace file.
type TraceError struct {
	File  string
	Line  int
	Field string
	Msg   string
	err   error // wrapped, for errors.Is
}

// Unwrap returns the error wrapped, if any (ErrTraceUnsigned).
func (e *TraceError) Unwrap() error { return e.err }

func (e *TraceError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s:%d: field %q: %s", e.File, e.Line, e.Field, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// traceLine is the union of the line shapes, for validation.
type traceLine struct {
	I      *int64          `json:"i"`
	T      *int64          `json:"t"`
	K      *string         `json:"k"`
	Choice *Choice         `json:"choice"`
	End    *TraceEnd       `json:"end"`
	Msg    json.RawMessage `json:"msg"`
}

// MaxTraceLine bounds one line of a trace file.
const MaxTraceLine = 64 << 20

// ReadTrace reads and validates a trace. name is used in error messages.
// It never panics on bad input: every problem is a *TraceError naming the
// file, line and field.
func ReadTrace(r io.Reader, name string) (*Trace, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), MaxTraceLine)
	t := &Trace{Name: name}
	h := sha256.New()
	line := 0
	fail := func(field, format string, args ...any) (*Trace, error) {
		return nil, &TraceError{File: name, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	if !sc.Scan() {
		line = 1
		if err := sc.Err(); err != nil {
			return fail("", "cannot read: %v", err)
		}
		return fail("", "empty file: not a synod trace")
	}
	line = 1
	var probe struct {
		Synod *string `json:"synod"`
	}
	if json.Unmarshal(sc.Bytes(), &probe) == nil && probe.Synod != nil && *probe.Synod != "trace" {
		return fail("synod", "is %q, want \"trace\": not a synod trace", *probe.Synod)
	}
	if err := strictUnmarshal(sc.Bytes(), &t.Header); err != nil {
		return fail("", "not a synod trace header: %v", err)
	}
	h.Write(sc.Bytes())
	h.Write([]byte{'\n'})
	if t.Header.Synod != "trace" {
		return fail("synod", "is %q, want \"trace\": not a synod trace", t.Header.Synod)
	}
	if t.Header.Format != TraceFormat {
		return fail("format", "trace format %d, but this synod reads format %d: re-record the trace with this version", t.Header.Format, TraceFormat)
	}
	if err := t.Header.Sim.Validate(); err != nil {
		return fail("sim", "%v", err)
	}
	ended := false
	for sc.Scan() {
		line++
		raw := sc.Bytes()
		if ended {
			return fail("", "data after the end line")
		}
		var tl traceLine
		if err := json.Unmarshal(raw, &tl); err != nil {
			return fail("", "malformed JSON: %v", err)
		}
		t.Lines = append(t.Lines, append([]byte(nil), raw...))
		if tl.End == nil {
			h.Write(raw)
			h.Write([]byte{'\n'})
		}
		switch {
		case tl.End != nil:
			t.End = *tl.End
			ended = true
		case tl.Choice != nil:
			c := *tl.Choice
			switch c.Action {
			case ChoiceDeliver, ChoiceDrop, ChoiceDuplicate:
			case ChoiceTimer:
				if c.Name == "" || c.Node == 0 {
					return fail("choice.name", "a timer choice needs a node and a name")
				}
			case ChoiceFault:
				if c.Fault == nil {
					return fail("choice.fault", "missing")
				}
				if err := c.Fault.Validate(t.Header.Sim.Nodes); err != nil {
					return fail("choice.fault", "%v", err)
				}
			default:
				return fail("choice.action", "%q is not deliver, drop, duplicate, fault or timer", c.Action)
			}
			if c.Before != t.Events {
				return fail("choice.before", "%d, but it stands before event %d", c.Before, t.Events)
			}
			t.Choices = append(t.Choices, c)
		default:
			if tl.I == nil {
				return fail("i", "missing")
			}
			if *tl.I != t.Events {
				return fail("i", "%d out of order, want %d", *tl.I, t.Events)
			}
			if tl.T == nil || *tl.T < 0 {
				return fail("t", "missing or negative")
			}

			if tl.K == nil {
				return fail("k", "missing")
			}
			if _, ok := ParseEventKind(*tl.K); !ok {
				return fail("k", "%q is not an event kind", *tl.K)
			}
			if len(tl.Msg) > 0 {
				if _, err := Messages.Decode(tl.Msg); err != nil {
					return fail("msg", "%v", err)
				}
			}
			t.Events++
		}
	}
	if err := sc.Err(); err != nil {
		line++
		return fail("", "cannot read: %v", err)
	}
	if !ended {
		return fail("", "truncated: the trace has no end line after %d events", t.Events)
	}
	if t.End.Events != t.Events {
		return fail("end.events", "%d, but the trace holds %d events", t.End.Events, t.Events)
	}
	t.Digest = digestPrefix + hex.EncodeToString(h.Sum(nil))
	return t, nil
}

func strictUnmarshal(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("extra data after the JSON object")
	}
	return nil
}

// FirstDifference compares two traces' lines after the header, ignoring
// the end line's Position. It returns -1 when they are the same, or the
// 0-based index of the first differing line with both lines.
func FirstDifference(want, got [][]byte) (int, []byte, []byte) {
	n := len(want)
	if len(got) > n {
		n = len(got)
	}
	for i := 0; i < n; i++ {
		var a, b []byte
		if i < len(want) {
			a = want[i]
		}
		if i < len(got) {
			b = got[i]
		}
		if !bytes.Equal(a, b) {
			if isEnd(a) && isEnd(b) && sameEnd(a, b) {
				continue
			}
			return i, a, b
		}
	}
	return -1, nil, nil
}

func isEnd(b []byte) bool { return bytes.HasPrefix(b, []byte(`{"end":`)) }

func sameEnd(a, b []byte) bool {
	var x, y struct{ End TraceEnd }
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	// A replay's digest covers its own header, which may differ from the
	// recorded one where the replay tightened its bounds.
	x.End.Position, y.End.Position = 0, 0
	x.End.Digest, y.End.Digest = "", ""
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}
