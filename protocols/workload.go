package protocols

import (
	"fmt"
	"math"
	"strconv"

	"go.yaml.in/yaml/v3"

	"github.com/synod-dev/synod/sim"
)

// Workload configures the clients that drive a cluster.
type Workload struct {
	// Clients is the number of clients, c1..cC.
	Clients int `json:"clients" yaml:"clients"`
	// Mode is "closed" (each client waits for an answer, thinks, then sends
	// the next operation) or "open" (operations arrive at Rate per second per
	// client and queue behind the one in flight; latency counts the wait).
	Mode string `json:"mode" yaml:"mode"`
	// Rate is arrivals per second per client in open mode.
	Rate float64 `json:"rate,omitempty" yaml:"rate"`
	// Think is the pause between operations in closed mode.
	Think sim.Time `json:"think" yaml:"think"`
	// Keys is the size of the key space (k0..k{Keys-1}).
	Keys int `json:"keys" yaml:"keys"`
	// Mix weighs the operations.
	Mix Mix `json:"mix" yaml:"mix"`
	// Timeout is how long one attempt waits for an answer before the
	// client retries as Retry says (same sequence number).
	Timeout sim.Time `json:"timeout" yaml:"timeout"`
	// OpTimeout is when the client gives up on an operation; its outcome is
	// then unknown unless every attempt was refused.
	OpTimeout sim.Time `json:"op_timeout" yaml:"op_timeout"`
	// Retry overrides the protocol's retry policy (Spec.Retry) when set.
	Retry RetryPolicy `json:"retry,omitempty" yaml:"retry"`
	// Stop is when clients stop starting operations (zero: the run's
	// duration minus OpTimeout, so that operations can finish).
	Stop sim.Time `json:"stop,omitempty" yaml:"stop"`
	// MaxOps bounds operations per client (zero: no bound).
	MaxOps int `json:"max_ops,omitempty" yaml:"max_ops"`
	// Idle lists clients by number (2 is c2) that start no operations. The
	// others keep their numbers, and so their random streams: the shrinker
	// silences a client from the middle without changing what the rest do.
	Idle []int `json:"idle,omitempty" yaml:"idle"`
	// Nodes lists the nodes clients send requests to, in increasing order
	// (empty: every node): the first pick and the next node after a
	// time-out or a refusal without a hint are among them; a refusal's
	// leader hint is followed wherever it points. A protocol where only some nodes serve clients
	// (Paxos with options.proposers) names them here; its clients then
	// never single out the others (FixedClient).
	Nodes []sim.NodeID `json:"nodes,omitempty" yaml:"nodes"`
}

// IsIdle reports whether client id is listed in Idle.
func (w *Workload) IsIdle(id sim.NodeID) bool {
	for _, i := range w.Idle {
		if sim.ClientID(i) == id {
			return true
		}
	}
	return false
}

// Mix gives the relative weights of the operations.
type Mix struct {
	Get    float64 `json:"get" yaml:"get"`
	Put    float64 `json:"put" yaml:"put"`
	Append float64 `json:"append" yaml:"append"`
	CAS    float64 `json:"cas" yaml:"cas"`
}

// MixOps are the operations a Mix weighs, in its order.
var MixOps = []OpKind{OpGet, OpPut, OpAppend, OpCAS}

// Weight is the weight of op (0 for an operation a mix does not weigh).
func (m Mix) Weight(op OpKind) float64 {
	switch op {
	case OpGet:
		return m.Get
	case OpPut:
		return m.Put
	case OpAppend:
		return m.Append
	case OpCAS:
		return m.CAS
	}
	return 0
}

// Validate checks that the weights are finite, non-negative and not all
// zero; the error starts with the field ("mix.get: ...").
func (m Mix) Validate() error {
	for _, op := range MixOps {
		if v := m.Weight(op); v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("mix.%s: %v must be a finite non-negative weight", op, v)
		}
	}
	if m.Get+m.Put+m.Append+m.CAS <= 0 {
		return fmt.Errorf("mix: all weights are zero")
	}
	return nil
}

