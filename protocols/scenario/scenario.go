// Package scenario reads scenario files, builds runs from them and runs
// them: the one place where a protocol, its options, the network and fault
// model, the workload and the checks come together. The CLI, the TUI, the
// reports and the tests all build runs here, so a scenario means the same
// thing everywhere.
package scenario

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// Scenario is a scenario file: everything that determines a run.
type Scenario struct {
	Protocol string `yaml:"protocol" json:"protocol"`
	Nodes    int    `yaml:"nodes" json:"nodes"`
	Seed     uint64 `yaml:"seed" json:"seed"`
	// Duration bounds the run in simulated time: positive, at most
	// sim.DurationMax. Zero only with Unbounded.
	Duration sim.Time `yaml:"duration" json:"duration"`
	// Unbounded is "duration: unbounded": a run with no time bound, which
	// must then name its events bound (EventsMax). A zero duration is
	// otherwise an error: it used to mean "no limit" silently.
	Unbounded bool `yaml:"-" json:"unbounded,omitempty"`
	// Options are the protocol's own options, decoded strictly into the
	// protocol's options struct.
	Options yaml.Node         `yaml:"options" json:"-"`
	RawOpts json.RawMessage   `yaml:"-" json:"options,omitempty"`
	Network sim.NetworkConfig `yaml:"network" json:"network"`
	// Faults is the scripted schedule, one "TIME FAULT" string each.
	Faults  []string           `yaml:"faults" json:"faults,omitempty"`
	Nemesis *sim.NemesisConfig `yaml:"nemesis" json:"nemesis,omitempty"`
	// Swarm varies the nemesis itself per seed (swarm.go): which fault
	// kinds are on, their rates, downtime, targets. The variation is drawn
	// from the seed, so the seed alone still reproduces the run.
	Swarm bool `yaml:"swarm" json:"swarm,omitempty"`
	// SwarmOptions are protocol options a swarm seed draws one value of
	// each from (swarm_options.go): batch sizes, timeouts.
	SwarmOptions map[string][]string `yaml:"swarm_options" json:"swarm_options,omitempty"`
	Workload     protocols.Workload  `yaml:"workload" json:"workload"`
	Checks       Checks              `yaml:"checks" json:"checks"`
	FsyncDelay   sim.Time            `yaml:"fsync_delay" json:"fsync_delay,omitempty"`
	Down         []sim.NodeID        `yaml:"down" json:"down,omitempty"`
	// EventsMax bounds the run's events (zero: sim.DefaultEventsMax), at
	// most EventsMaxLimit.
	EventsMax int64 `yaml:"events_max" json:"events_max,omitempty"`

	// File names the scenario's source for error messages.
	File string `yaml:"-" json:"-"`
	root *yaml.Node
	opts any
	// mixGiven says the source names the workload's mix; otherwise the
	// mix is the protocol's default (Spec.Mix), whichever protocol the
	// flags select.
	mixGiven bool
}

// Checks says what is checked.
type Checks struct {
	// Linearizability checks the client history with porcupine (for
	// protocols that replicate the key-value store). Default true.
	Linearizability *bool `yaml:"linearizability" json:"linearizability,omitempty"`
	// LinBudget bounds porcupine's search (wall-clock; default 10s).
	LinBudget sim.Time `yaml:"lin_budget" json:"lin_budget,omitempty"`
	// Every runs the invariant checkers after every N-th event (default 1).
	Every int `yaml:"every" json:"every,omitempty"`
	// KeepGoing records violations and continues instead of stopping.
	KeepGoing bool `yaml:"keep_going" json:"keep_going,omitempty"`
	// Invariants, when set, keeps only the named checkers.
	Invariants []string `yaml:"invariants" json:"invariants,omitempty"`
}

// Default returns the default scenario for a protocol: 5 nodes, 10
// simulated seconds, a LAN-like network, three clients, no faults.
func Default(protocol string) *Scenario {
	return &Scenario{
		Protocol: protocol, Nodes: 5, Seed: 1, Duration: 10 * sim.Second,
		Network:  sim.NetworkConfig{Latency: sim.DefaultLatency},
		Workload: protocols.DefaultWorkload(),
		File:     "(defaults)",
	}
}

