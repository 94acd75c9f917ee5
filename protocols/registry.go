package protocols

import (
	"fmt"
	"sort"
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
	// Messages are example values of every message type the protocol sends.
	Messages []sim.Message
	// Workload names the client workload: "kv" (default) or a protocol's own.
	Workload string
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

// Register adds a protocol; registering a name twice panics.
func Register(s Spec) {
	regMu.Lock()
	defer regMu.Unlock()
	if s.Name == "" || s.New == nil {
		panic("protocols: Register needs a Name and New")
	}
	if _, dup := registry[s.Name]; dup {
		panic(fmt.Sprintf("protocols: %q registered twice", s.Name))
	}
	sim.Messages.Register(s.Messages...)
	registry[s.Name] = &s
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