// RetryPolicy says what the key-value client does when an attempt of an
// operation gets no answer within Workload.Timeout. Under every policy a
// refusal (StatusNotLeader: the request did not take effect) is followed
// to the node it names, or the next node, and the client gives up at
// Workload.OpTimeout, when the operation's outcome becomes unknown.
type RetryPolicy string

// The retry policies.
const (
	// RetryOtherNode resends the request, with the same sequence number,
	// to the next node: right for a replicated log that deduplicates by
	// (client, sequence number), where any node may be the new leader and
	// a request applied twice takes effect once (Raft, Multi-Paxos, the
	// default).
	RetryOtherNode RetryPolicy = "other-node"
	// RetrySameNode resends the request to the node it was sent to: for a
	// protocol in which each node deduplicates its own clients' requests
	// but nodes do not share that memory, so a request must not reach two
	// coordinators.
	RetrySameNode RetryPolicy = "same-node"
	// RetryNever sends each request once and waits for its answer until
	// OpTimeout (Timeout plays no part): for a protocol that cannot
	// deduplicate at all, such as the ABD register, where a put
	// re-executed by a second coordinator gets a newer tag and may
	// overwrite a later value.
	RetryNever RetryPolicy = "never"
)

// RetryPolicies lists the policies.
var RetryPolicies = []RetryPolicy{RetryOtherNode, RetrySameNode, RetryNever}

// Validate checks that p names a policy (empty: the protocol's own).
func (p RetryPolicy) Validate() error {
	if p == "" {
		return nil
	}
	for _, q := range RetryPolicies {
		if p == q {
			return nil
		}
	}
	return fmt.Errorf("%q is not a retry policy (want %s, %s or %s)", string(p), RetryOtherNode, RetrySameNode, RetryNever)
}

// DefaultWorkload is three closed-loop clients on five keys.
func DefaultWorkload() Workload {
	return Workload{Clients: 3, Mode: "closed", Think: 5 * sim.Millisecond, Keys: 5,
		Mix:     Mix{Get: 0.4, Put: 0.3, Append: 0.2, CAS: 0.1},
		Timeout: 100 * sim.Millisecond, OpTimeout: 1 * sim.Second}
}

// Validate checks the workload and names the offending field.
func (w *Workload) Validate() error {
	if w.Clients < 0 || w.Clients > sim.MaxClients {
		return fmt.Errorf("clients: %d is outside 0..%d", w.Clients, sim.MaxClients)
	}
	switch w.Mode {
	case "closed":
	case "open":
		if !(w.Rate > 0) || math.IsInf(w.Rate, 0) {
			return fmt.Errorf("rate: %v must be positive in open mode", w.Rate)
		}
	default:
		return fmt.Errorf("mode: %q is not closed or open", w.Mode)
	}
	if w.Keys < 1 {
		return fmt.Errorf("keys: %d must be at least 1", w.Keys)
	}
	if err := w.Mix.Validate(); err != nil {
		return err
	}
	if err := w.Retry.Validate(); err != nil {
		return fmt.Errorf("retry: %v", err)
	}
	if w.Timeout <= 0 {
		return fmt.Errorf("timeout: %v must be positive", w.Timeout)
	}
	if w.OpTimeout < w.Timeout {
		return fmt.Errorf("op_timeout: %v is shorter than timeout %v", w.OpTimeout, w.Timeout)
	}
	if w.Think < 0 || w.Stop < 0 {
		return fmt.Errorf("think and stop must not be negative")
	}
	if w.MaxOps < 0 {
		return fmt.Errorf("max_ops: %d is negative", w.MaxOps)
	}
	for i, id := range w.Nodes {
		if id < 1 || id > sim.MaxNodes || i > 0 && id <= w.Nodes[i-1] {
			return fmt.Errorf("nodes: %v is not a list of nodes in increasing order without repeats", w.Nodes)
		}
	}
	for i, c := range w.Idle {
		if c < 1 || c > w.Clients {
			return fmt.Errorf("idle: client %d is outside 1..%d", c, w.Clients)
		}
		if i > 0 && c <= w.Idle[i-1] {
			return fmt.Errorf("idle: %v is not in increasing order without repeats", w.Idle)
		}
	}
	return nil
}

// OpStatus is how an operation ended, as its client saw it.
type OpStatus string