// Error is a problem in a scenario, located by file, line and field.
type Error struct {
	File  string
	Line  int
	Field string
	Msg   string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString("field " + strconv.Quote(e.Field) + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Load reads and checks a scenario file.
func Load(path string) (*Scenario, error) {
	// The size is checked before reading, so a huge file costs nothing.
	if fi, err := os.Stat(path); err == nil && fi.Size() > MaxFileSize {
		return nil, &Error{File: path, Msg: fmt.Sprintf("file is %d bytes, over the %d-byte bound", fi.Size(), MaxFileSize)}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Msg: fmt.Sprintf("cannot read: %v", errors.Unwrap(err))}
	}
	return Parse(data, path)
}

// MaxFileSize bounds a scenario file.
const MaxFileSize = 1 << 20

// Bounds of a scenario's cost, each checked with a clear error.
const (
	// EventsMaxLimit bounds events_max: a billion events is hours of CPU.
	EventsMaxLimit = 1_000_000_000
	// RateMax bounds an open-loop client's arrivals per second: far above
	// what any simulated cluster serves, far below a typo's 1e9.
	RateMax = 100_000
	// unboundedWord is the explicit spelling of a run without a time bound.
	unboundedWord = "unbounded"
)

var yamlLine = regexp.MustCompile(`line (\d+): (.*)`)

// Parse reads a scenario from YAML. Unknown fields are errors; every error
// names the file, the line and the field. It never panics.
func Parse(data []byte, file string) (sc *Scenario, err error) {
	defer func() {
		if r := recover(); r != nil {
			sc, err = nil, &Error{File: file, Msg: fmt.Sprintf("cannot parse: %v", r)}
		}
	}()
	if len(data) > MaxFileSize {
		return nil, &Error{File: file, Msg: fmt.Sprintf("file is %d bytes, over the %d-byte bound", len(data), MaxFileSize)}
	}
	root, err := oneDocument(data, file)
	if err != nil {
		return nil, err
	}
	if root.Kind == 0 || len(root.Content) == 0 {
		return nil, &Error{File: file, Line: 1, Msg: "empty scenario (want at least \"protocol: NAME\")"}
	}
	doc := root.Content[0]
	if doc.Kind != yaml.MappingNode {
		return nil, &Error{File: file, Line: doc.Line, Msg: "a scenario is a mapping of fields (protocol: ..., nodes: ...)"}
	}
	sc = Default("")
	sc.File = file
	data, sc.Unbounded = unboundedDuration(data, doc)
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(sc); err != nil {
		return nil, locate(yamlError(file, 0, err).(*Error), doc, "", err)
	}
	sc.File = file
	sc.root = doc
	sc.mixGiven = hasField(doc, "workload", "mix")
	if err := sc.resolve(); err != nil {
		return nil, err
	}
	if err := sc.checkSwarmOptions(); err != nil {
		return nil, err
	}
	return sc, nil
}

// yamlError turns a yaml error into one clear located error.
func yamlError(file string, lineOffset int, err error) error {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "yaml: ")
	if te, ok := err.(*yaml.TypeError); ok && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	line := 0
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	field := ""
	if m := regexp.MustCompile(`field (\S+) not found in type \S+`).FindStringSubmatch(msg); m != nil {
		field = m[1]
		msg = "unknown field"
	}
	msg = regexp.MustCompile(`cannot unmarshal !!(\w+) `+"`"+`([^`+"`"+`]*)`+"`"+` into (\S+)`).ReplaceAllString(msg, "$2 is not a valid $3")
	if line > 0 {
		line += lineOffset
	}
	return &Error{File: file, Line: line, Field: field, Msg: msg}
}

