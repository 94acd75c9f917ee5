package twopc

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/synod-dev/synod/sim"
)

// Symmetry (sim.SymmetricProcess) of two-phase commit: its participants
// are interchangeable, its coordinator is not. The coordinator is fixed
// (the client addresses it by id), so the group a search merges states by
// is the permutations of the participants (sim.SymmetryClasser). No rule
// compares two participants' ids: the coordinator collects a vote from
// each, a participant asks the coordinator (or, cooperative, the others)
// and answers whoever asks; timers are named by transaction, storage keys
// by log position.
//
// Accounts belong to participants (a_i to the participant at position
// i mod P), so renaming a participant renames its accounts too: a_i moves
// to the same place among the accounts of the renamed participant. That
// needs as many accounts on every participant (accounts a multiple of the
// participants). The renaming of accounts rides on the permutation
// (sim.PermutationCarrier), for the messages' encodings to read. Node ids
// and accounts appear in a transaction's participants (kept in id order,
// with what is aligned with them), its ops, the participants' data and
// locks, log records, messages, and the reasons given for an abort (text
// naming nodes and accounts, renamed word by word).
//
// The client draws its next transaction one ahead and keeps it as state
// (client.go), so that which accounts it touches next is renamed with the
// rest rather than hidden in its random stream: a renamed state's client
// sends the renamed transaction, as the renaming of the real run would.
//
// Not offered (Symmetric says why): Paxos Commit, and vote_no, whose
// votes are drawn from each participant's own random stream, which no
// renaming carries.

// The mistakes the symmetry tests exist to catch, set by them: the
// coordinator taken for an interchangeable node, and participants renamed
// without their accounts.
var symmetryMistakeCoordinator, symmetryMistakeKeys = false, false

// accountMap is the renaming of the accounts that a permutation of the
// participants carries: to[i] is the number of a_i's new name.
type accountMap struct {
	to []int
	// keyOrder: the kv workload writes keys in key order (client.go), so
	// renamed ops are put back in it.
	keyOrder bool
}

// CarryPermutation implements sim.PermutationCarrier: p with the renaming
// of the accounts it makes.
func (n *Node) CarryPermutation(p sim.Permutation) sim.Permutation {
	t := n.t
	np := len(t.parts)
	m := &accountMap{to: make([]int, t.opts.Accounts), keyOrder: t.opts.Workload == "kv"}
	for i := range m.to {
		pos := i % np
		to := slices.Index(t.parts, p.Of(t.parts[pos]))
		if to < 0 {
			panic(fmt.Sprintf("twopc: %v renames participant %v to %v, which is no participant", p, t.parts[pos], p.Of(t.parts[pos])))
		}
		m.to[i] = i - pos + to
		if m.to[i] >= len(m.to) {
			panic(fmt.Sprintf("twopc: %v renames a%d past the %d accounts (Symmetric admits only accounts a multiple of the participants)", p, i, len(m.to)))
		}
	}
	return p.Carrying(m)
}

// SymmetryClass implements sim.SymmetryClasser: the participants that are
// not the coordinator are interchangeable (class 0); any other node is
// alone in its class.
func (n *Node) SymmetryClass() int {
	if n.t.isPart(n.id) && n.id != n.t.coord || symmetryMistakeCoordinator && n.id == n.t.coord {
		return 0
	}
	return int(n.id)
}

// Symmetric implements sim.SymmetricProcess.
func (n *Node) Symmetric() error { return n.t.symmetric() }

func (t *topology) symmetric() error {
	if t.paxos {
		return errors.New("paxos-commit offers no permuted encoding: its acceptors take over in rank order (recovery_stagger) and its votes are Paxos instances named by participant, which its encodings do not rename; search it without symmetry")
	}
	if t.opts.VoteNo > 0 {
		return fmt.Errorf("options.vote_no %v: each participant draws its votes from its own random stream, which renaming the participants does not carry", t.opts.VoteNo)
	}
	if np := len(t.parts); t.opts.Accounts%np != 0 {
		return fmt.Errorf("options.accounts %d is not a multiple of the %d participants: they own different numbers of accounts, so they are not interchangeable", t.opts.Accounts, np)
	}
	return nil
}

// renaming renames node ids and the accounts they carry.
type renaming struct {
	p sim.Permutation
	m *accountMap
}

func renamingOf(p sim.Permutation) renaming {
	m, ok := p.Carried().(*accountMap)
	if !ok {
		panic(fmt.Sprintf("twopc: permutation %v carries %T, not the renaming of the accounts (use sim.Sim.SymmetryGroup)", p, p.Carried()))
	}
	return renaming{p: p, m: m}
}