// Operation outcomes.
const (
	OpOK      OpStatus = "ok"      // answered: the result is known
	OpFailed  OpStatus = "failed"  // definitely did not take effect
	OpUnknown OpStatus = "unknown" // timed out: it may or may not have taken effect
	OpPending OpStatus = "pending" // still in flight
)

// OpRecord is one client operation in the history.
type OpRecord struct {
	Client sim.NodeID `json:"client"`
	Seq    int64      `json:"seq"`
	Op     Op         `json:"op"`
	// Call is when the operation was invoked (for open loops: when it
	// arrived); Return when its answer came, or TimeMax if it never did.
	Call   sim.Time `json:"call"`
	Return sim.Time `json:"return"`
	// CallEvent and ReturnEvent are the trace indexes of the events at
	// which the operation was invoked and answered (-1: never answered).
	CallEvent   int64    `json:"call_event"`
	ReturnEvent int64    `json:"return_event"`
	Status      OpStatus `json:"status"`
	// Value, Found and Swapped are the result of an answered operation.
	Value    string `json:"value,omitempty"`
	Found    bool   `json:"found,omitempty"`
	Swapped  bool   `json:"swapped,omitempty"`
	Attempts int    `json:"attempts"`
	// Err explains a failure.
	Err string `json:"err,omitempty"`
}

// Latency is Return-Call for answered operations.
func (r *OpRecord) Latency() sim.Time { return r.Return - r.Call }

// SubmitTimer is the timer name that asks a client to start an operation
// now (sim.Sim.Fire(client, SubmitTimer, 0)): the TUI's "client request
// now". A busy client queues it behind the operation in flight.
const SubmitTimer = "submit"

// HistoryClient is a client process that records its operations.
type HistoryClient interface {
	sim.Process
	// History returns the operations so far; operations still in flight
	// are reported as pending.
	History() []OpRecord
}

// KVClient is the key-value workload's client: it issues operations to the
// node it believes leads, follows redirections, retries on time-outs with
// the same sequence number as the workload's RetryPolicy says, and records
// every operation.
//
// The network may duplicate and reorder replies, so the client matches
// each reply to the attempt it answers before acting on it (see Receive):
// a reply to an operation already finished, a second refusal of the same
// attempt and a refusal of an older attempt are dropped, with no new send
// and no new timer. An operation in flight has exactly one timer, timer:
// the attempt's time-out, or the pause before resending after a refusal.
// Without that, every duplicate refusal started a retry chain of its own
// and one request at duplicate 0.5 reached a node thousands of times.
type KVClient struct {
	w      *Workload
	stop   sim.Time
	leader sim.NodeID
	seq    int64
	cur    int         // index in history of the operation in flight, or -1
	timer  sim.TimerID // the operation in flight's one timer ("attempt" or "retry")
	// to is the node the attempt in flight was sent to, the only node whose
	// refusal is taken as its answer; 0 while the client pauses after a
	// refusal, when no refusal is taken at all.
	to sim.NodeID
	// redirects counts the hints followed at once since the operation's
	// last paced send; at redirectsMax(env) the next refusal pauses instead.
	redirects int
	maybe     bool // an attempt of the current operation may have been applied
	deadline  sim.Time
	arrivals  []sim.Time // open loop: arrival times queued behind cur
	history   OpLog
	lastSeen  map[string]string
	// dropped counts replies dropped as duplicate or stale (Inspect).
	dropped int64
}

// NewKVClient returns a client for the workload; stop is when it stops
// starting operations.
func NewKVClient(w *Workload, stop sim.Time) *KVClient {
	return &KVClient{w: w, stop: stop, cur: -1, lastSeen: map[string]string{}}
}

// History implements HistoryClient. It returns a copy: the client keeps
// its history in chunks (OpLog).
func (c *KVClient) History() []OpRecord { return c.history.AppendTo(nil) }

// Inspect shows the client's state.
func (c *KVClient) Inspect() sim.View {
	v := sim.View{Role: "client", Leader: c.leader}
	if c.cur >= 0 {
		r := *c.history.At(c.cur)
		v.Fields = append(v.Fields, sim.Field{Name: "in flight", Value: fmt.Sprintf("#%d %v (attempt %d)", r.Seq, r.Op, r.Attempts)})
	}
	v.Fields = append(v.Fields, sim.Field{Name: "ops", Value: strconv.Itoa(c.history.Len())})
	if c.dropped > 0 {
		v.Fields = append(v.Fields, sim.Field{Name: "replies dropped", Value: strconv.FormatInt(c.dropped, 10) + " (duplicate or stale)"})
	}
	return v
}

