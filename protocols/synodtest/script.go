package synodtest

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

// A script drives one run step by step and compares what happened with
// the expected output written under each command:
//
//	# n1 campaigns, n2 and n3 vote for it.
//	timer n1 election
//	----
//	t=212ms n1 timer election
//	  send n1->n2 raft.RequestVote term=1 last=0/0
//	  ...
//
// A block is optional comment lines, one command, a line "----" and the
// expected output up to a blank line. With -synod.update (or
// SYNOD_UPDATE=1) the expected output is rewritten from the actual one;
// review the diff before committing it.
//
// Commands (nodes are n1.., clients c1..):
//
//	run 100ms              run the simulation for 100ms of simulated time
//	step [N] | tick [N]    process the next N events (default 1)
//	deliver n1->n2 [all]   deliver the earliest pending message n1->n2 (or all)
//	drop n1->n2 [all]      lose it instead
//	timer n1 [NAME]        fire n1's earliest pending timer (of that name)
//	stabilize [MAX]        deliver pending messages and restarts, not timers, until none are left
//	crash n3 | restart n3 | pause n2 | resume n2 | isolate n1
//	partition n1 | n2 n3   | cut n1->n2 | uncut n1->n2 | heal | heal-all
//	propose n1 put k v     client c1 sends a request to n1 (get k, append k v, cas k old new)
//	status [n1 n2 ...]     each node's view: role, term, leader, log, commit
//	pending                the pending events
//	storage n1             a node's stable storage: keys and sizes
//
// Scripts need the scenario's `workload: {clients: N}` for propose (the
// clients are the script's own; they send only when told, through a timer
// fired by sim.Fire, so a script's run is a replayable sequence of
// recorded choices).
type ScriptOptions struct {
	// Options name the protocol and the scenario (Scenario or YAML); the
	// nemesis and scheduled faults of the scenario still apply.
	Options
	// StabilizeMax bounds stabilize (default 10000 events).
	StabilizeMax int
}

// RunScript runs the script file at path. Failures are reported through t
// with the first differing block.
func RunScript(t TB, path string, o ScriptOptions) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("synodtest: %v", err)
		return
	}
	blocks, err := parseScript(data, path)
	if err != nil {
		t.Fatalf("synodtest: %v", err)
		return
	}
	r, err := NewScriptRunner(o)
	if err != nil {
		t.Fatalf("synodtest: %s: %v", path, err)
		return
	}
	update := *flagUpdate || os.Getenv("SYNOD_UPDATE") == "1"
	changed := false
	for i := range blocks {
		b := &blocks[i]
		got := r.Exec(b.cmd)
		if got != b.want {
			if update {
				b.want = got
				changed = true
				continue
			}
			t.Errorf("%s:%d: %s\ngot:\n%s\nwant:\n%s\n(rerun with -synod.update to rewrite the expected output, then review the diff)", path, b.line, b.cmd, indent(got), indent(b.want))
			return
		}
	}
	if changed {
		if err := os.WriteFile(path, formatScript(blocks), 0o644); err != nil {
			t.Fatalf("synodtest: %v", err)
		}
		t.Logf("rewrote %s", path)
	}
}

func indent(s string) string { return "  " + strings.ReplaceAll(s, "\n", "\n  ") }

type scriptBlock struct {
	pre  string // comments and the command line, as written
	cmd  string
	want string
	line int
}

// parseScript splits a script into blocks.
func parseScript(data []byte, path string) ([]scriptBlock, error) {
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	var out []scriptBlock
	var pre []string
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		trimmed := strings.TrimSpace(l)
		if trimmed == "" && len(pre) == 0 {
			continue
		}
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			if trimmed != "" {
				pre = append(pre, l)
			}
			continue
		}
		b := scriptBlock{cmd: trimmed, line: i + 1}
		pre = append(pre, l)
		b.pre = strings.Join(pre, "\n")
		pre = nil
		if i+1 >= len(lines) || strings.TrimSpace(lines[i+1]) != "----" {
			return nil, fmt.Errorf("%s:%d: %q: want a line \"----\" after the command", path, i+1, trimmed)
		}
		i += 2
		var want []string
		for ; i < len(lines) && strings.TrimSpace(lines[i]) != ""; i++ {
			want = append(want, lines[i])
		}
		b.want = strings.Join(want, "\n")
		out = append(out, b)
	}
	return out, nil
}

func formatScript(blocks []scriptBlock) []byte {
	var b bytes.Buffer
	for i, bl := range blocks {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(bl.pre + "\n----\n")
		if bl.want != "" {
			b.WriteString(bl.want + "\n")
		}
	}
	return b.Bytes()
}