// resolve checks the scenario and decodes the protocol's options.
func (sc *Scenario) resolve() error {
	if sc.Protocol == "" {
		return sc.errAt("protocol", "missing (run `synod protocols` for the list)")
	}
	spec, err := protocols.Lookup(sc.Protocol)
	if err != nil {
		return sc.errAt("protocol", err.Error())
	}
	if spec.Options != nil {
		sc.opts = spec.Options()
		switch {
		case sc.Options.Kind != 0:
			text, err := yaml.Marshal(&sc.Options)
			if err != nil {
				return sc.errAt("options", err.Error())
			}
			dec := yaml.NewDecoder(bytes.NewReader(text))
			dec.KnownFields(true)
			if err := dec.Decode(sc.opts); err != nil && err.Error() != "EOF" {
				e := yamlError(sc.File, sc.Options.Line-1, err).(*Error)
				if e.Field != "" {
					e.Field = "options." + e.Field
				}
				return locate(e, &sc.Options, "options", err)
			}
		case len(sc.RawOpts) > 0:
			d := json.NewDecoder(bytes.NewReader(sc.RawOpts))
			d.DisallowUnknownFields()
			if err := d.Decode(sc.opts); err != nil {
				return sc.errAt("options", err.Error())
			}
		}
		raw, err := json.Marshal(sc.opts)
		if err != nil {
			return sc.errAt("options", err.Error())
		}
		sc.RawOpts = raw
	} else if sc.Options.Kind != 0 {
		return sc.errAt("options", fmt.Sprintf("protocol %s has no options", sc.Protocol))
	}
	// The protocol checks its options now, at configuration time.
	if _, err := spec.New(sc.cluster()); err != nil {
		msg := err.Error()
		if strings.HasPrefix(msg, "options.") {
			return sc.errPath(msg)
		}
		return sc.errAt("options", msg)
	}
	if spec.Client == nil {
		if !sc.mixGiven {
			sc.Workload.Mix = spec.DefaultMix()
		}
		if err := sc.Workload.Validate(); err != nil {
			return sc.errPath("workload." + err.Error())
		}
		if ns := sc.Workload.Nodes; len(ns) > 0 && int(ns[len(ns)-1]) > sc.Nodes {
			return sc.errAt("workload.nodes", fmt.Sprintf("%v is not a node (want n1..n%d)", ns[len(ns)-1], sc.Nodes))
		}
		if err := spec.CheckMix(sc.Workload.Mix); err != nil {
			return sc.errPath("workload." + err.Error())
		}
	} else if sc.Workload.Retry != "" {
		return sc.errAt("workload.retry", fmt.Sprintf("protocol %s has its own client, which has no retry policy to set", sc.Protocol))
	}
	if err := sc.checkBounds(spec); err != nil {
		return err
	}
	if sc.Checks.Every < 0 {
		return sc.errAt("checks.every", fmt.Sprintf("%d is negative", sc.Checks.Every))
	}
	if err := sc.checkLinBudget(); err != nil {
		return err
	}
	cfg, err := sc.SimConfig()
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return sc.errPath(err.Error())
	}
	return nil
}

// checkBounds checks that the run is bounded, and not absurdly: a
// positive duration (or the explicit word unbounded with an events bound),
// an events bound and an open-loop rate under their maxima. The duration's
// own maximum is sim.DurationMax, checked with the simulator's config.
func (sc *Scenario) checkBounds(spec *protocols.Spec) error {
	switch {
	case sc.Unbounded && sc.Duration != 0:
		return sc.errAt("duration", fmt.Sprintf("%v and unbounded at once: give one", sc.Duration))
	case sc.Unbounded && sc.EventsMax == 0:
		return &Error{File: sc.File, Line: lineOf(sc.root, "duration"), Field: "events_max",
			Msg: fmt.Sprintf("missing: a run with duration %s is bounded only by its events, so name the bound (events_max: 1000000, or --events-max; at most %d)", unboundedWord, EventsMaxLimit)}
	case !sc.Unbounded && sc.Duration == 0:
		return sc.errAt("duration", fmt.Sprintf("0s is not a bound: give a positive duration (at most %v), or write \"duration: %s\" with events_max for a run bounded only by its events", sim.DurationMax, unboundedWord))
	}
	if sc.EventsMax < 0 || sc.EventsMax > EventsMaxLimit {
		return sc.errAt("events_max", fmt.Sprintf("%d is outside 1..%d (leave it out for the default, %d)", sc.EventsMax, EventsMaxLimit, sim.DefaultEventsMax))
	}
	if spec.Client == nil && sc.Workload.Mode == "open" && sc.Workload.Rate > RateMax {
		return sc.errAt("workload.rate", fmt.Sprintf("%v arrivals per second per client is over the maximum %d", sc.Workload.Rate, RateMax))
	}
	return nil
}

// unboundedDuration finds "duration: unbounded" at the top of the
// document and returns the data with that word replaced by a zero
// duration of the same length, so every line and column stays where it
// was for the strict decoder's messages.
func unboundedDuration(data []byte, doc *yaml.Node) ([]byte, bool) {
	for i := 0; i+1 < len(doc.Content); i += 2 {
		k, v := doc.Content[i], doc.Content[i+1]
		if k.Value != "duration" || v.Kind != yaml.ScalarNode || v.Value != unboundedWord || v.Style != 0 {
			continue
		}
		off := offsetOf(data, v.Line, v.Column)
		if off < 0 || !bytes.HasPrefix(data[off:], []byte(unboundedWord)) {
			return data, false
		}
		out := slices.Clone(data)
		copy(out[off:], "0s"+strings.Repeat(" ", len(unboundedWord)-2))
		return out, true
	}
	return data, false
}