// Start schedules the first operation (none for an idle client).
func (c *KVClient) Start(env *sim.Env) {
	if c.w.IsIdle(env.ID()) {
		return
	}
	r := env.Rand()
	if c.w.Mode == "open" {
		c.scheduleArrival(env)
		return
	}
	env.SetTimer(sim.Time(r.Int64N(int64(c.w.Think)+int64(sim.Millisecond))), "next", 0)
}

func (c *KVClient) scheduleArrival(env *sim.Env) {
	gap := sim.Time(env.Rand().ExpFloat64() / c.w.Rate * float64(sim.Second))
	env.SetTimer(gap, "arrive", 0)
}

func (c *KVClient) canStart(env *sim.Env) bool {
	if c.w.MaxOps > 0 && c.history.Len() >= c.w.MaxOps {
		return false
	}
	return c.stop <= 0 || env.Now() < c.stop
}

// Timer handles think time, open-loop arrivals, attempt time-outs and the
// pause before resending after a refusal.
func (c *KVClient) Timer(env *sim.Env, t sim.Timer) {
	switch t.Name {
	case "next":
		if c.cur < 0 && c.canStart(env) {
			c.begin(env, env.Now())
		}
	case "arrive":
		if !c.canStart(env) {
			return
		}
		c.arrivals = append(c.arrivals, env.Now())
		c.scheduleArrival(env)
		if c.cur < 0 {
			c.begin(env, c.arrivals[0])
			c.arrivals = c.arrivals[1:]
		}
	case "attempt", "retry":
		if c.cur < 0 || c.history.At(c.cur).Seq != t.Arg {
			// finish cancels the operation's timer, so only a timer fired
			// from outside (sim.Sim.Fire) can name a finished operation.
			env.Logf("ignoring %s timer of #%d: no such operation in flight", t.Name, t.Arg)
			return
		}
		// A timer fired from outside (sim.Sim.Fire) stands in for the
		// operation's own, which must not fire as well: one timer per
		// operation. Canceling the one firing now does nothing.
		env.CancelTimer(c.timer)
		c.timer = 0
		if t.Name == "attempt" {
			c.maybe = true // the request may sit in some log
		}
		if env.Now() >= c.deadline {
			c.finish(env, OpUnknown, nil, "timed out")
			return
		}
		if t.Name == "attempt" {
			switch c.w.Retry {
			case RetrySameNode:
				// The node that has the request deduplicates it.
			case RetryNever:
				// Not reached: the one attempt waits until the deadline.
				panic(fmt.Sprintf("client %v: attempt of #%d timed out at %v before its deadline %v under retry %s", env.ID(), t.Arg, env.Now(), c.deadline, RetryNever))
			default:
				c.leader = c.nextNode(env, c.leader)
			}
		}
		c.redirects = 0 // a paced send
		c.send(env)
	case SubmitTimer:
		if c.cur < 0 {
			c.begin(env, env.Now())
		} else {
			c.arrivals = append(c.arrivals, env.Now())
		}
	}
}

// begin starts a new operation invoked at call.
func (c *KVClient) begin(env *sim.Env, call sim.Time) {
	if c.timer != 0 || c.to != 0 {
		panic(fmt.Sprintf("client %v: starting #%d with timer %v and an attempt at %v left from #%d", env.ID(), c.seq+1, c.timer, c.to, c.seq))
	}
	c.seq++
	op := c.pick(env)
	c.history.Append(OpRecord{Client: env.ID(), Seq: c.seq, Op: op, Call: call, Return: sim.TimeMax,
		CallEvent: env.Event(), ReturnEvent: -1, Status: OpPending})
	c.cur = c.history.Len() - 1
	c.maybe = false
	c.redirects = 0
	c.deadline = env.Now() + c.w.OpTimeout
	if c.leader == 0 {
		nodes := c.nodes(env)
		c.leader = nodes[env.Rand().IntN(len(nodes))]
	}
	c.send(env)
}