func (r renaming) node(id sim.NodeID) sim.NodeID { return r.p.Of(id) }

func (r renaming) key(k string) string {
	if symmetryMistakeKeys {
		return k
	}
	i := keyIndex(k)
	if i >= len(r.m.to) {
		panic(fmt.Sprintf("twopc: key %s is past the %d accounts", k, len(r.m.to)))
	}
	return AccountKey(r.m.to[i])
}

func (r renaming) ops(ops []Op) []Op {
	if ops == nil {
		return nil
	}
	out := make([]Op, len(ops))
	for i, o := range ops {
		o.Key = r.key(o.Key)
		out[i] = o
	}
	if r.m.keyOrder {
		slices.SortStableFunc(out, func(a, b Op) int { return keyIndex(a.Key) - keyIndex(b.Key) })
	}
	return out
}

// parts renames a transaction's participants and returns them in id
// order (as the coordinator orders them), with order[i] the index in ps
// of the participant now at i: what is aligned with ps moves with it.
func (r renaming) parts(ps []sim.NodeID) (out []sim.NodeID, order []int) {
	if ps == nil {
		return nil, nil
	}
	order = make([]int, len(ps))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return int(r.node(ps[a])) - int(r.node(ps[b])) })
	out = make([]sim.NodeID, len(ps))
	for i, j := range order {
		out[i] = r.node(ps[j])
	}
	return out, order
}

// words are the node ids and accounts a reason names ("n2 voted no:
// insufficient balance on a3: ..."), with lists of them ("n2,n3").
var words = regexp.MustCompile(`\b[na][0-9]+(,[na][0-9]+)*\b`)

// text renames the nodes and accounts a reason names; a list of nodes
// stays in id order, as it was written.
func (r renaming) text(s string) string {
	return words.ReplaceAllStringFunc(s, func(w string) string {
		ws := strings.Split(w, ",")
		var ids []sim.NodeID
		for i, x := range ws {
			if x[0] == 'a' {
				ws[i] = r.key(x)
				continue
			}
			id, err := strconv.Atoi(x[1:])
			if err != nil {
				panic(fmt.Sprintf("twopc: word %q of %q: %v", x, s, err))
			}
			ids = append(ids, r.node(sim.NodeID(id)))
			ws[i] = ids[len(ids)-1].String()
		}
		if len(ids) == len(ws) {
			slices.Sort(ids)
			for i, id := range ids {
				ws[i] = id.String()
			}
		}
		return strings.Join(ws, ",")
	})
}

// AppendStatePermuted implements sim.SymmetricProcess: the state of the
// renamed copy of the node.
func (n *Node) AppendStatePermuted(b []byte, p sim.Permutation) []byte {
	if n.acc != nil || n.lead != nil {
		panic(fmt.Sprintf("twopc: %v: Paxos Commit offers no permuted encoding (Symmetric refuses it)", n.id))
	}
	r := renamingOf(p)
	m := &Node{id: r.node(n.id), t: n.t, log: n.log}
	if n.coord != nil {
		m.coord = n.coord.renamed(r)
	}
	if n.part != nil {
		m.part = n.part.renamed(r)
	}
	return m.AppendState(b)
}

// renamed returns a copy of what the coordinator's state encoding reads,
// renamed by r.
func (c *coordinator) renamed(r renaming) *coordinator {
	out := &coordinator{inc: c.inc, next: c.next, decided: c.decided, lastSeq: c.lastSeq, txns: make(map[TxnID]*ctxn, len(c.txns))}
	for id, tx := range c.txns {
		nt := *tx
		var order []int
		nt.parts, order = r.parts(tx.parts)
		nt.votes, nt.acks, nt.ops = make([]Outcome, len(order)), make([]bool, len(order)), nil
		if len(tx.ops) > 0 {
			nt.ops = make([][]Op, len(order))
		}
		for i, j := range order {
			nt.votes[i], nt.acks[i] = tx.votes[j], tx.acks[j]
			if j < len(tx.ops) {
				nt.ops[i] = r.ops(tx.ops[j])
			}
		}
		nt.reason = r.text(tx.reason)
		out.txns[id] = &nt
	}
	return out
}

// renamed is coordinator.renamed for a participant.
func (p *participant) renamed(r renaming) *participant {
	out := &participant{self: r.node(p.self), data: make(map[string]string, len(p.data)), locks: make(map[string]TxnID, len(p.locks)),
		active: make(map[TxnID]*ptxn, len(p.active)), outcomes: p.outcomes}
	for k, v := range p.data {
		out.data[r.key(k)] = v
	}
	for k, id := range p.locks {
		out.locks[r.key(k)] = id
	}
	for id, tx := range p.active {
		nt := *tx
		nt.parts, _ = r.parts(tx.parts)
		nt.ops = r.ops(tx.ops)
		out.active[id] = &nt
	}
	return out
}

