package reports

import (
	"fmt"
	"slices"
	"strings"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/protocols/twopc"
	"github.com/synod-dev/synod/sim"
)

func init() {
	registerExperiment(&Experiment{
		Name:        "commit-cost",
		Description: "Gray and Lamport's normal-case table: messages, message delays and stable-storage writes of 2PC, Paxos Commit and Faster Paxos Commit",
		Protocols:   []string{"2pc", "paxos-commit"},
		Run:         runCommitCost,
	})
	registerExperiment(&Experiment{
		Name:        "2pc-blocking",
		Description: "availability and lock-holding time of 2PC against Paxos Commit as the coordinator's crash rate grows",
		Protocols:   []string{"2pc", "paxos-commit"},
		Run:         runBlocking,
	})
}

// costScenario runs one client, one transaction at a time over all N
// participants (N keys, one per participant), with no work time, no disk
// delay and a fixed 1ms one-way latency, so that time in ms counts message
// delays; the client stops after a fixed number of transactions and the
// run goes on until everything is quiet, so that every message and write
// belongs to one of them.
const costScenario = `# normal-case cost (Gray and Lamport's table)
protocol: %s
nodes: %d
duration: 2s
options: {participants: %d, f: %d, workload: kv, accounts: %d, keys_per_txn: %d, work_time: 0s%s}
network: {latency: {dist: uniform, min: 1ms, max: 1ms}}
workload: {clients: 1, mode: closed, think: 0s, op_timeout: 1s, max_ops: %d}
checks: {linearizability: false}
`

// costFormula is a count in N (participants) and F (tolerated faults).
type costFormula struct {
	text string
	f    func(n, f int) int
}

func cf(text string, f func(n, f int) int) costFormula { return costFormula{text, f} }

// costLayout is one column of Gray and Lamport's normal-case table as
// synod runs it: the paper's formulas (Consensus on Transaction Commit,
// ACM TODS 2006: §3.2 for Two-Phase Commit, §4.3 for Paxos Commit and
// Faster Paxos Commit, §5 for the comparison) and, where synod's layout
// differs from the paper's, the exact difference and its cause.
type costLayout struct {
	name      string
	short     string // for the figure's axis
	protocol  string
	opts      string
	colocated bool
	nodes     func(n, f int) int
	// paperMsgs etc. are the paper's counts; diffMsgs etc. what synod's
	// layout adds to them (zero where it is the paper's own).
	paperMsgs, paperDelays, paperWrites costFormula
	diffMsgs, diffDelays, diffWrites    costFormula
	why                                 string
	// counted are the message types that make the paper's pattern; the
	// others (2PC's acknowledgements) are shown apart.
	counted []string
}

var zero = cf("0", func(int, int) int { return 0 })