// offsetOf is the byte offset of a 1-based line and column, or -1.
func offsetOf(data []byte, line, col int) int {
	off := 0
	for l := 1; l < line; l++ {
		i := bytes.IndexByte(data[off:], '\n')
		if i < 0 {
			return -1
		}
		off += i + 1
	}
	off += col - 1
	if off >= len(data) {
		return -1
	}
	return off
}

// oneDocument parses the YAML and refuses a second document: a scenario
// file holds one, and anything after "---" would otherwise be silently
// ignored.
func oneDocument(data []byte, file string) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil && err != io.EOF {
		return nil, yamlError(file, 0, err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == io.EOF:
		return &root, nil
	case err != nil:
		return nil, yamlError(file, 0, err)
	}
	line := next.Line
	if len(next.Content) > 0 {
		line = next.Content[0].Line
	}
	return nil, &Error{File: file, Line: line, Msg: "a second YAML document (after ---): a scenario file holds one document; put the other scenario in its own file"}
}

// locate completes a decoder's error with what it lacks: the field of
// the line it names, or, for errors from a value's own decoder (a
// duration, a node id) that carry no line, the line and field of the
// scalar they quote. prefix is the path of n ("" at the top).
func locate(e *Error, n *yaml.Node, prefix string, err error) *Error {
	join := func(f string) string {
		if prefix == "" || f == "" {
			return prefix + f
		}
		return prefix + "." + f
	}
	switch {
	case e.Line == 0:
		if l, f := locateScalar(n, "", err.Error()); l > 0 {
			e.Line, e.Field = l, join(f)
		}
	case e.Field == "":
		e.Field = fieldAtLine(n, prefix, e.Line)
	}
	return e
}

// fieldAtLine is the path of the innermost field whose key or scalar
// value sits on a line ("" when none does).
func fieldAtLine(n *yaml.Node, path string, line int) string {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if path != "" {
				p = path + "." + p
			}
			if f := fieldAtLine(v, p, line); f != "" {
				return f
			}
			if k.Line == line {
				return p
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if f := fieldAtLine(c, fmt.Sprintf("%s[%d]", path, i), line); f != "" {
				return f
			}
		}
	case yaml.ScalarNode:
		if n.Line == line {
			return path
		}
	}
	return ""
}

// checkLinBudget rejects a linearizability budget that is not positive.
// Left out, the budget is the checker's default; written as zero it would
// silently mean that default (or, taken literally, a check that can never
// decide), so an explicit zero is an error like a negative one.
func (sc *Scenario) checkLinBudget() error {
	b := sc.Checks.LinBudget
	if b < 0 || (b == 0 && hasField(sc.root, "checks", "lin_budget")) {
		return sc.errAt("checks.lin_budget", fmt.Sprintf("%v is not a positive duration (leave the field out for the default, 10s)", b))
	}
	return nil
}

// hasField reports whether a YAML mapping holds the nested key path.
func hasField(n *yaml.Node, path ...string) bool {
	for _, key := range path {
		if n == nil || n.Kind != yaml.MappingNode {
			return false
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				next = n.Content[i+1]
				break
			}
		}
		if next == nil {
			return false
		}
		n = next
	}
	return true
}

// cluster describes the cluster for the protocol.
func (sc *Scenario) cluster() protocols.Cluster {
	down := map[sim.NodeID]bool{}
	for _, id := range sc.Down {
		down[id] = true
	}
	cl := protocols.Cluster{Nodes: sc.Nodes, Options: sc.opts, Seed: sc.Seed}
	for i := 1; i <= sc.Nodes; i++ {
		if !down[sim.NodeID(i)] {
			cl.Members = append(cl.Members, sim.NodeID(i))
		}
	}
	return cl
}

// errPath makes an error from "path: message", locating the path's line.
func (sc *Scenario) errPath(s string) error {
	path, msg, ok := strings.Cut(s, ": ")
	if !ok {
		return &Error{File: sc.File, Msg: s}
	}
	return sc.errAt(path, msg)
}

var indexed = regexp.MustCompile(`^(\w+)\[(\d+)\]$`)

// errAt makes an error for a field path ("network.latency.min",
// "faults[2]"), with the line of that field in the file when known.
func (sc *Scenario) errAt(path, msg string) error {
	return &Error{File: sc.File, Line: lineOf(sc.root, path), Field: path, Msg: msg}
}

