package twopc

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// Client is the transaction workload's client: closed loop, one
// transaction at a time, sent once to the coordinator. It does not retry
// (a retry after a coordinator crash could run a transfer twice); a
// transaction with no answer by the workload's op_timeout is unknown.
type Client struct {
	t       *topology
	w       *protocols.Workload
	seq     int64
	cur     int // index in history of the transaction in flight, or -1
	timer   sim.TimerID
	history []protocols.OpRecord
	// next is the transaction it sends next, drawn one ahead (the same
	// draws, in the same order, as drawing each when it is sent): it is
	// state the search sees and renames, not a choice hidden in the
	// random stream (symmetry.go).
	next    []Op
	nextRec protocols.Op
}

// NewClient returns a client for the workload.
func newClient(t *topology, w *protocols.Workload) *Client {
	return &Client{t: t, w: w, cur: -1}
}

// History implements protocols.HistoryClient.
func (c *Client) History() []protocols.OpRecord { return c.history }

// Start schedules the first transaction.
func (c *Client) Start(env *sim.Env) {
	env.SetTimer(sim.Time(env.Rand().Int64N(int64(c.w.Think)+int64(sim.Millisecond))), "next", 0)
	c.next, c.nextRec = c.pick(env, c.seq+1)
}

func (c *Client) canStart(env *sim.Env) bool {
	if c.w.MaxOps > 0 && len(c.history) >= c.w.MaxOps {
		return false
	}
	return c.w.Stop <= 0 || env.Now() < c.w.Stop
}

// Timer starts transactions and gives up on unanswered ones.
func (c *Client) Timer(env *sim.Env, t sim.Timer) {
	switch t.Name {
	case "next":
		if c.cur < 0 && c.canStart(env) {
			c.begin(env)
		}
	case protocols.SubmitTimer:
		if c.cur < 0 {
			c.begin(env)
		}
	case "timeout":
		if c.cur >= 0 && c.history[c.cur].Seq == t.Arg {
			c.finish(env, protocols.OpUnknown, "no answer")
		}
	}
}

func (c *Client) begin(env *sim.Env) {
	c.seq++
	ops, rec := c.next, c.nextRec
	c.next, c.nextRec = nil, protocols.Op{}
	if c.w.MaxOps == 0 || c.seq < int64(c.w.MaxOps) {
		// (After the last there is nothing to draw: the state says so.)
		c.next, c.nextRec = c.pick(env, c.seq+1)
	}
	c.history = append(c.history, protocols.OpRecord{Client: env.ID(), Seq: c.seq, Op: rec, Call: env.Now(),
		Return: sim.TimeMax, CallEvent: env.Event(), ReturnEvent: -1, Status: protocols.OpPending, Attempts: 1})
	c.cur = len(c.history) - 1
	env.Send(c.t.coord, &TxnRequest{Client: env.ID(), Seq: c.seq, Ops: ops})
	c.timer = env.SetTimer(c.w.OpTimeout, "timeout", c.seq)
}

// pick draws a transaction: a transfer between two accounts (on different
// participants when there are several), or writes to several keys, for
// the transaction of sequence number seq.
func (c *Client) pick(env *sim.Env, seq int64) ([]Op, protocols.Op) {
	r := env.Rand()
	o := c.t.opts
	if o.Workload == "bank" {
		from := r.IntN(o.Accounts)
		to := r.IntN(o.Accounts - 1)
		if to >= from {
			to++
		}
		for i := 0; i < 4 && len(c.t.parts) > 1 && c.t.owner(AccountKey(to)) == c.t.owner(AccountKey(from)); i++ {
			to = (to + 1) % o.Accounts
			if to == from {
				to = (to + 1) % o.Accounts
			}
		}
		amt := 1 + r.Int64N(o.AmountMax)
		ops := []Op{{Kind: OpAdd, Key: AccountKey(from), Delta: -amt}, {Kind: OpAdd, Key: AccountKey(to), Delta: amt}}
		return ops, protocols.Op{Kind: KindTransfer, Key: AccountKey(from) + "->" + AccountKey(to), Value: strconv.FormatInt(amt, 10)}
	}
	n := min(o.KeysPerTxn, o.Accounts)
	perm := r.Perm(o.Accounts)[:n]
	// In key order: which keys a transaction writes is drawn, their order
	// means nothing, so it is not left to the draw (a state with its
	// participants renamed then writes the renamed keys in the same
	// order: symmetry.go).
	slices.Sort(perm)
	ops := make([]Op, n)
	keys := make([]string, n)
	val := env.ID().String() + "." + strconv.FormatInt(seq, 10)
	for i, k := range perm {
		ops[i] = Op{Kind: OpPut, Key: AccountKey(k), Value: val}
		keys[i] = AccountKey(k)
	}
	return ops, protocols.Op{Kind: KindTxn, Key: strings.Join(keys, ","), Value: val}
}

// Receive records the coordinator's answer.
func (c *Client) Receive(env *sim.Env, from sim.NodeID, m sim.Message) {
	r, ok := m.(*TxnReply)
	if !ok || c.cur < 0 || r.Seq != c.history[c.cur].Seq {
		return
	}
	if r.Committed {
		c.finish(env, protocols.OpOK, "")
		return
	}
	c.finish(env, protocols.OpFailed, r.Reason)
}

func (c *Client) finish(env *sim.Env, st protocols.OpStatus, why string) {
	h := &c.history[c.cur]
	h.Status, h.Err = st, why
	if st != protocols.OpUnknown {
		h.Return = env.Now()
		h.ReturnEvent = env.Event()
	}
	env.CancelTimer(c.timer)
	c.cur = -1
	if c.canStart(env) {
		env.SetTimer(c.w.Think, "next", 0)
	}
}

// Inspect shows the client's state.
func (c *Client) Inspect() sim.View {
	v := sim.View{Role: "client", Leader: c.t.coord}
	if c.cur >= 0 {
		h := c.history[c.cur]
		v.Fields = append(v.Fields, sim.Field{Name: "in flight", Value: fmt.Sprintf("#%d %s %s %s", h.Seq, h.Op.Kind, h.Op.Key, h.Op.Value)})
	}
	v.Fields = append(v.Fields, sim.Field{Name: "txns", Value: strconv.Itoa(len(c.history))})
	return v
}

func validateWorkload(w *protocols.Workload) error {
	if w.Mode != "" && w.Mode != "closed" {
		return fmt.Errorf("workload.mode: %q: transactions run closed-loop only", w.Mode)
	}
	if w.OpTimeout <= 0 {
		return fmt.Errorf("workload.op_timeout: %v must be positive", w.OpTimeout)
	}
	if w.Think < 0 || w.Stop < 0 || w.MaxOps < 0 {
		return fmt.Errorf("workload: think, stop and max_ops must not be negative")
	}
	return nil
}