// ScriptRunner is a run driven by script commands. Use it directly for
// tests that mix commands with Go assertions.
type ScriptRunner struct {
	Sim     *sim.Sim
	Spec    *protocols.Spec
	clients []*scriptClient
	out     *bytes.Buffer
	seen    int
	stabMax int
}

// NewScriptRunner builds the run the options describe, with the script's
// own clients in place of the workload.
func NewScriptRunner(o ScriptOptions) (*ScriptRunner, error) {
	sc, err := o.Load()
	if err != nil {
		return nil, err
	}
	return newScriptRunner(&o, sc)
}

func newScriptRunner(o *ScriptOptions, sc *scenario.Scenario) (*ScriptRunner, error) {
	spec, err := protocols.Lookup(sc.Protocol)
	if err != nil {
		return nil, err
	}
	cfg, err := sc.SimConfig()
	if err != nil {
		return nil, err
	}
	down := map[sim.NodeID]bool{}
	for _, id := range sc.Down {
		down[id] = true
	}
	cl := protocols.Cluster{Nodes: sc.Nodes, Options: sc.ProtocolOptions(), Seed: sc.Seed}
	for i := 1; i <= sc.Nodes; i++ {
		if !down[sim.NodeID(i)] {
			cl.Members = append(cl.Members, sim.NodeID(i))
		}
	}
	newNode, err := spec.New(cl)
	if err != nil {
		return nil, err
	}
	r := &ScriptRunner{Spec: spec, out: &bytes.Buffer{}, stabMax: o.StabilizeMax}
	if r.stabMax <= 0 {
		r.stabMax = 10000
	}
	for i := 0; i < cfg.Clients; i++ {
		r.clients = append(r.clients, &scriptClient{})
	}
	f := sim.Factory{
		Node:   func(id sim.NodeID) sim.Process { return newNode(id) },
		Client: func(id sim.NodeID) sim.Process { return r.clients[-int(id)-1] },
	}
	s, err := sim.New(cfg, f)
	if err != nil {
		return nil, err
	}
	if spec.Checkers != nil {
		for _, c := range spec.Checkers(cl) {
			s.AddChecker(c)
		}
	}
	if o.Checkers != nil {
		for _, c := range o.Checkers() {
			s.AddChecker(c)
		}
	}
	for _, inv := range o.Invariants {
		s.AddChecker(&invariantChecker{inv})
	}
	s.AddObserver(&printer{out: r.out})
	r.Sim = s
	// Every process starts before the script's first command.
	for startsPending(s) && s.Step() {
	}
	r.out.Reset()
	return r, nil
}

// startsPending reports whether the next event is a process's start at
// time zero.
func startsPending(s *sim.Sim) bool {
	p := s.Pending()
	return len(p) > 0 && p[0].Kind == sim.KindStart && p[0].At == 0
}

// scriptClient sends only when the script says: propose queues the
// operation and fires the client's "propose" timer (sim.Fire, a recorded
// choice), whose handler sends the request.
type scriptClient struct {
	queue []scriptOp
	seq   int64
}

type scriptOp struct {
	to sim.NodeID
	op protocols.Op
}

func (c *scriptClient) Start(*sim.Env)                            {}
func (c *scriptClient) Receive(*sim.Env, sim.NodeID, sim.Message) {}

func (c *scriptClient) Timer(env *sim.Env, t sim.Timer) {
	if t.Name != "propose" || t.Arg < 0 || int(t.Arg) >= len(c.queue) {
		return
	}
	q := c.queue[t.Arg]
	c.seq++
	env.Send(q.to, &protocols.Request{Client: env.ID(), Seq: c.seq, Op: q.op})
}

// printer renders every processed event and what it caused.
type printer struct{ out *bytes.Buffer }

func (p *printer) Observe(_ *sim.Sim, r *sim.Record) {
	p.out.WriteString(r.Event.Describe())
	if r.Outcome != "" {
		p.out.WriteString(" (" + r.Outcome + ")")
	}
	p.out.WriteByte('\n')
	for i := range r.Effects {
		e := &r.Effects[i]
		switch e.Kind {
		case sim.EffectSend:
			dup := ""
			if e.Dup {
				dup = " (dup)"
			}
			fmt.Fprintf(p.out, "  send %v->%v %s%s\n", r.Event.To, e.To, sim.Describe(e.Msg), dup)
		case sim.EffectDrop:
			fmt.Fprintf(p.out, "  lost %v->%v %s (%s)\n", r.Event.To, e.To, sim.Describe(e.Msg), e.Name)
		case sim.EffectNote:
			fmt.Fprintf(p.out, "  note %s\n", e.Name)
		}
	}
	for _, v := range r.Violations() {
		fmt.Fprintf(p.out, "VIOLATION %s: %s\n", v.Checker, v.Message)
	}
}