// costLayouts are the table's columns. The paper's co-located figures put
// the coordinator (or leader) on the initiating participant's node and,
// in Paxos Commit, the acceptors on participants' nodes (§4.3).
var costLayouts = []costLayout{
	{
		name: "2PC, coordinator on its own node", short: "2PC sep.", protocol: "2pc",
		nodes:     func(n, f int) int { return n + 1 },
		paperMsgs: cf("3N−1", func(n, f int) int { return 3*n - 1 }), paperDelays: cf("4", func(int, int) int { return 4 }), paperWrites: cf("N+1", func(n, f int) int { return n + 1 }),
		diffMsgs: cf("+1", func(int, int) int { return 1 }), diffDelays: zero, diffWrites: zero,
		why:     "The paper's transaction starts at a participant that has already prepared: its request to the coordinator is also its Prepared vote, so the coordinator sends N−1 Prepares and gets N−1 votes. Ours starts at a client outside the nodes (its request, like the reply, is not counted): the coordinator asks all N, +1 Prepare and +1 vote for the paper's one request.",
		counted: []string{"Prepare", "Vote", "Decision"},
	},
	{
		name: "2PC, coordinator co-located", short: "2PC co.", protocol: "2pc", opts: ", colocate: true", colocated: true,
		nodes:     func(n, f int) int { return n },
		paperMsgs: cf("3N−3", func(n, f int) int { return 3*n - 3 }), paperDelays: cf("3", func(int, int) int { return 3 }), paperWrites: cf("N+1", func(n, f int) int { return n + 1 }),
		diffMsgs: zero, diffDelays: zero, diffWrites: zero,
		counted: []string{"Prepare", "Vote", "Decision"},
	},
	{
		name: "Paxos Commit, synod's default layout", short: "PC dflt", protocol: "paxos-commit",
		nodes:     func(n, f int) int { return n + 2*f + 1 },
		paperMsgs: cf("(N+1)(F+3)−2", func(n, f int) int { return (n+1)*(f+3) - 2 }), paperDelays: cf("5", func(int, int) int { return 5 }), paperWrites: cf("N+F+1", func(n, f int) int { return n + f + 1 }),
		diffMsgs:   cf("+NF+F−1", func(n, f int) int { return n*f + f - 1 }),
		diffDelays: zero,
		diffWrites: cf("+(N−1)(F+1)+NF", func(n, f int) int { return (n-1)*(f+1) + n*f }),
		why:        "The default layout (leader and one acceptor on n1, the participants and the other 2F acceptors on nodes of their own) sends each vote to all 2F+1 acceptors, not F+1 (+NF phase 2a), its leader is an acceptor (2F phase 2b, not F+1: +F−1), and the client's request stands for BeginCommit (the leader sends N Prepares, not N−1: +1; no BeginCommit: −1). Each acceptor writes each vote as it comes: N(2F+1) accept records for the paper's F+1 bundled ones.",
		counted:    []string{"Prepare", "Phase2a", "Phase2b", "Decision"},
	},
	{
		name: "Paxos Commit, paper's layout", short: "PC", protocol: "paxos-commit", opts: ", colocate: true, phase2a_majority: true, bundle_accepts: true", colocated: true,
		nodes:     func(n, f int) int { return n + max(0, 2*f+1-n) },
		paperMsgs: cf("N(F+3)−3", func(n, f int) int { return n*(f+3) - 3 }), paperDelays: cf("4", func(int, int) int { return 4 }), paperWrites: cf("N+F+1", func(n, f int) int { return n + f + 1 }),
		diffMsgs: zero, diffDelays: zero, diffWrites: zero,
		counted: []string{"Prepare", "Phase2a", "Phase2b", "Decision"},
	},
	{
		name: "Faster Paxos Commit, paper's layout", short: "FPC", protocol: "paxos-commit", opts: ", colocate: true, phase2a_majority: true, bundle_accepts: true, faster: true", colocated: true,
		nodes:     func(n, f int) int { return n + max(0, 2*f+1-n) },
		paperMsgs: cf("(N−1)(2F+3)", func(n, f int) int { return (n - 1) * (2*f + 3) }), paperDelays: cf("3", func(int, int) int { return 3 }), paperWrites: cf("N+F+1", func(n, f int) int { return n + f + 1 }),
		diffMsgs: zero, diffDelays: zero, diffWrites: zero,
		counted: []string{"Prepare", "Phase2a", "Phase2b", "Decision"},
	},
}

// msgCounter counts node-to-node messages by type; a message a node sends
// itself (roles co-located on one node) is a local hand-off, not counted.
type msgCounter struct{ byType map[string]int64 }

func (c *msgCounter) Observe(s *sim.Sim, r *sim.Record) {
	for i := range r.Effects {
		e := &r.Effects[i]
		if e.Kind != sim.EffectSend || e.To == r.Event.To || e.To.IsClient() || r.Event.To.IsClient() {
			continue
		}
		c.byType[e.Msg.MessageType()]++
	}
}

// costRun is one layout at one (N, F), per committed transaction.
type costRun struct {
	msgs, extra      float64 // the paper's pattern; other messages (acks)
	types            map[string]float64
	delays, clientMs float64
	writes, other    float64 // the writes the paper counts; the rest
	txns             int
}

