package protocols

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/synod-dev/synod/sim"
)

// Node is the interface every protocol's node implements: a deterministic
// state machine driven by the simulator (sim.Process) that can show its
// state (sim.Inspector).
type Node interface {
	sim.Process
	sim.Inspector
}

// Cluster describes the cluster a protocol's nodes are built for.
type Cluster struct {
	// Nodes is the number of node slots, n1..nN.
	Nodes int
	// Members are the nodes in the initial configuration; the others are
	// spares (started later by a restart fault or a membership change).
	Members []sim.NodeID
	// Options is the protocol's options value (as returned by Spec.Options
	// and filled from the scenario), or nil when the protocol has none.
	Options any
	// Seed is the run's seed, for protocols that derive names from it. Nodes
	// must still draw randomness from env.Rand().
	Seed uint64
}

// Spec registers a protocol.
type Spec struct {
	// Name is how scenarios and the CLI select the protocol ("raft").
	Name string
	// Description is one line for `synod protocols`.
	Description string
	// Options returns a pointer to a fresh options struct holding the
	// defaults; scenario files decode `options:` into it with unknown fields
	// rejected. Nil means the protocol has no options.
	Options func() any
	// New checks the options and returns the node constructor. It is called
	// once per run; the constructor is called at every (re)start.
	New func(c Cluster) (func(id sim.NodeID) Node, error)
	// Checkers returns fresh invariant checkers for a run.
	Checkers func(c Cluster) []sim.Checker
	// Messages are example values of every message type the protocol's
	// nodes send (pointers to zero structs: &Vote{}). A node that sends a
	// type not listed stops the run at that send, with an error naming the
	// type and this Spec: a trace of it could not be replayed. The
	// key-value workload's Request and Response need not be listed.
	Messages []sim.Message
	// Workload names the client workload: "kv" (default) or a protocol's own.
	Workload string
	// Ops lists the key-value operations the protocol serves (nil: all of
	// get, put, append and cas). A scenario whose mix weighs another is a
	// configuration error at load, naming the protocol and the field.
	Ops []OpKind
	// Mix is the protocol's default mix, used by scenarios that name none
	// (nil: DefaultWorkload's). It may weigh only Ops.
	Mix *Mix
	// Retry is what the key-value client does when an attempt times out
	// (empty: RetryOtherNode); see RetryPolicy. A scenario may override it
	// with workload.retry.
	Retry RetryPolicy
	// Scenario is the protocol's own default scenario, YAML text naming
	// this protocol (usually go:embed'ed), for a protocol the default
	// scenario's Raft-minded faults or workload do not suit: `synod run
	// --protocol NAME` runs it. Nil: the embedded default scenario, its
	// network, nemesis and workload kept and the protocol replaced.
	Scenario []byte
	// Client, when set, builds the protocol's own client process instead of
	// the key-value workload.
	Client func(c Cluster, w *Workload) (func(id sim.NodeID) sim.Process, error)
	// Linearizable says whether the KV history should be checked with
	// porcupine (true for replicated KV stores).
	Linearizable bool
	// Metrics, when set, reports protocol-specific figures at the end of a
	// run (time participants spent blocked, elections held, ...), computed
	// from the run's true state. They appear in `synod run`'s summary.
	Metrics func(s *sim.Sim) []sim.Field
}

var (
	regMu    sync.RWMutex
	registry = map[string]*Spec{}
)

// Register adds a protocol, from an init function. A bad Spec (see Add)
// panics with the error: a programming error, found when the program
// starts.
func Register(s Spec) {
	if err := Add(s); err != nil {
		panic("protocols: " + err.Error())
	}
}

// Add adds a protocol, or returns an error naming the protocol and the
// Spec field at fault: a missing Name or New, a name already registered, a
// message type listed twice, nil or named like another Go type, an
// operation, mix or retry policy that does not exist or does not agree
// with Ops. Nothing is registered on error.
func Add(s Spec) error {
	regMu.Lock()
	defer regMu.Unlock()
	if s.Name == "" {
		return fmt.Errorf("Spec.Name: missing (the name scenarios and --protocol use)")
	}
	if s.New == nil {
		return fmt.Errorf("protocol %s: Spec.New: missing (the node constructor)", s.Name)
	}
	if _, dup := registry[s.Name]; dup {
		return fmt.Errorf("protocol %s: Spec.Name: %q is registered twice", s.Name, s.Name)
	}
	if err := s.check(); err != nil {
		return fmt.Errorf("protocol %s: %v", s.Name, err)
	}
	sim.Messages.Register(s.AllMessages()...)
	registry[s.Name] = &s
	return nil
}

// kvMessages are the key-value workload's messages, which every protocol
// it drives sends and receives without listing them.
var kvMessages = []sim.Message{&Request{}, &Response{}}

