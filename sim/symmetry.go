package sim

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Symmetry. When a protocol's nodes are interchangeable, a state and the
// same state with the node ids permuted (n1's state at n2, n2's at n3, and
// every id inside states, stored values and messages renamed alike) behave
// alike up to that renaming: one reaches a violation of a symmetric
// invariant exactly when the other does. A model checker may then keep one
// state per class (symmetry reduction). This file offers what it needs:
// each process's and pending event's part of the fingerprint under a
// permutation (Sim.PermutedProcessFingerprint, PermutedEventFingerprint),
// from the protocol's permuted encodings (SymmetricProcess,
// SymmetricMessage); the explorer puts them together (sim/explore).
//
// Random streams are left out of the fingerprint already (a search fires
// timers in any order, so which value a node's stream draws next does not
// decide what can happen), so that each node has a stream of its own
// does not break the symmetry a search sees.

// SymmetryNodesMax bounds the nodes of a run searched with symmetry: the
// canonical fingerprint may try every permutation of the nodes (5! =
// 120) when their parts tie.
const SymmetryNodesMax = 5

// Permutation renames node ids: node i becomes Of(i). Clients (negative
// ids), 0 (no node) and ids past the run's nodes are left alone.
type Permutation struct {
	to, from []NodeID // to[i] = Of(i), from[Of(i)] = i; index 0 unused
	// carry is what the protocol renames along with the node ids
	// (PermutationCarrier), for its permuted encodings to read.
	carry any
}

// Carried returns what the protocol attached to p (PermutationCarrier),
// or nil.
func (p Permutation) Carried() any { return p.carry }

// Carrying returns p carrying c.
func (p Permutation) Carrying(c any) Permutation {
	p.carry = c
	return p
}

// Of returns the id that id has in the permuted state.
func (p Permutation) Of(id NodeID) NodeID {
	if id <= 0 || int(id) >= len(p.to) {
		return id
	}
	return p.to[id]
}

// Inverse returns the id whose permuted id is id: a per-node array
// encoded in id order puts, at id q, the entry of Inverse(q).
func (p Permutation) Inverse(id NodeID) NodeID {
	if id <= 0 || int(id) >= len(p.from) {
		return id
	}
	return p.from[id]
}

// Identity reports whether p renames nothing.
func (p Permutation) Identity() bool {
	for i := 1; i < len(p.to); i++ {
		if p.to[i] != NodeID(i) {
			return false
		}
	}
	return true
}

func (p Permutation) String() string {
	s := ""
	for i := 1; i < len(p.to); i++ {
		if i > 1 {
			s += " "
		}
		s += NodeID(i).String() + "->" + p.to[i].String()
	}
	return s
}

// NewPermutation returns the permutation that renames node i+1 to to[i].
// It panics unless to is a permutation of 1..len(to).
func NewPermutation(to ...NodeID) Permutation {
	p := Permutation{to: make([]NodeID, len(to)+1), from: make([]NodeID, len(to)+1)}
	for i, t := range to {
		if t < 1 || int(t) > len(to) || p.from[t] != 0 {
			panic(fmt.Sprintf("sim: %v is not a permutation of 1..%d", to, len(to)))
		}
		p.to[i+1], p.from[t] = t, NodeID(i+1)
	}
	return p
}

// Permutations returns every permutation of n nodes, the identity first
// (in lexicographic order), n at most SymmetryNodesMax.
func Permutations(n int) []Permutation {
	if n < 1 || n > SymmetryNodesMax {
		panic(fmt.Sprintf("sim: permutations of %d nodes; want 1..%d", n, SymmetryNodesMax))
	}
	var out []Permutation
	cur := make([]NodeID, 0, n)
	used := make([]bool, n+1)
	var rec func()
	rec = func() {
		if len(cur) == n {
			out = append(out, NewPermutation(cur...))
			return
		}
		for id := 1; id <= n; id++ {
			if !used[id] {
				used[id] = true
				cur = append(cur, NodeID(id))
				rec()
				cur = cur[:len(cur)-1]
				used[id] = false
			}
		}
	}
	rec() // depth n <= SymmetryNodesMax
	return out
}