// send starts a new attempt of the operation in flight, at c.leader, and
// gives it the operation's one timer.
func (c *KVClient) send(env *sim.Env) {
	if c.timer != 0 {
		panic(fmt.Sprintf("client %v: attempt of #%d sent while timer %v is pending", env.ID(), c.seq, c.timer))
	}
	r := c.history.At(c.cur)
	r.Attempts++
	c.to = c.leader
	env.Send(c.to, &Request{Client: env.ID(), Seq: r.Seq, Op: r.Op})
	c.timer = env.SetTimer(c.attemptTimeout(env), "attempt", r.Seq)
}

// attemptTimeout is how long an attempt waits: Timeout, or under
// RetryNever the time left until the operation's deadline.
func (c *KVClient) attemptTimeout(env *sim.Env) sim.Time {
	if c.w.Retry == RetryNever {
		return max(c.deadline-env.Now(), 0)
	}
	return c.w.Timeout
}

// retryPause is how long the client waits after a refusal it does not
// follow at once, so a leaderless cluster is not flooded.
func (c *KVClient) retryPause() sim.Time { return c.w.Timeout/10 + sim.Millisecond }

// redirectsMax bounds the hints followed at once between two paced sends:
// one round of the cluster. Two nodes that name each other (a stale leader
// and its successor, or duplicated old refusals taken as new ones) would
// otherwise bounce the request at the speed of the network.
func redirectsMax(env *sim.Env) int { return len(env.Nodes()) }

func (c *KVClient) pick(env *sim.Env) Op {
	r := env.Rand()
	m := c.w.Mix
	key := "k" + strconv.Itoa(r.IntN(c.w.Keys))
	x := r.Float64() * (m.Get + m.Put + m.Append + m.CAS)
	switch {
	case x < m.Get:
		return Op{Kind: OpGet, Key: key}
	case x < m.Get+m.Put:
		return Op{Kind: OpPut, Key: key, Value: c.value(env, "")}
	case x < m.Get+m.Put+m.Append:
		return Op{Kind: OpAppend, Key: key, Value: c.value(env, ";")}
	}
	return Op{Kind: OpCAS, Key: key, Expect: c.lastSeen[key], Value: c.value(env, "")}
}

// value is what the write being picked writes: the client's name, the
// operation's sequence number and suffix ("c2.17;"), unique so that a
// read shows which write it saw. It is built in a buffer on the stack,
// one string allocation instead of one per piece (every operation of
// every client makes one).
func (c *KVClient) value(env *sim.Env, suffix string) string {
	var buf [48]byte
	b := append(buf[:0], env.ID().String()...)
	b = append(b, '.')
	b = strconv.AppendInt(b, c.seq, 10)
	return string(append(b, suffix...))
}

// nodes are the nodes the client sends to (Workload.Nodes).
func (c *KVClient) nodes(env *sim.Env) []sim.NodeID {
	if len(c.w.Nodes) > 0 {
		return c.w.Nodes
	}
	return env.Nodes()
}

func (c *KVClient) nextNode(env *sim.Env, after sim.NodeID) sim.NodeID {
	nodes := c.nodes(env)
	for i, n := range nodes {
		if n == after {
			return nodes[(i+1)%len(nodes)]
		}
	}
	return nodes[0]
}