// AllMessages are the message types a run of the protocol may send:
// Messages, with the key-value workload's when the protocol uses it.
func (s *Spec) AllMessages() []sim.Message {
	out := append([]sim.Message{}, s.Messages...)
	if s.Client != nil {
		return out
	}
	for _, m := range kvMessages {
		if !slices.ContainsFunc(out, func(x sim.Message) bool { return x != nil && x.MessageType() == m.MessageType() }) {
			out = append(out, m)
		}
	}
	return out
}

// check checks the Spec's declarations, naming the field at fault.
func (s *Spec) check() error {
	seen := map[string]int{}
	for i, m := range s.Messages {
		if m == nil {
			return fmt.Errorf("Spec.Messages[%d]: nil (want an example value such as &Vote{})", i)
		}
		name := m.MessageType()
		if name == "" {
			return fmt.Errorf("Spec.Messages[%d]: %T has an empty MessageType()", i, m)
		}
		if j, dup := seen[name]; dup {
			return fmt.Errorf("Spec.Messages[%d]: message type %q is listed twice (also at [%d])", i, name, j)
		}
		seen[name] = i
		if t, ok := sim.Messages.Type(name); ok && t != reflect.TypeOf(m) {
			return fmt.Errorf("Spec.Messages[%d]: message type %q is %T here but %v in another protocol: give it its own name", i, name, m, t)
		}
	}
	if s.Client != nil && (s.Ops != nil || s.Mix != nil || s.Retry != "") {
		return fmt.Errorf("Spec.Ops, Spec.Mix and Spec.Retry declare the key-value workload, and the protocol has its own Spec.Client")
	}
	ops := map[OpKind]bool{}
	for i, op := range s.Ops {
		if !slices.Contains(MixOps, op) {
			return fmt.Errorf("Spec.Ops[%d]: %q is not a key-value operation (want %s)", i, op, opList(MixOps))
		}
		if ops[op] {
			return fmt.Errorf("Spec.Ops[%d]: %q is listed twice", i, op)
		}
		ops[op] = true
	}
	if s.Mix != nil {
		if err := s.Mix.Validate(); err != nil {
			return fmt.Errorf("Spec.Mix: %v", err)
		}
	}
	if op, ok := s.unsupported(s.DefaultMix()); ok {
		if s.Mix == nil {
			return fmt.Errorf("Spec.Mix: missing: Spec.Ops (%s) leaves out %s, which the default mix weighs: declare the protocol's own mix", opList(s.Ops), op)
		}
		return fmt.Errorf("Spec.Mix.%s: weighs an operation outside Spec.Ops (%s)", op, opList(s.Ops))
	}
	if err := s.Retry.Validate(); err != nil {
		return fmt.Errorf("Spec.Retry: %v", err)
	}
	return nil
}

// SupportedOps are the operations the protocol serves: Ops, or all.
func (s *Spec) SupportedOps() []OpKind {
	if s.Ops == nil {
		return MixOps
	}
	return s.Ops
}

// DefaultMix is the mix of a scenario that names none: Mix, or
// DefaultWorkload's.
func (s *Spec) DefaultMix() Mix {
	if s.Mix != nil {
		return *s.Mix
	}
	return DefaultWorkload().Mix
}

// RetryPolicy is the client's policy when none is named: Retry, or
// RetryOtherNode.
func (s *Spec) RetryPolicy() RetryPolicy {
	if s.Retry == "" {
		return RetryOtherNode
	}
	return s.Retry
}

// unsupported returns the first operation m weighs that the protocol does
// not serve.
func (s *Spec) unsupported(m Mix) (OpKind, bool) {
	for _, op := range MixOps {
		if m.Weight(op) > 0 && !slices.Contains(s.SupportedOps(), op) {
			return op, true
		}
	}
	return "", false
}

// CheckMix checks a scenario's mix against the operations the protocol
// serves; the error starts with the field ("mix.append: ...").
func (s *Spec) CheckMix(m Mix) error {
	if op, ok := s.unsupported(m); ok {
		return fmt.Errorf("mix.%s: protocol %s does not serve %s (it serves %s): give it weight 0 or leave the mix out for the protocol's default", op, s.Name, op, opList(s.SupportedOps()))
	}
	return nil
}

func opList(ops []OpKind) string {
	out := make([]string, len(ops))
	for i, op := range ops {
		out[i] = string(op)
	}
	return strings.Join(out, ", ")
}

// Lookup returns the protocol registered under name.
func Lookup(name string) (*Spec, error) {
	regMu.RLock()
	defer regMu.RUnlock()
	if s, ok := registry[name]; ok {
		return s, nil
	}
	return nil, fmt.Errorf("unknown protocol %q (registered: %s)", name, joinNames())
}

// All returns every registered protocol, sorted by name.
func All() []*Spec {
	regMu.RLock()
	defer regMu.RUnlock()
	out := make([]*Spec, 0, len(registry))
	for _, s := range registry {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func joinNames() string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	s := ""
	for i, n := range names {
		if i > 0 {
			s += ", "
		}
		s += n
	}
	return s
}