// PermutationsOf returns the permutations of len(classes) nodes that map
// every node to a node of its class (node i+1's class is classes[i]): the
// group a protocol whose nodes are interchangeable only within classes
// (SymmetryClasser) is symmetric under. The identity comes first. All
// classes equal: Permutations(len(classes)).
func PermutationsOf(classes []int) []Permutation {
	var out []Permutation
	for _, p := range Permutations(len(classes)) {
		keeps := true
		for i, c := range classes {
			keeps = keeps && classes[p.Of(NodeID(i+1))-1] == c
		}
		if keeps {
			out = append(out, p)
		}
	}
	return out
}

// SymmetryClasser is implemented by a SymmetricProcess whose nodes are
// interchangeable only in part: nodes of one class may be renamed into one
// another, a node alone in its class is fixed (say, 2PC's coordinator,
// which the clients address by id, while its participants are
// interchangeable). A process that does not implement it is in class 0,
// so a protocol whose nodes are all interchangeable (Raft) need not.
type SymmetryClasser interface {
	// SymmetryClass is the node's class: the same number for nodes that
	// are interchangeable, under the process's options.
	SymmetryClass() int
}

// PermutationCarrier is implemented by a SymmetricProcess whose renaming
// of node ids carries a renaming of something else: 2PC's accounts,
// which belong to participants, are renamed with them. Its messages'
// permuted encodings, which see only the permutation, read it there
// (Permutation.Carried).
type PermutationCarrier interface {
	// CarryPermutation returns p carrying the rest of the renaming.
	CarryPermutation(p Permutation) Permutation
}

// SymmetryGroup returns the permutations a search with symmetry merges
// states by: those that keep every node in its class (PermutationsOf the
// SymmetryClasses), the identity first, each carrying what the protocol
// renames along with the node ids (PermutationCarrier, asked of n1).
func (s *Sim) SymmetryGroup() []Permutation {
	perms := PermutationsOf(s.SymmetryClasses())
	if c, ok := s.st.proc(1).p.(PermutationCarrier); ok {
		for q := range perms {
			perms[q] = c.CarryPermutation(perms[q])
		}
	}
	return perms
}

// SymmetryClasses returns each node's class (SymmetryClasser), node i+1's
// at index i; the group a search with symmetry uses is PermutationsOf it.
// Every node's process must be started.
func (s *Sim) SymmetryClasses() []int {
	out := make([]int, s.st.cfg.Nodes)
	for i := range out {
		e := s.st.proc(NodeID(i + 1))
		if e == nil || e.p == nil {
			panic(fmt.Sprintf("sim: symmetry classes: n%d has no process", i+1))
		}
		if c, ok := e.p.(SymmetryClasser); ok {
			out[i] = c.SymmetryClass()
		}
	}
	return out
}

// SymmetricProcess is implemented by a process whose nodes are
// interchangeable (all of them, or those of one class: SymmetryClasser).
// Its contract: for every permutation p of the group (PermutationsOf the
// classes), the state that AppendStatePermuted(b, p) encodes for node
// Of(id), with the stored values PermuteStored gives, and the messages
// their SymmetricMessage encodings, behaves as the original does with
// every node id renamed by p (and whatever the protocol renames along
// with them, such as the accounts a participant owns). In particular the
// protocol never decides by comparing the ids of two nodes the group moves
// (a ballot that breaks ties by node id is not symmetric), timer names and
// arguments and storage keys carry no such id, no hidden state (a random
// stream) decides which of them is picked, and a checker's verdict does
// not depend on which node is which.
type SymmetricProcess interface {
	StateAppender
	// AppendStatePermuted is AppendState with every node id x in the
	// state written as p.Of(x), and every per-node array in the order of
	// the permuted ids. For the identity it appends what AppendState does.
	AppendStatePermuted(b []byte, p Permutation) []byte
	// PermuteStored appends to scratch the value stored at key as the
	// permuted node would have stored it. It must not read the node's
	// state: a crashed node's records are renamed by another node's
	// process.
	PermuteStored(key string, value []byte, p Permutation, scratch []byte) []byte
	// Symmetric says why the nodes are not interchangeable under the
	// process's options (a bug or option that names a node), or nil.
	Symmetric() error
}

