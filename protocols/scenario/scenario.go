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
	Protocol string   `yaml:"protocol" json:"protocol"`
	Nodes    int      `yaml:"nodes" json:"nodes"`
	Seed     uint64   `yaml:"seed" json:"seed"`
	Duration sim.Time `yaml:"duration" json:"duration"`
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
	Swarm      bool               `yaml:"swarm" json:"swarm,omitempty"`
	Workload   protocols.Workload `yaml:"workload" json:"workload"`
	Checks     Checks             `yaml:"checks" json:"checks"`
	FsyncDelay sim.Time           `yaml:"fsync_delay" json:"fsync_delay,omitempty"`
	Down       []sim.NodeID       `yaml:"down" json:"down,omitempty"`
	EventsMax  int64              `yaml:"events_max" json:"events_max,omitempty"`

	// File names the scenario's source for error messages.
	File string `yaml:"-" json:"-"`
	root *yaml.Node
	opts any
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
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Msg: fmt.Sprintf("cannot read: %v", errors.Unwrap(err))}
	}
	return Parse(data, path)
}

// MaxFileSize bounds a scenario file.
const MaxFileSize = 1 << 20

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
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlError(file, 0, err)
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
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(sc); err != nil {
		e := yamlError(file, 0, err).(*Error)
		if e.Line == 0 {
			// Errors from a value's own decoder (a duration, a node id)
			// carry no line: find the scalar they quote.
			e.Line, e.Field = locateScalar(doc, "", err.Error())
		}
		return nil, e
	}
	sc.File = file
	sc.root = doc
	if err := sc.resolve(); err != nil {
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
				return e
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
		if err := sc.Workload.Validate(); err != nil {
			return sc.errPath("workload." + err.Error())
		}
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
	if err := sc.resolve(); err != nil {
		if e, ok := err.(*Error); ok {
			e.Line = 1
			e.Field = "run." + e.Field
		}
		return nil, err
	}
	return sc, nil
}

// Clone returns a deep copy, for overriding fields.
func (sc *Scenario) Clone() *Scenario {
	c, err := FromJSON(sc.JSON(), sc.File)
	if err != nil {
		panic(fmt.Sprintf("scenario: clone of a valid scenario failed: %v", err))
	}
	c.root = sc.root
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
// the new protocol's defaults apply.
func (sc *Scenario) ResetOptions() {
	sc.opts = nil
	sc.RawOpts = nil
	sc.Options = yaml.Node{}
}

// Revalidate re-checks the scenario after fields were changed (by flags).
func (sc *Scenario) Revalidate() error {
	sc.Options = yaml.Node{}
	return sc.resolve()
}