// Exec runs one command and returns its output ("ok" when it prints
// nothing; "error: ..." when it cannot run).
func (r *ScriptRunner) Exec(cmd string) string {
	r.out.Reset()
	err := r.exec(strings.Fields(cmd))
	if pe, ok := r.Sim.Err().(*sim.PanicError); ok && r.seen == 0 {
		r.seen = 1
		fmt.Fprintf(r.out, "PANIC %v\n", pe)
	}
	if err != nil {
		fmt.Fprintf(r.out, "error: %v\n", err)
	}
	s := strings.TrimRight(r.out.String(), "\n")
	if s == "" {
		return "ok"
	}
	return s
}

func (r *ScriptRunner) exec(w []string) error {
	if len(w) == 0 {
		return fmt.Errorf("empty command")
	}
	s := r.Sim
	switch w[0] {
	case "run":
		if len(w) != 2 {
			return fmt.Errorf("want \"run 100ms\"")
		}
		d, err := sim.ParseTime(w[1])
		if err != nil {
			return err
		}
		s.RunUntil(s.Now() + d)
	case "step", "tick":
		n := 1
		if len(w) > 1 {
			k, err := strconv.Atoi(w[1])
			if err != nil || k < 1 {
				return fmt.Errorf("%q: want a count >= 1", w[1])
			}
			n = k
		}
		for i := 0; i < n && s.Step(); i++ {
		}
	case "deliver", "drop":
		return r.message(w)
	case "timer":
		return r.timer(w)
	case "stabilize":
		return r.stabilize(w)
	case "propose":
		return r.propose(w)
	case "status":
		r.status(w[1:])
	case "pending":
		for _, ev := range s.Pending() {
			fmt.Fprintf(r.out, "#%d %s\n", ev.ID, ev.Describe())
		}
	case "storage":
		if len(w) != 2 {
			return fmt.Errorf("want \"storage n1\"")
		}
		id, err := sim.ParseNodeID(w[1])
		if err != nil {
			return err
		}
		st := s.Storage(id)
		if st == nil || id < 1 {
			return fmt.Errorf("%v has no storage", id)
		}
		for _, k := range st.Keys("") {
			v, _ := st.Get(k)
			fmt.Fprintf(r.out, "%s %d bytes\n", k, len(v))
		}
	default:
		f, err := sim.ParseFault(faultSyntax(w))
		if err != nil {
			return fmt.Errorf("unknown command %q (%v)", w[0], err)
		}
		return s.Inject(f)
	}
	return nil
}

// faultSyntax accepts "partition n1 | n2 n3" as well as "partition n1|n2,n3".
func faultSyntax(w []string) string {
	if w[0] != "partition" {
		return strings.Join(w, " ")
	}
	groups := strings.Split(strings.Join(w[1:], " "), "|")
	for i, g := range groups {
		groups[i] = strings.Join(strings.FieldsFunc(g, func(r rune) bool { return r == ' ' || r == ',' }), ",")
	}
	return "partition " + strings.Join(groups, "|")
}

func parseLink(s string) (sim.NodeID, sim.NodeID, error) {
	a, b, ok := strings.Cut(s, "->")
	if !ok {
		return 0, 0, fmt.Errorf("%q: want FROM->TO, e.g. n1->n2", s)
	}
	from, err := sim.ParseNodeID(a)
	if err != nil {
		return 0, 0, err
	}
	to, err := sim.ParseNodeID(b)
	if err != nil {
		return 0, 0, err
	}
	return from, to, nil
}

func isMessage(ev *sim.Event) bool { return ev.Kind == sim.KindDeliver || ev.Kind == sim.KindRequest }

func (r *ScriptRunner) message(w []string) error {
	if len(w) < 2 || len(w) > 3 || (len(w) == 3 && w[2] != "all") {
		return fmt.Errorf("want \"%s n1->n2 [all]\"", w[0])
	}
	from, to, err := parseLink(w[1])
	if err != nil {
		return err
	}
	done := 0
	for {
		var id sim.EventID
		found := false
		for _, ev := range r.Sim.Pending() {
			if isMessage(&ev) && ev.From == from && ev.To == to {
				id, found = ev.ID, true
				break
			}
		}
		if !found {
			break
		}
		if w[0] == "drop" {
			err = r.Sim.Drop(id)
			if err == nil {
				fmt.Fprintf(r.out, "dropped #%d %v->%v\n", id, from, to)
			}
		} else {
			err = r.Sim.Deliver(id)
		}
		if err != nil {
			return err
		}
		done++
		if len(w) == 2 {
			break
		}
	}
	if done == 0 {
		return fmt.Errorf("no pending message %v->%v", from, to)
	}
	return nil
}