// measureCost runs a layout and divides its counts by the transactions,
// which must all have committed at every participant.
func measureCost(l costLayout, n, f, txns int) (costRun, error) {
	sc, err := mustParse(fmt.Sprintf(costScenario, l.protocol, l.nodes(n, f), n, f, n, n, l.opts, txns))
	if err != nil {
		return costRun{}, err
	}
	inst, err := scenario.Build(sc)
	if err != nil {
		return costRun{}, err
	}
	mc := &msgCounter{byType: map[string]int64{}}
	inst.Sim.AddObserver(mc)
	inst.Sim.Run()
	if err := inst.Sim.Err(); err != nil {
		return costRun{}, err
	}
	if v := inst.Sim.Violations(); len(v) > 0 {
		return costRun{}, fmt.Errorf("%s N=%d F=%d: %v", l.name, n, f, v[0])
	}
	cost := twopc.Costs(inst.Sim)
	calls := map[int64]sim.Time{}
	var out costRun
	for _, op := range inst.History() {
		if op.Status != protocols.OpOK {
			return costRun{}, fmt.Errorf("%s N=%d F=%d: transaction #%d %s (%s): the normal case commits every one", l.name, n, f, op.Seq, op.Status, op.Err)
		}
		calls[op.Seq] = op.Call
		out.clientMs += op.Latency().Milliseconds()
	}
	if len(cost.Txns) != txns || len(calls) != txns {
		return costRun{}, fmt.Errorf("%s N=%d F=%d: %d transactions prepared, %d answered, want %d", l.name, n, f, len(cost.Txns), len(calls), txns)
	}
	hop := sim.Time(0)
	if l.colocated {
		hop = sim.Millisecond // the client's request to n1, where the paper's BeginCommit is local
	}
	for _, x := range cost.Txns {
		if x.Parts != n || x.Outcomes != n || x.Outcome != twopc.Committed {
			return costRun{}, fmt.Errorf("%s N=%d F=%d: %v spans %d participants, %d logged the outcome %v; want all %d committed", l.name, n, f, x.Txn, x.Parts, x.Outcomes, x.Outcome, n)
		}
		out.delays += (x.Learned - calls[x.Seq] - hop).Milliseconds()
	}
	out.types = map[string]float64{}
	for typ, c := range mc.byType {
		out.types[typ] = float64(c) / float64(txns)
		if slices.Contains(l.counted, strings.TrimPrefix(typ, "twopc.")) {
			out.msgs += float64(c)
		} else {
			out.extra += float64(c)
		}
	}
	out.writes = float64(cost.Writes["prepared"] + cost.Writes["decision"] + cost.Writes["accept"] + cost.Writes["promise"])
	out.other = float64(cost.Writes["outcome"] + cost.Writes["end"])
	t := float64(txns)
	out.msgs, out.extra, out.delays, out.clientMs, out.writes, out.other = out.msgs/t, out.extra/t, out.delays/t, out.clientMs/t, out.writes/t, out.other/t
	out.txns = txns
	return out, nil
}

// CommitCostRow is one line of the commit-cost table: measured beside the
// paper's and the expected difference.
type CommitCostRow struct {
	Layout, Short                           string
	N, F                                    int
	Msgs, Delays, Writes                    float64
	PaperMsgs, PaperDelays, PaperWrites     int
	DiffMsgs, DiffDelays, DiffWrites        int
	Extra, OtherWrites, ClientMs            float64
	PaperMsgsText, DiffMsgsText, WritesText string
}

// Exact says the measured counts equal the paper's plus the stated
// differences.
func (r CommitCostRow) Exact() bool {
	return r.Msgs == float64(r.PaperMsgs+r.DiffMsgs) && r.Delays == float64(r.PaperDelays+r.DiffDelays) && r.Writes == float64(r.PaperWrites+r.DiffWrites)
}