// Receive handles a node's response. A reply names only the operation
// (client, sequence number) and comes from a node, so it is matched to an
// attempt by both:
//
//   - a reply for another sequence number answers an operation already
//     finished (a late or duplicated answer): dropped;
//   - ok and fail answer the operation whichever attempt they come from
//     (every attempt carries the same request): the first one finishes it
//     and its duplicates find no operation in flight;
//   - a refusal (not_leader) is taken only from the node the attempt in
//     flight was sent to, and only once: a refusal from another node
//     answers an older attempt, and a refusal while the client pauses is
//     a duplicate of the one that made it pause. Both are dropped.
//
// A dropped reply sends nothing and sets no timer. What the network still
// hides is a refusal of an older attempt to the same node arriving after a
// newer attempt went there: it is taken as the newer attempt's refusal,
// which costs one resend, since a refusal only ever ends an attempt.
func (c *KVClient) Receive(env *sim.Env, from sim.NodeID, m sim.Message) {
	resp, ok := m.(*Response)
	if !ok {
		return
	}
	if c.cur < 0 || resp.Seq != c.history.At(c.cur).Seq {
		c.drop(env, from, resp, "no such operation in flight")
		return
	}
	switch resp.Status {
	case StatusOK:
		c.leader = from
		c.finish(env, OpOK, resp, "")
	case StatusNotLeader:
		switch {
		case c.to == 0:
			c.drop(env, from, resp, "already refused, pausing before the next attempt")
			return
		case from != c.to:
			c.drop(env, from, resp, "the attempt in flight went to "+c.to.String())
			return
		}
		c.to = 0
		if resp.Leader != 0 && resp.Leader != from && c.redirects < redirectsMax(env) {
			c.redirects++
			c.leader = resp.Leader
			env.CancelTimer(c.timer)
			c.timer = 0
			c.send(env)
			return
		}
		// No hint, or hints followed around the whole cluster: try the
		// next node (or the hint) after a short pause, which replaces the
		// attempt's time-out as the operation's one timer.
		if resp.Leader != 0 && resp.Leader != from {
			c.leader = resp.Leader
		} else {
			c.leader = c.nextNode(env, from)
		}
		env.CancelTimer(c.timer)
		c.timer = env.SetTimer(c.retryPause(), "retry", resp.Seq)
	case StatusFail:
		st := OpFailed
		if c.maybe {
			st = OpUnknown
		}
		c.finish(env, st, resp, resp.Err)
	}
}

// drop counts and logs a reply that is not acted on.
func (c *KVClient) drop(env *sim.Env, from sim.NodeID, resp *Response, why string) {
	c.dropped++
	if env.Tracing() {
		env.Logf("dropping %s from %v: %s", resp.Describe(), from, why)
	}
}

func (c *KVClient) finish(env *sim.Env, st OpStatus, resp *Response, why string) {
	r := c.history.At(c.cur)
	r.Status = st
	r.Err = why
	if st != OpUnknown {
		r.Return = env.Now()
		r.ReturnEvent = env.Event()
	}
	if resp != nil && st == OpOK {
		r.Value, r.Found, r.Swapped = resp.Value, resp.Found, resp.Swapped
		switch r.Op.Kind {
		case OpGet:
			c.lastSeen[r.Op.Key] = resp.Value
		case OpPut:
			c.lastSeen[r.Op.Key] = r.Op.Value
		case OpCAS:
			if resp.Swapped {
				c.lastSeen[r.Op.Key] = r.Op.Value
			} else {
				c.lastSeen[r.Op.Key] = resp.Value
			}
		}
	}
	env.CancelTimer(c.timer)
	c.timer, c.to = 0, 0
	c.cur = -1
	if c.w.Mode == "open" {
		if len(c.arrivals) > 0 && c.canStart(env) {
			call := c.arrivals[0]
			c.arrivals = c.arrivals[1:]
			c.begin(env, call)
		}
		return
	}
	if len(c.arrivals) > 0 {
		// A submitted operation waited behind the one that just ended.
		call := c.arrivals[0]
		c.arrivals = c.arrivals[1:]
		c.begin(env, call)
		return
	}
	if c.canStart(env) {
		env.SetTimer(c.w.Think, "next", 0)
	}
}

// UnmarshalYAML decodes a mix as a whole: operations left out weigh zero,
// so `mix: {get: 0.9, put: 0.1}` means exactly that. Unknown operations are
// errors.
func (m *Mix) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: mix: want a mapping like {get: 0.5, put: 0.5}", n.Line)
	}
	var out Mix
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		var w float64
		if err := v.Decode(&w); err != nil {
			return fmt.Errorf("line %d: mix.%s: %q is not a number", v.Line, k.Value, v.Value)
		}
		switch k.Value {
		case "get":
			out.Get = w
		case "put":
			out.Put = w
		case "append":
			out.Append = w
		case "cas":
			out.CAS = w
		default:
			return fmt.Errorf("line %d: mix.%s: unknown operation (want get, put, append, cas)", k.Line, k.Value)
		}
	}
	*m = out
	return nil
}