func (r *ScriptRunner) timer(w []string) error {
	if len(w) < 2 || len(w) > 3 {
		return fmt.Errorf("want \"timer n1 [NAME]\"")
	}
	id, err := sim.ParseNodeID(w[1])
	if err != nil {
		return err
	}
	for _, ev := range r.Sim.Pending() {
		if ev.Kind == sim.KindTimer && ev.To == id && (len(w) == 2 || ev.Timer.Name == w[2]) {
			return r.Sim.Deliver(ev.ID)
		}
	}
	return fmt.Errorf("no pending timer at %v", id)
}

func (r *ScriptRunner) stabilize(w []string) error {
	limit := r.stabMax
	if len(w) > 1 {
		k, err := strconv.Atoi(w[1])
		if err != nil || k < 1 {
			return fmt.Errorf("%q: want a bound >= 1", w[1])
		}
		limit = k
	}
	for n := 0; ; n++ {
		var next *sim.Event
		pend := r.Sim.Pending()
		for i := range pend {
			if (isMessage(&pend[i]) || pend[i].Kind == sim.KindStart) && !r.Sim.Paused(pend[i].To) {
				next = &pend[i]
				break
			}
		}
		if next == nil {
			return nil
		}
		if n >= limit {
			return fmt.Errorf("not stable after %d deliveries (messages keep coming)", limit)
		}
		if err := r.Sim.Deliver(next.ID); err != nil {
			return err
		}
	}
}

func (r *ScriptRunner) propose(w []string) error {
	if len(r.clients) == 0 {
		return fmt.Errorf("no clients: set workload: {clients: 1} in the scenario")
	}
	if len(w) < 4 {
		return fmt.Errorf("want \"propose n1 put k v\" (or get k, append k v, cas k old new)")
	}
	to, err := sim.ParseNodeID(w[1])
	if err != nil || to < 1 {
		return fmt.Errorf("%q is not a node", w[1])
	}
	op := protocols.Op{Kind: protocols.OpKind(w[2]), Key: w[3]}
	args := w[4:]
	switch op.Kind {
	case protocols.OpGet:
		if len(args) != 0 {
			return fmt.Errorf("want \"get KEY\"")
		}
	case protocols.OpPut, protocols.OpAppend:
		if len(args) != 1 {
			return fmt.Errorf("want \"%s KEY VALUE\"", op.Kind)
		}
		op.Value = args[0]
	case protocols.OpCAS:
		if len(args) != 2 {
			return fmt.Errorf("want \"cas KEY OLD NEW\"")
		}
		op.Expect, op.Value = args[0], args[1]
	default:
		return fmt.Errorf("operation %q is not get, put, append or cas", op.Kind)
	}
	c := r.clients[0]
	c.queue = append(c.queue, scriptOp{to: to, op: op})
	return r.Sim.Fire(sim.ClientID(1), "propose", int64(len(c.queue)-1))
}

// status prints one line per node from its view, through the same fields
// the TUI shows.
func (r *ScriptRunner) status(args []string) {
	ids := r.Sim.Nodes()
	if len(args) > 0 {
		ids = nil
		for _, a := range args {
			if id, err := sim.ParseNodeID(a); err == nil {
				ids = append(ids, id)
			}
		}
	}
	for _, id := range ids {
		fmt.Fprintln(r.out, StatusLine(r.Sim, id))
	}
}

// StatusLine renders one node's view on one line:
// "n1 leader term=2 leader=n1 log=3 commit=3 applied=3".
func StatusLine(s *sim.Sim, id sim.NodeID) string {
	if !s.Up(id) {
		return id.String() + " down"
	}
	v, ok := s.Inspect(id)
	if !ok {
		return id.String() + " up (no view)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%v %s", id, v.Role)
	label := v.TermLabel
	if label == "" {
		label = "term"
	}
	if v.Term != 0 || v.TermLabel != "" {
		fmt.Fprintf(&b, " %s=%d", label, v.Term)
	}
	if v.Leader != 0 {
		fmt.Fprintf(&b, " leader=%v", v.Leader)
	}
	fmt.Fprintf(&b, " log=%d commit=%d applied=%d", v.LogLen, v.Commit, v.Applied)
	if v.Snapshot > 0 {
		fmt.Fprintf(&b, " snapshot=%d", v.Snapshot)
	}
	return b.String()
}