// CommitCostTable measures every layout at every (N, F).
func CommitCostTable(ns, fs []int, txns int) ([]CommitCostRow, error) {
	var rows []CommitCostRow
	for _, l := range costLayouts {
		for _, f := range fs {
			if l.protocol == "2pc" && f != fs[0] {
				continue // 2PC tolerates no coordinator failure: F does not apply
			}
			for _, n := range ns {
				m, err := measureCost(l, n, f, txns)
				if err != nil {
					return nil, err
				}
				ff := f
				if l.protocol == "2pc" {
					ff = 0
				}
				rows = append(rows, CommitCostRow{Layout: l.name, Short: l.short, N: n, F: ff, Msgs: m.msgs, Delays: m.delays, Writes: m.writes,
					PaperMsgs: l.paperMsgs.f(n, f), PaperDelays: l.paperDelays.f(n, f), PaperWrites: l.paperWrites.f(n, f),
					DiffMsgs: l.diffMsgs.f(n, f), DiffDelays: l.diffDelays.f(n, f), DiffWrites: l.diffWrites.f(n, f),
					Extra: m.extra, OtherWrites: m.other, ClientMs: m.clientMs,
					PaperMsgsText: l.paperMsgs.text, DiffMsgsText: l.diffMsgs.text, WritesText: l.paperWrites.text})
			}
		}
	}
	return rows, nil
}

func signed(d int) string {
	if d == 0 {
		return ""
	}
	return fmt.Sprintf(" (%+d)", d)
}

// CommitCostMarkdown renders the table (docs/reports.md quotes it) and
// counts the rows equal to the paper's counts plus the stated difference.
func CommitCostMarkdown(rows []CommitCostRow) (string, int) {
	lines := []string{"| layout | N | F | messages | paper | delays | paper | writes | paper | acks | other writes | match |", "|---|---|---|---|---|---|---|---|---|---|---|---|"}
	exact := 0
	for _, x := range rows {
		ok := "exact"
		if x.DiffMsgs != 0 || x.DiffDelays != 0 || x.DiffWrites != 0 {
			ok = "paper + stated difference"
		}
		if !x.Exact() {
			ok = "**differs**"
		} else {
			exact++
		}
		lines = append(lines, fmt.Sprintf("| %s | %d | %d | %g | %s = %d%s | %g | %d%s | %g | %s = %d%s | %g | %g | %s |", x.Layout, x.N, x.F,
			x.Msgs, x.PaperMsgsText, x.PaperMsgs, signed(x.DiffMsgs), x.Delays, x.PaperDelays, signed(x.DiffDelays), x.Writes, x.WritesText, x.PaperWrites, signed(x.DiffWrites), x.Extra, x.OtherWrites, ok))
	}
	return strings.Join(lines, "\n"), exact
}

// commitCostFull is the full table's size: the paper's N = 3, 5, 7 and
// F = 1, 2, five transactions per run.
var commitCostFull = struct{ ns, fs []int }{[]int{3, 5, 7}, []int{1, 2}}

// commitCostTxns is the transactions per run: every one costs the same.
const commitCostTxns = 5