// NodeNamer is implemented by a SymmetricProcess whose behaviour names
// nodes by id (a client that sends to a list of nodes): the group must fix
// every node it names, so Symmetry refuses a group that moves one.
type NodeNamer interface {
	// NamedNodes lists the nodes the process names.
	NamedNodes() []NodeID
}

// SymmetricMessage is a message with a permuted encoding: its
// StateAppender encoding with every node id x written as p.Of(x).
type SymmetricMessage interface {
	AppendStatePermuted(b []byte, p Permutation) []byte
}

// Symmetry reports whether the run's nodes are interchangeable, so that a
// search may merge states equal up to a permutation of node ids: every
// process (clients too) is a SymmetricProcess that says so, there are at
// most SymmetryNodesMax nodes, and no scheduled fault is pending (faults
// name nodes). The error says what is not.
func (s *Sim) Symmetry() error {
	st := s.st
	if n := st.cfg.Nodes; n > SymmetryNodesMax {
		return fmt.Errorf("symmetry needs at most %d nodes (it tries all %d! permutations); the run has %d", SymmetryNodesMax, SymmetryNodesMax, n)
	}
	for _, e := range st.procs {
		if e.p == nil {
			return fmt.Errorf("symmetry needs every process started; %v is not", e.id)
		}
		sp, ok := e.p.(SymmetricProcess)
		if !ok {
			if e.id < 0 {
				return fmt.Errorf("symmetry needs every process to be interchangeable or fixed; client %v (%T) offers no permuted encoding (its requests choose nodes by id): search without clients, or with clients that send to fixed nodes only (workload.nodes)", e.id, e.p)
			}
			return fmt.Errorf("symmetry needs a protocol whose nodes are interchangeable (sim.SymmetricProcess); %v is a %T, which does not offer it", e.id, e.p)
		}
		if err := sp.Symmetric(); err != nil {
			return fmt.Errorf("symmetry: %v: %w", e.id, err)
		}
	}
	classes := s.SymmetryClasses()
	for _, e := range st.procs {
		nn, ok := e.p.(NodeNamer)
		if !ok {
			continue
		}
		for _, id := range nn.NamedNodes() {
			if int(id) < 1 || int(id) > len(classes) {
				continue
			}
			for j, c := range classes {
				if NodeID(j+1) != id && c == classes[id-1] {
					return fmt.Errorf("symmetry: %v names %v by id, and %v is interchangeable with %v (symmetry class %d), so renaming them changes what %v does: name only nodes the group fixes", e.id, id, id, NodeID(j+1), c, e.id)
				}
			}
		}
	}
	for i := range st.q.heap {
		if ev := &st.q.slab[st.q.heap[i].slot]; ev.Kind == KindFault {
			return fmt.Errorf("symmetry: a scheduled fault is pending (%v); faults name nodes, so the nodes are not interchangeable", ev.Fault)
		}
	}
	return nil
}

// ErrNotSymmetric is wrapped by the permuted fingerprints when a process or
// message offers no permuted encoding.
var ErrNotSymmetric = errors.New("no permuted encoding")

