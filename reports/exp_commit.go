package reports

import (
	"fmt"
	"strings"

	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/protocols/twopc"
	"github.com/synod-dev/synod/sim"
)

func init() {
	registerExperiment(&Experiment{
		Name:        "commit-cost",
		Description: "message delays, messages and stable-storage writes per committed operation: 2PC, Paxos Commit, Multi-Paxos, Raft",
		Protocols:   []string{"2pc", "paxos-commit", "paxos", "raft"},
		Run:         runCommitCost,
	})
	registerExperiment(&Experiment{
		Name:        "2pc-blocking",
		Description: "availability and lock-holding time of 2PC against Paxos Commit as the coordinator's crash rate grows",
		Protocols:   []string{"2pc", "paxos-commit"},
		Run:         runBlocking,
	})
}

// costScenario runs one client without faults on a fixed 1ms latency, so
// that latency in ms counts message delays and every message and write can
// be charged to the operations.
const costScenario = `# normal-case cost
protocol: %s
nodes: %d
duration: 3s
options: %s
network: {latency: {dist: uniform, min: 1ms, max: 1ms}}
workload: {clients: 1, mode: closed, think: 0s, op_timeout: 1s}
checks: {linearizability: false}
`

// costCase is one protocol configuration of the commit-cost table.
type costCase struct {
	protocol string
	nodes    int
	opts     string
	n, f     int // participants (resource managers) and tolerated faults
	// Gray and Lamport's normal-case figures (Consensus on Transaction
	// Commit, 2006, §6; Multi-Paxos as the cost of one instance with a
	// stable leader), as formulas in n and f.
	delays, writes string
}

func runCommitCost(cfg ExpConfig) (*Report, error) {
	seeds := cfg.Size.Pick(1, 5, 50)
	var cases []costCase
	ns := []int{3, 5}
	if cfg.Size != SizeTest {
		ns = []int{2, 3, 5, 7}
	}
	for _, n := range ns {
		cases = append(cases,
			costCase{"2pc", n + 1, fmt.Sprintf("{participants: %d, workload: kv, keys_per_txn: %d}", n, n), n, 0, "4", "N+1"},
			costCase{"paxos-commit", n + 3, fmt.Sprintf("{participants: %d, f: 1, workload: kv, keys_per_txn: %d}", n, n), n, 1, "5", "N+F+1"})
	}
	for _, n := range []int{3, 5, 7} {
		cases = append(cases, costCase{"paxos", n, "{}", n, (n - 1) / 2, "2", "N"}, costCase{"raft", n, "{}", n, (n - 1) / 2, "2", "N"})
	}
	r := &Report{Title: "The cost of committing: 2PC, Paxos Commit, Multi-Paxos and Raft"}
	r.Note("One client, no faults, a fixed 1ms one-way latency and no disk delay, 3s simulated, seeds 0..%d (means). Latency in ms is then the number of message delays the client sees, including its request and the reply (2 delays). Messages and stable-storage writes are counted between nodes only and divided by committed operations; a Raft or Multi-Paxos operation is one client command, a 2PC or Paxos Commit operation one transaction across the N participants. Heartbeats add to the replicated logs' counts.", seeds-1)
	rows := []string{"| protocol | nodes | N | F | latency ms (delays) | paper delays (+2 client) | messages / op | writes / op | paper writes |", "|---|---|---|---|---|---|---|---|---|"}
	var labels []string
	var msgs []float64
	for _, c := range cases {
		sc, err := mustParse(fmt.Sprintf(costScenario, c.protocol, c.nodes, c.opts))
		if err != nil {
			return nil, err
		}
		res, err := sweepSeeds(cfg, sc, seeds)
		if err != nil {
			return nil, err
		}
		lat := mean(res, func(s *SeedResult) float64 { return s.LatencyP50 })
		m := mean(res, func(s *SeedResult) float64 { return float64(s.Messages) / max(float64(s.OpsOK), 1) })
		w := mean(res, func(s *SeedResult) float64 { return float64(s.Persists) / max(float64(s.OpsOK), 1) })
		rows = append(rows, fmt.Sprintf("| %s | %d | %d | %d | %.1f | %s | %.1f | %.1f | %s |", c.protocol, c.nodes, c.n, c.f, lat, c.delays, m, w, c.writes))
		if c.n == 3 {
			labels = append(labels, c.protocol)
			msgs = append(msgs, m)
		}
		fmt.Fprintf(cfg.Log, "%s n=%d: %.1f messages/op\n", c.protocol, c.n, m)
	}
	r.Note("%s", strings.Join(rows, "\n"))
	r.Note("Gray and Lamport count the normal case with the transaction manager on one resource manager's node and without client hops: 2PC 4 message delays and N+1 writes, Paxos Commit 5 delays and N+F+1 writes (with F+1 acceptors' phase 2b batched). Our 2PC coordinator is a node of its own and our client sits outside, so the measured delays add the client's two; write counts include every persisted key, so implementations that persist several keys per decision count more.")
	r.Add(BarsFigure("commit-cost-messages", "Messages per committed operation, N = 3", "protocol", "node-to-node messages per committed operation", labels, msgs,
		fmt.Sprintf("Three participants (2PC, Paxos Commit with F=1) or three replicas (Multi-Paxos, Raft); one client, no faults, 1ms latency, seeds 0..%d. Reproduce: `go run ./cmd/synod experiment commit-cost`.", seeds-1)))
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
