package protocols

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/synod-dev/synod/sim"
)

// NewWorkloadClient returns the key-value workload's client: a KVClient,
// or, when the workload names the nodes clients send to (Workload.Nodes),
// a FixedClient, which a model checker may search with symmetry.
func NewWorkloadClient(w *Workload, stop sim.Time) sim.Process {
	c := NewKVClient(w, stop)
	if len(w.Nodes) > 0 {
		return &FixedClient{KVClient: c}
	}
	return c
}

// FixedClient is a KVClient that sends only to the nodes Workload.Nodes
// lists (it behaves exactly as a KVClient does with them). It offers what
// a search with symmetry needs (sim.SymmetricProcess): a complete state
// encoding, and the nodes it names (sim.NodeNamer), which the search
// requires the group of node renamings to fix. Its state then names only
// fixed nodes, and every node that answers it is one of them, so its
// renamed state is its state. (Paxos with options.proposers: the clients
// send to proposers, the acceptors are renamed.)
type FixedClient struct {
	*KVClient
}

// CloneProcess implements sim.ProcessCloner.
func (c *FixedClient) CloneProcess() sim.Process {
	return &FixedClient{KVClient: c.KVClient.CloneProcess().(*KVClient)}
}

// NamedNodes implements sim.NodeNamer.
func (c *FixedClient) NamedNodes() []sim.NodeID { return c.w.Nodes }

// AppendState implements sim.StateAppender: what decides the client's
// next steps. Left out: times (the operation's deadline and arrival
// times; as for the nodes, the search fires timers in any order), the
// counts of attempts and of dropped replies (they only record), and the
// finished operations but for their number.
func (c *FixedClient) AppendState(b []byte) []byte {
	b = binary.AppendVarint(b, int64(c.leader))
	b = binary.AppendVarint(b, c.seq)
	b = binary.AppendVarint(b, int64(c.history.Len()))
	if c.cur >= 0 {
		r := c.history.At(c.cur)
		b = append(b, 1)
		b = binary.AppendVarint(b, r.Seq)
		j, err := json.Marshal(r.Op)
		if err != nil {
			panic(fmt.Sprintf("client: op %v: %v", r.Op, err))
		}
		b = binary.AppendUvarint(b, uint64(len(j)))
		b = append(b, j...)
	} else {
		b = append(b, 0)
	}
	b = binary.AppendVarint(b, int64(c.to))
	if c.timer != 0 {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = binary.AppendVarint(b, int64(c.redirects))
	if c.maybe {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(c.arrivals)))
	keys := make([]string, 0, len(c.lastSeen))
	for k := range c.lastSeen {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		b = binary.AppendUvarint(b, uint64(len(c.lastSeen[k])))
		b = append(b, c.lastSeen[k]...)
	}
	return b
}

// AppendStatePermuted implements sim.SymmetricProcess. Every node the
// client names (the leader it believes in, the node its attempt went
// to) is one of Workload.Nodes, which the group fixes (sim.Sim.Symmetry
// refuses it otherwise), or a leader a refusal pointed it to, which must
// be fixed too (a Paxos leader is a proposer), so the renamed state is
// the state. It asserts both.
func (c *FixedClient) AppendStatePermuted(b []byte, p sim.Permutation) []byte {
	for _, id := range c.w.Nodes {
		if p.Of(id) != id {
			panic(fmt.Sprintf("client: %v moves %v, which the client sends to (workload.nodes %v)", p, id, c.w.Nodes))
		}
	}
	// A refusal's hint may point outside the list (to another proposer);
	// it must still be a node the group fixes.
	for _, id := range []sim.NodeID{c.leader, c.to} {
		if p.Of(id) != id {
			panic(fmt.Sprintf("client: %v moves %v, which the client names (a leader hint it followed; workload.nodes %v)", p, id, c.w.Nodes))
		}
	}
	return c.AppendState(b)
}

// PermuteStored implements sim.SymmetricProcess: a client stores nothing.
func (c *FixedClient) PermuteStored(key string, _ []byte, _ sim.Permutation, _ []byte) []byte {
	panic(fmt.Sprintf("client: stored %q", key))
}

// Symmetric implements sim.SymmetricProcess: the nodes it names are
// checked against the group (NamedNodes).
func (c *FixedClient) Symmetric() error { return nil }

// AppendStatePermuted implements sim.SymmetricMessage: the JSON form of
// the request; a client is no node, so nothing is renamed.
func (r *Request) AppendStatePermuted(b []byte, p sim.Permutation) []byte {
	c := *r
	c.Client = p.Of(r.Client)
	return appendJSON(b, &c)
}

// AppendStatePermuted implements sim.SymmetricMessage: the JSON form of
// the response with the leader it points to renamed.
func (r *Response) AppendStatePermuted(b []byte, p sim.Permutation) []byte {
	c := *r
	c.Leader = p.Of(r.Leader)
	return appendJSON(b, &c)
}

func appendJSON(b []byte, m sim.Message) []byte {
	j, err := json.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("%s: %v", m.MessageType(), err))
	}
	return append(b, j...)
}

var (
	_ sim.SymmetricProcess = (*FixedClient)(nil)
	_ sim.NodeNamer        = (*FixedClient)(nil)
	_ OpLogger             = (*FixedClient)(nil)
	_ sim.SymmetricMessage = (*Request)(nil)
	_ sim.SymmetricMessage = (*Response)(nil)
)