// PermuteStored implements sim.SymmetricProcess: a log record renamed
// (its coordinator, participants and ops); the incarnation names nothing.
func (n *Node) PermuteStored(key string, value []byte, p sim.Permutation, scratch []byte) []byte {
	if !strings.HasPrefix(key, logPrefix) {
		return append(scratch, value...)
	}
	rec, err := decodeRecord(value)
	if err != nil {
		panic(fmt.Sprintf("twopc: %v: record %s: %v", n.id, key, err))
	}
	if len(rec.Insts) > 0 {
		panic(fmt.Sprintf("twopc: %v: record %s holds Paxos Commit instances, which PermuteStored does not rename", n.id, key))
	}
	r := renamingOf(p)
	rec.Coord = r.node(rec.Coord)
	rec.Parts, _ = r.parts(rec.Parts)
	rec.Ops = r.ops(rec.Ops)
	return append(scratch, rec.encode()...)
}

// AppendState implements sim.StateAppender for the client: what it
// sends next. (Its history only records; the answers it waits for are
// matched by sequence number.)
func (c *Client) AppendState(b []byte) []byte {
	b = binary.AppendVarint(b, c.seq)
	b = appendBool(b, c.cur >= 0)
	return appendOps(b, c.next)
}

// AppendStatePermuted implements sim.SymmetricProcess: the client is no
// node and stays; the accounts of its next transaction are renamed.
func (c *Client) AppendStatePermuted(b []byte, p sim.Permutation) []byte {
	b = binary.AppendVarint(b, c.seq)
	b = appendBool(b, c.cur >= 0)
	return appendOps(b, renamingOf(p).ops(c.next))
}

// PermuteStored implements sim.SymmetricProcess: a client stores nothing.
func (c *Client) PermuteStored(key string, value []byte, _ sim.Permutation, scratch []byte) []byte {
	panic(fmt.Sprintf("twopc: a client stored %q", key))
}

// Symmetric implements sim.SymmetricProcess.
func (c *Client) Symmetric() error { return c.t.symmetric() }

// appendJSON appends m's JSON form, as sim.AppendMessage encodes a
// message without a StateAppender encoding.
func appendJSON(b []byte, m sim.Message) []byte {
	j, err := json.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("twopc: %s: %v", m.MessageType(), err))
	}
	return append(b, j...)
}

// AppendStatePermuted implements sim.SymmetricMessage for the messages of
// two-phase commit: the JSON form of the renamed message.
func (m *TxnRequest) AppendStatePermuted(b []byte, p sim.Permutation) []byte {
	c := *m
	c.Ops = renamingOf(p).ops(m.Ops)
	return appendJSON(b, &c)
}

func (m *TxnReply) AppendStatePermuted(b []byte, p sim.Permutation) []byte {
	c := *m
	c.Reason = renamingOf(p).text(m.Reason)
	return appendJSON(b, &c)
}

func (m *Prepare) AppendStatePermuted(b []byte, p sim.Permutation) []byte {
	r := renamingOf(p)
	c := *m
	c.Parts, _ = r.parts(m.Parts)
	c.Ops = r.ops(m.Ops)
	return appendJSON(b, &c)
}

func (m *Vote) AppendStatePermuted(b []byte, p sim.Permutation) []byte {
	c := *m
	c.Reason = renamingOf(p).text(m.Reason)
	return appendJSON(b, &c)
}

func (m *Query) AppendStatePermuted(b []byte, p sim.Permutation) []byte {
	c := *m
	c.Parts, _ = renamingOf(p).parts(m.Parts)
	return appendJSON(b, &c)
}

func (m *Decision) AppendStatePermuted(b []byte, _ sim.Permutation) []byte { return appendJSON(b, m) }
func (m *Ack) AppendStatePermuted(b []byte, _ sim.Permutation) []byte      { return appendJSON(b, m) }
func (m *QueryReply) AppendStatePermuted(b []byte, _ sim.Permutation) []byte {
	return appendJSON(b, m)
}

var (
	_ sim.SymmetricProcess   = (*Node)(nil)
	_ sim.SymmetryClasser    = (*Node)(nil)
	_ sim.PermutationCarrier = (*Node)(nil)
	_ sim.SymmetricProcess   = (*Client)(nil)
)