// lineOf finds the line of a dotted field path in a YAML tree (0: unknown).
func lineOf(n *yaml.Node, path string) int {
	if n == nil {
		return 0
	}
	line := n.Line
	for _, part := range strings.Split(path, ".") {
		idx := -1
		if m := indexed.FindStringSubmatch(part); m != nil {
			part = m[1]
			idx, _ = strconv.Atoi(m[2])
		}
		if n.Kind != yaml.MappingNode {
			return line
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == part {
				line = n.Content[i].Line
				next = n.Content[i+1]
				break
			}
		}
		if next == nil {
			return line
		}
		n = next
		if idx >= 0 {
			if n.Kind != yaml.SequenceNode || idx >= len(n.Content) {
				return line
			}
			n = n.Content[idx]
			line = n.Line
		}
	}
	return line
}

// locateScalar finds the first scalar whose value the message mentions and
// returns its line and field path.
func locateScalar(n *yaml.Node, path, msg string) (int, string) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := n.Content[i].Value
			if path != "" {
				p = path + "." + p
			}
			if l, f := locateScalar(n.Content[i+1], p, msg); l > 0 {
				return l, f
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if l, f := locateScalar(c, fmt.Sprintf("%s[%d]", path, i), msg); l > 0 {
				return l, f
			}
		}
	case yaml.ScalarNode:
		if n.Value != "" && (strings.Contains(msg, strconv.Quote(n.Value)) || strings.Contains(msg, " "+n.Value+" ")) {
			return n.Line, path
		}
	}
	return 0, ""
}

// ProtocolOptions returns the decoded options value (a pointer to the
// protocol's options struct), or nil.
func (sc *Scenario) ProtocolOptions() any { return sc.opts }

// SimConfig builds the simulator configuration.
func (sc *Scenario) SimConfig() (sim.Config, error) {
	cfg := sim.Config{
		Seed: sc.Seed, Nodes: sc.Nodes, Duration: sc.Duration, EventsMax: sc.EventsMax,
		Network: sc.Network, Nemesis: sc.Nemesis, FsyncDelay: sc.FsyncDelay,
		CheckEvery: sc.Checks.Every, KeepGoing: sc.Checks.KeepGoing, Down: sc.Down,
	}
	cfg.Clients = sc.Workload.Clients
	if sc.Swarm {
		n, err := SwarmNemesis(sc.Nemesis, sc.Nodes, sc.Seed)
		if err != nil {
			return cfg, sc.errAt("swarm", err.Error())
		}
		cfg.Nemesis = n
	}
	for i, s := range sc.Faults {
		f, err := sim.ParseScheduledFault(s)
		if err != nil {
			return cfg, sc.errAt(fmt.Sprintf("faults[%d]", i), err.Error())
		}
		cfg.Faults = append(cfg.Faults, f)
	}
	return cfg, nil
}

// JSON encodes the scenario for a trace header, with the options resolved.
func (sc *Scenario) JSON() json.RawMessage {
	b, err := json.Marshal(sc)
	if err != nil {
		panic(fmt.Sprintf("scenario: encode: %v", err))
	}
	return b
}

// FromJSON decodes a scenario written by JSON (a trace header's "run").
func FromJSON(data []byte, file string) (*Scenario, error) {
	sc := Default("")
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(sc); err != nil {
		return nil, &Error{File: file, Line: 1, Field: "run", Msg: err.Error()}
	}
	sc.File = file
	sc.mixGiven = true // JSON always holds the mix the run used
	if err := sc.resolve(); err != nil {
		if e, ok := err.(*Error); ok {
			e.Line = 1
			e.Field = "run." + e.Field
		}
		return nil, err
	}
	return sc, nil
}