func runCommitCost(cfg ExpConfig) (*Report, error) {
	ns, fs := commitCostFull.ns, commitCostFull.fs
	if cfg.Size == SizeTest {
		ns = []int{3, 5}
	}
	rows, err := CommitCostTable(ns, fs, commitCostTxns)
	if err != nil {
		return nil, err
	}
	r := &Report{Title: "The cost of committing: Gray and Lamport's normal-case table, measured"}
	r.Note("Gray and Lamport, *Consensus on Transaction Commit* (ACM TODS 31(1), 2006): §3.2 counts Two-Phase Commit's normal case (4 message delays and 3N−1 messages; 3 and 3N−3 with the coordinator on the initiating participant's node; N+1 stable-storage writes), §4.3 Paxos Commit's ((N+1)(F+3)−2 messages in 5 delays; N(F+3)−3 with the acceptors and the leader co-located with participants and each vote sent to F+1 acceptors; N+F+1 writes, one per acceptor) and Faster Paxos Commit's (one delay fewer, (N−1)(2F+3) messages co-located), and §5 compares them (5 participants, F=1: 12, 17 and 20 messages).")
	r.Note("Each run: one client, %d transactions one after another, each writing one key on every one of the N participants (so each spans all N), no work time, no disk delay, a fixed 1ms one-way latency, run until quiet. Messages are counted between nodes by type (a node's roles talking to each other are not messages); the client's request and reply are not counted. Message delays run from the client's request to the last participant's logged outcome, without the client's hop where the coordinator is co-located (the paper's BeginCommit is then local). Writes are log records: the paper's are those forced before the next message (participants' prepared records, the 2PC decision, acceptors' accepted votes and promises); the participants' final outcome records and the 2PC coordinator's end record, which no message waits for and the paper does not count, are shown apart.", commitCostTxns)
	table, exact := CommitCostMarkdown(rows)
	for _, x := range rows {
		fmt.Fprintf(cfg.Log, "%s N=%d F=%d: %g messages (paper %d%+d)\n", x.Layout, x.N, x.F, x.Msgs, x.PaperMsgs, x.DiffMsgs)
	}
	r.Note("%s", table)
	r.Note("%d of %d rows equal the paper's count exactly or plus the difference stated below, in messages, delays and writes alike. In parentheses: what synod's layout adds to the paper's formula.", exact, len(rows))
	for _, l := range costLayouts {
		if l.why != "" {
			r.Note("**%s.** %s", l.name, l.why)
		}
	}
	r.Note("The co-located delay counts of Paxos Commit (4) and Faster Paxos Commit (3) are §4.3's 5 and 4 less the BeginCommit message, which co-location makes local, as §3.2 argues for Two-Phase Commit (4, and 3 co-located).")
	r.Note("Not in the paper's pattern: 2PC's acknowledgements (N, or N−1 co-located), which let our coordinator forget a transaction (the paper's normal case sends none); and the participants' outcome records (N per transaction, plus the 2PC coordinator's end record).")
	var labels []string
	measured, paper := []float64{}, []float64{}
	for _, x := range rows {
		if x.N == 5 && x.F <= 1 {
			labels = append(labels, x.Short)
			measured = append(measured, x.Msgs)
			paper = append(paper, float64(x.PaperMsgs))
		}
	}
	r.Add(GroupedBarsFigure("commit-cost-messages", "Messages per transaction, N = 5, F = 1: measured and paper", "layout", "node-to-node messages per committed transaction",
		labels, []string{"measured (synod)", "Gray and Lamport's count"}, [][]float64{measured, paper},
		"Five participants, F=1 for Paxos Commit; each measured bar beside Gray and Lamport's count. 2PC sep./co.: coordinator on its own node / co-located; PC dflt: Paxos Commit in synod's default layout; PC and FPC: Paxos Commit and Faster Paxos Commit in the paper's co-located layout (§3.2, §4.3; §5 quotes 12, 17 and 20 for the co-located 2PC, Paxos Commit and Faster Paxos Commit). Reproduce: `go run ./cmd/synod experiment commit-cost`."))
	return r, nil
}

const blockingScenario = `# coordinator crashes
protocol: %s
nodes: %d
duration: 6s
options: {participants: 3, f: %d, work_time: 5ms}
network: {latency: {dist: uniform, min: 1ms, max: 3ms}}
fsync_delay: 1ms
faults: [%s]
workload: {clients: 3, mode: closed, think: 5ms, op_timeout: 500ms, stop: 5s}
checks: {linearizability: false}
`

// coordinatorCrashes schedules crashes of n1 (the coordinator) at a rate
// per second, each down for downtime, over [0.5s, 5s).
func coordinatorCrashes(rate float64, downtime sim.Time) string {
	if rate <= 0 {
		return ""
	}
	var fs []string
	every := sim.Time(float64(sim.Second) / rate)
	for t := sim.Second / 2; t+downtime < 5*sim.Second; t += every {
		fs = append(fs, fmt.Sprintf("%q, %q", fmt.Sprintf("%v crash n1", t), fmt.Sprintf("%v restart n1", t+downtime)))
	}
	return strings.Join(fs, ", ")
}