// PermutedProcessFingerprint returns the fingerprint part that process k
// (its index among AppendProcessFingerprints') would have as node
// p.Of(id): its permuted state and storage. buf is scratch, returned.
func (s *Sim) PermutedProcessFingerprint(k int, p Permutation, buf []byte) (uint64, []byte, error) {
	e := s.st.procs[k]
	b := binary.AppendVarint(buf[:0], int64(p.Of(e.id)))
	var sp SymmetricProcess
	if e.p != nil {
		var ok bool
		if sp, ok = e.p.(SymmetricProcess); !ok {
			return 0, b, fmt.Errorf("%v (%T): %w", e.id, e.p, ErrNotSymmetric)
		}
	}
	if !e.up {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		b = sp.AppendStatePermuted(b, p)
	}
	if e.store != nil {
		var fp uint64
		if e.store.Len() > 0 {
			if sp == nil {
				// A crashed node has no process: its records are
				// renamed by another node's (PermuteStored reads no
				// state of the node).
				sp = s.anySymmetricProcess()
			}
			if sp == nil {
				return 0, b, fmt.Errorf("%v: stored values and no process to permute them: %w", e.id, ErrNotSymmetric)
			}
			var arr [64]byte
			for _, key := range e.store.Keys("") {
				v, _ := e.store.lookup(key)
				pv := sp.PermuteStored(key, v, p, arr[:0])
				fp += e.store.entryFP(key, pv)
			}
		}
		b = binary.LittleEndian.AppendUint64(b, fp)
	}
	b = append(b, 0xff)
	return hashBytes(b), b, nil
}

// PermutedEventFingerprint returns the fingerprint part that the pending
// event ev would have with its node ids renamed by p: sender and receiver,
// and a message's content (SymmetricMessage). Timers and faults are
// encoded as they are (a timer's name and argument name no node).
func PermutedEventFingerprint(ev *Event, p Permutation, buf []byte) (uint64, []byte, error) {
	b := append(buf[:0], byte(ev.Kind))
	b = binary.AppendVarint(b, int64(p.Of(ev.From)))
	b = binary.AppendVarint(b, int64(p.Of(ev.To)))
	switch ev.Kind {
	case KindDeliver, KindRequest:
		if ev.Msg == nil {
			b = append(b, 0)
			break
		}
		sm, ok := ev.Msg.(SymmetricMessage)
		if !ok {
			return 0, b, fmt.Errorf("message %s: %w", ev.Msg.MessageType(), ErrNotSymmetric)
		}
		b = appendString(b, ev.Msg.MessageType())
		b = sm.AppendStatePermuted(b, p)
	case KindTimer:
		b = appendString(b, ev.Timer.Name)
		b = binary.AppendVarint(b, ev.Timer.Arg)
	case KindFault:
		if ev.Fault != nil {
			b = appendString(b, ev.Fault.String())
		}
	}
	return hashBytes(b) | 1, b, nil
}

// PermutedFingerprint returns the fingerprint that the run's state would
// have with its node ids renamed by p: Fingerprint's for the identity. A
// test of a protocol's permuted encodings compares it with the
// fingerprints of the renamed states a search reaches.
func (s *Sim) PermutedFingerprint(p Permutation) (uint64, error) {
	st := s.st
	procs := make([]uint64, len(st.procs))
	var buf []byte
	for k, e := range st.procs {
		h, b, err := s.PermutedProcessFingerprint(k, p, buf)
		if err != nil {
			return 0, err
		}
		buf = b
		to := st.proc(p.Of(e.id))
		if to == nil {
			return 0, fmt.Errorf("symmetry: %v renamed %v is not a process of the run", e.id, p.Of(e.id))
		}
		procs[to.idx] = h
	}
	var pend []uint64
	for i := range st.q.heap {
		ev, _, ok := st.pendingFP(i)
		if !ok {
			continue
		}
		h, b, err := PermutedEventFingerprint(ev, p, buf)
		if err != nil {
			return 0, err
		}
		buf = b
		pend = append(pend, h)
	}
	return CombineParts(procs, st.sumPending(pend)), nil
}

// anySymmetricProcess returns the process of some up node, or nil.
func (s *Sim) anySymmetricProcess() SymmetricProcess {
	for _, e := range s.st.procs {
		if sp, ok := e.p.(SymmetricProcess); ok && e.id > 0 {
			return sp
		}
	}
	return nil
}