// FromTrace is the scenario a trace recorded, after checking that the
// trace is the run it claims to be: its digest matches its contents (see
// sim.Trace.Verify) and the simulator configuration in its header is the
// one its scenario builds. A tampered trace is an error naming the file,
// line and field; a trace without a digest (an older synod's) is accepted,
// and t.Verify() tells it apart (errors.Is(err, sim.ErrTraceUnsigned)) for
// a viewer that wants to warn. Replay, diagram, shrink and the TUI load
// traces through this.
func FromTrace(t *sim.Trace) (*Scenario, error) {
	if err := t.Verify(); err != nil && !errors.Is(err, sim.ErrTraceUnsigned) {
		return nil, err
	}
	sc, err := FromJSON(t.Header.Run, t.Name)
	if err != nil {
		return nil, err
	}
	inst, err := Build(sc)
	if err != nil {
		return nil, &Error{File: t.Name, Line: 1, Field: "run", Msg: err.Error()}
	}
	// The fields that say which run this is. (Not the whole config:
	// the JSON of a run leaves out fields its values ignore, such as the
	// maximum of a constant latency, which the build fills in.)
	want, got := inst.Sim.Config(), t.Header.Sim
	for _, f := range []struct {
		name      string
		want, got any
	}{
		{"seed", want.Seed, got.Seed}, {"nodes", want.Nodes, got.Nodes}, {"clients", want.Clients, got.Clients},
		{"duration", want.Duration, got.Duration}, {"events_max", want.EventsMax, normalEventsMax(got.EventsMax)},
		{"keep_going", want.KeepGoing, got.KeepGoing}, {"faults", len(want.Faults), len(got.Faults)},
	} {
		if f.want != f.got {
			return nil, &sim.TraceError{File: t.Name, Line: 1, Field: "sim." + f.name,
				Msg: fmt.Sprintf("tampered: %v in the header's simulator configuration, but its run says %v", f.got, f.want)}
		}
	}
	return sc, nil
}

// normalEventsMax is the events bound a configuration means (zero: the
// default).
func normalEventsMax(n int64) int64 {
	if n == 0 {
		return sim.DefaultEventsMax
	}
	return n
}

// Clone returns a deep copy, for overriding fields.
func (sc *Scenario) Clone() *Scenario {
	c, err := FromJSON(sc.JSON(), sc.File)
	if err != nil {
		panic(fmt.Sprintf("scenario: clone of a valid scenario failed: %v", err))
	}
	c.root = sc.root
	c.mixGiven = sc.mixGiven
	return c
}

// SetOption sets one protocol option from "key=value" text, as YAML would
// decode it (`pre_vote=true`, `election_min=150ms`), and re-checks the
// scenario. Unknown keys and bad values are errors naming the option.
func (sc *Scenario) SetOption(kv string) error {
	key, val, ok := strings.Cut(kv, "=")
	if !ok || key == "" {
		return &Error{File: sc.File, Field: "options", Msg: fmt.Sprintf("%q: want key=value", kv)}
	}
	if sc.opts == nil {
		return &Error{File: sc.File, Field: "options." + key, Msg: fmt.Sprintf("protocol %s has no options", sc.Protocol)}
	}
	keys := optionKeys(reflect.TypeOf(sc.opts).Elem())
	if !slices.Contains(keys, key) {
		return &Error{File: sc.File, Field: "options." + key, Msg: fmt.Sprintf("unknown option (options of %s: %s)", sc.Protocol, strings.Join(keys, ", "))}
	}
	fresh := reflect.New(reflect.TypeOf(sc.opts).Elem()).Interface()
	if err := json.Unmarshal(sc.RawOpts, fresh); err != nil {
		return &Error{File: sc.File, Field: "options", Msg: err.Error()}
	}
	if err := yaml.Unmarshal([]byte(key+": "+val), fresh); err != nil {
		e := yamlError(sc.File, 0, err).(*Error)
		e.Line, e.Field = 0, "options."+key
		return e
	}
	raw, err := json.Marshal(fresh)
	if err != nil {
		return &Error{File: sc.File, Field: "options." + key, Msg: err.Error()}
	}
	sc.RawOpts = raw
	return sc.Revalidate()
}

// SetOptions replaces the protocol options with v (a pointer to the
// protocol's options struct, typically ProtocolOptions() after editing)
// and re-checks the scenario.
func (sc *Scenario) SetOptions(v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return &Error{File: sc.File, Field: "options", Msg: err.Error()}
	}
	sc.RawOpts = raw
	return sc.Revalidate()
}

// optionKeys lists the YAML names of an options struct's fields, sorted.
func optionKeys(t reflect.Type) []string {
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		keys = append(keys, name)
	}
	sort.Strings(keys)
	return keys
}

// ResetOptions drops the protocol options (after the protocol changed):
// the new protocol's defaults apply. The swarm's option lists go too: they
// are values of the old protocol's options.
func (sc *Scenario) ResetOptions() {
	sc.opts = nil
	sc.RawOpts = nil
	sc.Options = yaml.Node{}
	sc.SwarmOptions = nil
}

// Revalidate re-checks the scenario after fields were changed (by flags).
func (sc *Scenario) Revalidate() error {
	sc.Options = yaml.Node{}
	return sc.resolve()
}