func runBlocking(cfg ExpConfig) (*Report, error) {
	seeds := cfg.Size.Pick(1, 30, 300)
	rates := []float64{0, 0.5, 1, 1.5, 2}
	if cfg.Size == SizeTest {
		rates = []float64{0, 2}
	}
	downtime := 300 * sim.Millisecond
	r := &Report{Title: "Blocking: 2PC against Paxos Commit as the coordinator crashes more often"}
	r.Note("Three participants; 2PC with its coordinator n1, Paxos Commit with F=1 (acceptors n1, n5, n6; n1 also the initial leader); n1 is crashed at a fixed rate from 0.5s on and restarted %v later; 1-3ms latency, 1ms disk; three closed-loop clients until 5s of 6s simulated; seeds 0..%d (means). Lock time is the participants' time uncertain (prepared, unable to decide alone) times locks held, read from their logs.", downtime, seeds-1)
	protos := []string{"2pc", "paxos-commit"}
	avail, lock, uncertainMax := map[string][]float64{}, map[string][]float64{}, map[string][]float64{}
	rows := []string{"| protocol | crashes/s | transactions answered | mean uncertain ms | longest uncertain ms | lock-seconds |", "|---|---|---|---|---|---|"}
	for _, p := range protos {
		f, nodes := 0, 4
		if p == "paxos-commit" {
			f, nodes = 1, 6
		}
		for _, rate := range rates {
			sc, err := mustParse(fmt.Sprintf(blockingScenario, p, nodes, f, coordinatorCrashes(rate, downtime)))
			if err != nil {
				return nil, err
			}
			type out struct {
				avail float64
				b     twopc.BlockingStats
				err   error
			}
			res := parallelMap(seeds, cfg.Workers, func(i int) out {
				c := sc.Clone()
				c.Seed = uint64(i)
				inst, err := scenario.Build(c)
				if err != nil {
					return out{err: err}
				}
				inst.Sim.Run()
				res := inst.Summarize()
				all := res.OpsOK + res.OpsFailed + res.OpsUnknown
				return out{avail: float64(res.OpsOK+res.OpsFailed) / max(float64(all), 1), b: twopc.Blocking(inst.Sim)}
			})
			var a, mu, mx, lt float64
			for _, o := range res {
				if o.err != nil {
					return nil, o.err
				}
				n := float64(len(res))
				a += o.avail / n
				mu += o.b.Mean().Milliseconds() / n
				mx += o.b.Max.Milliseconds() / n
				lt += o.b.LockTime.Seconds() / n
			}
			avail[p] = append(avail[p], a)
			lock[p] = append(lock[p], lt)
			uncertainMax[p] = append(uncertainMax[p], mx)
			rows = append(rows, fmt.Sprintf("| %s | %g | %.1f%% | %.1f | %.0f | %.2f |", p, rate, 100*a, mu, mx, lt))
			fmt.Fprintf(cfg.Log, "%s rate %g: avail %.3f lock %.2fs\n", p, rate, a, lt)
		}
	}
	r.Note("%s", strings.Join(rows, "\n"))
	capt := fmt.Sprintf("Coordinator (n1) crashed at the given rate, each time for %v; seeds 0..%d. Reproduce: `go run ./cmd/synod experiment 2pc-blocking`.", downtime, seeds-1)
	r.Add(LinesFigure("blocking-availability", "Transactions answered against coordinator crash rate", "coordinator crashes per second", "fraction of transactions answered", rates, avail, protos, "Fraction of client transactions that got a definite answer (committed or aborted) rather than timing out. "+capt))
	r.Add(LinesFigure("blocking-lock-time", "Lock-holding while uncertain against coordinator crash rate", "coordinator crashes per second", "lock-seconds held while uncertain per run", rates, lock, protos, "Sum over participants' uncertain stretches of duration times locks held. "+capt))
	r.Add(LinesFigure("blocking-longest", "Longest uncertain stretch against coordinator crash rate", "coordinator crashes per second", "longest time a participant stayed uncertain (ms)", rates, uncertainMax, protos, "Mean over seeds of the longest stretch one participant stayed prepared without a decision. "+capt))
	return r, nil
}
