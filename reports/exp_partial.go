package reports

import (
	"fmt"
	"strings"

	"github.com/synod-dev/synod/paxos"
	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

// The partial-connectivity scenarios of Ng, Haridi and Carbone,
// "Omni-Paxos: Breaking the Barriers of Partial Connectivity" (EuroSys
// 2023). The paper's artifact (github.com/haraldng/omnipaxos-artifacts,
// branch pc, kompact/src/bench/atomic_broadcast/client.rs,
// create_partition) builds each one around the node that leads when the
// partition starts; here that node is n2 and the experiment keeps the
// seeds in which n2 leads at the cut (partialLeader).
const (
	// partialLeader is the node the faults are built around: the leader
	// when the partition starts.
	partialLeader = sim.NodeID(2)
	// partialCutAt is when the partition starts: long after the first
	// election of every protocol here (a few hundred ms at most).
	partialCutAt = 1 * sim.Second
	// partialTail is how long a run goes on after the heal.
	partialTail = 2 * sim.Second
	// partialSample is the spacing of the leader samples.
	partialSample = 5 * sim.Millisecond
	// partialFullPartition is the paper's shortest partition (§7.2, the
	// artifact's "quorum_loss-60", "chained-60": 60 s; it also runs 120 s
	// and 240 s): the partition of the scenario files and the full run.
	partialFullPartition = 60 * sim.Second
	// partialSeedsMax bounds the seeds tried per configuration for the
	// ones in which n2 leads at the cut, as a multiple of the seeds wanted
	// (about one in three qualifies on three nodes, one in five on five).
	partialSeedsMax = 30
)

// pcScenario is one network scenario: who is cut from whom, and when.
type pcScenario struct {
	// Name is the experiment's name for it and its file's, under
	// testdata/scenarios/partial/.
	Name string
	// Comment opens the scenario file: what it shows.
	Comment string
	Nodes   int
	// Lag is how long the first stage of the partition lasts before the
	// full one (the constrained election's lagging follower); the window
	// measured runs from partialCutAt+Lag to the heal.
	Lag sim.Time
	// Cuts lists the links cut both ways at partialCutAt, and LagCuts
	// those cut at partialCutAt+Lag (each pair once, "n1-n2").
	Cuts, LagCuts [][2]sim.NodeID
	// RaftOptions are options the scenario sets for protocol raft (the
	// file's protocol; other protocols start from their defaults).
	RaftOptions string
	// Workload is the scenario's workload, in the file's YAML.
	Workload string
}

// defaultWorkload is three closed-loop clients, as in the other scenario
// files (and `synod run`'s defaults), written out in full.
const defaultWorkload = `workload:
  clients: 3
  mode: closed
  think: 5ms
  keys: 5
  timeout: 100ms
  op_timeout: 1s`

// allPairsExcept lists every pair of nodes 1..n, neither of which is in
// keep.
func allPairsExcept(n int, keep ...sim.NodeID) [][2]sim.NodeID {
	var out [][2]sim.NodeID
	skip := func(id sim.NodeID) bool {
		for _, k := range keep {
			if k == id {
				return true
			}
		}
		return false
	}
	for a := sim.NodeID(1); int(a) <= n; a++ {
		for b := a + 1; int(b) <= n; b++ {
			if !skip(a) && !skip(b) {
				out = append(out, [2]sim.NodeID{a, b})
			}
		}
	}
	return out
}

// pcScenarios are the paper's three scenarios and the chained one
// in the form where plain Raft livelocks.
var pcScenarios = []pcScenario{
	{
		Name: "quorum-loss",
		Comment: `Quorum-loss (Omni-Paxos, EuroSys 2023, Table 1 and §7.2): five nodes;
at 1s every link breaks except those of the hub n1, a follower. The
leader n2 can then reach only n1, so it cannot commit, and n3, n4, n5
reach only n1, so none of them can be elected. Only n1 is connected to
a majority; it must notice that its leader is stuck and take over. The
paper's artifact builds it the same way around whichever node leads
("quorum_loss-60": one minute). synod experiment partial-connectivity
runs it for Raft (plain, PreVote, PreVote+CheckQuorum), etcd-raft and
Multi-Paxos, on the seeds in which n2 leads at 1s.`,
		Nodes:    5,
		Cuts:     allPairsExcept(5, 1),
		Workload: defaultWorkload,
	},
	{
		Name: "constrained-election",
		Comment: `Constrained election (Omni-Paxos, EuroSys 2023, Table 1 and §7.2): five
nodes; at 1s the follower n1 loses its links to the leader n2 and falls
behind; 75ms later (half the minimum election timeout, the artifact's
lagging delay of election_timeout/2) the leader is cut off entirely and
n3, n4, n5 keep only their links to n1. Only n1 is connected to a
majority, but its log is behind theirs, so a Raft node refuses it its
vote (§5.4.1 of the Raft paper) and no Raft can elect a leader until the
heal. Multi-Paxos has no such rule. synod experiment
partial-connectivity runs it for every protocol on the seeds in which n2
leads at 1s.`,
		Nodes:    5,
		Lag:      75 * sim.Millisecond,
		Cuts:     [][2]sim.NodeID{{1, 2}},
		LagCuts:  append([][2]sim.NodeID{{2, 3}, {2, 4}, {2, 5}}, allPairsExcept(5, 1, 2)...),
		Workload: defaultWorkload,
	},
	{
		Name: "chained",
		Comment: `Chained (Omni-Paxos, EuroSys 2023, Table 1 and §7.2): three nodes; at 1s
the link between the leader n2 and the follower n3 breaks, while n1
still talks to both. n3 stops hearing the leader and campaigns; its
higher term reaches n1, whose answers depose n2. Under load n3's log is
behind n1's, so n3 cannot win: plain Raft churns until the middle node
n1 wins a race for the leadership, then stays there (see
chained-livelock.yaml for the form in which it never settles).
synod experiment partial-connectivity runs it for every protocol on the
seeds in which n2 leads at 1s.`,
		Nodes:    3,
		Cuts:     [][2]sim.NodeID{{2, 3}},
		Workload: defaultWorkload,
	},
	{
		Name: "chained-livelock",
		Comment: `Chained, in the form where plain Raft livelocks (Omni-Paxos, EuroSys 2023,
Table 1; the authors' blog post "How OmniPaxos handles partial
connectivity", May 2023, draws it): three nodes; at 1s the link between
the leader n2 and n3 breaks, n1 still talks to both. n3 campaigns and
WINS with n1's vote, n1's answers depose n2, n2 campaigns and wins back,
and so on: terms 2, 4, 6 for one end, 3, 5, 7 for the other, while n1,
which always hears a leader or grants a vote, never campaigns. Each end
can win only if its log is as up to date as n1's, so nothing may be
committed during the partition: the clients stop at 0.9s and Raft runs
as in Figure 2 of the Raft paper, without the no-op a new leader
appends (§8, option no_leader_noop). With the no-op, or any write, the
end that did not lead last is behind after one round and can only
depose: see chained.yaml.`,
		Nodes:       3,
		Cuts:        [][2]sim.NodeID{{2, 3}},
		RaftOptions: "options: {no_leader_noop: true}",
		Workload:    defaultWorkload + "\n  stop: 900ms",
	},
}

// pcConfig is one protocol configuration.
type pcConfig struct {
	// Label names the row.
	Label    string
	Protocol string
	// Options are the protocol options, as `--option` takes them.
	Options []string
	// Table1 is the paper's Table 1 entry for the configuration, by
	// scenario ("✓": stable progress, "✗": unavailable); empty when the
	// paper has none. Sec72 is what the paper's §7.2 (Fig. 7) measured,
	// as its artifact's README states it (claim C1), where it says.
	Table1, Sec72 map[string]string
}

// The paper's Table 1 rows. Its footnote marks plain Raft's quorum-loss
// and chained entries as addressed by the PreVote and CheckQuorum patch,
// which gives the PV+CQ row; the paper does not run etcd's Raft, which
// has the same two options on, nor PreVote alone.
var (
	table1Raft   = map[string]string{"quorum-loss": "✗", "constrained-election": "✗", "chained": "✗", "chained-livelock": "✗"}
	table1PVCQ   = map[string]string{"quorum-loss": "✓", "constrained-election": "✗", "chained": "✓", "chained-livelock": "✓"}
	table1Paxos  = map[string]string{"quorum-loss": "✗", "constrained-election": "✓", "chained": "✗", "chained-livelock": "✗"}
	sec72Raft    = map[string]string{"quorum-loss": "recovers", "constrained-election": "deadlock"}
	sec72Paxos   = map[string]string{"quorum-loss": "deadlock", "constrained-election": "recovers", "chained": "fewer decided", "chained-livelock": "fewer decided"}
	pcRaftLabel  = "Raft"
	pcPaxosLabel = "Multi-Paxos"
)

// pcConfigs are the configurations compared.
var pcConfigs = []pcConfig{
	{Label: pcRaftLabel, Protocol: "raft", Options: []string{"pre_vote=false", "check_quorum=false"}, Table1: table1Raft, Sec72: sec72Raft},
	{Label: "Raft PreVote", Protocol: "raft", Options: []string{"pre_vote=true", "check_quorum=false"}},
	{Label: "Raft PV+CQ", Protocol: "raft", Options: []string{"pre_vote=true", "check_quorum=true"}, Table1: table1PVCQ, Sec72: sec72Raft},
	{Label: "etcd-raft (PV+CQ)", Protocol: "etcd-raft", Table1: table1PVCQ},
	{Label: pcPaxosLabel, Protocol: "paxos", Table1: table1Paxos, Sec72: sec72Paxos},
}

// partialYAML is the scenario file of s with a partition of the given
// length, for protocol raft without options (the experiment sets the
// protocol and options of each configuration on the parsed scenario).
func partialYAML(s *pcScenario, partition sim.Time, seed uint64) string {
	var b strings.Builder
	for _, line := range strings.Split(s.Comment, "\n") {
		b.WriteString("# " + line + "\n")
	}
	fmt.Fprintf(&b, "protocol: raft\nnodes: %d\nseed: %d\nduration: %v\n", s.Nodes, seed, partialCutAt+s.Lag+partition+partialTail)
	if s.RaftOptions != "" {
		b.WriteString(s.RaftOptions + "\n")
	}
	b.WriteString("network:\n  latency: {dist: uniform, min: 1ms, max: 5ms}\nfaults:\n")
	cut := func(at sim.Time, pairs [][2]sim.NodeID) {
		for _, p := range pairs {
			fmt.Fprintf(&b, "  - %v cut %v->%v\n  - %v cut %v->%v\n", at, p[0], p[1], at, p[1], p[0])
		}
	}
	cut(partialCutAt, s.Cuts)
	cut(partialCutAt+s.Lag, s.LagCuts)
	fmt.Fprintf(&b, "  - %v heal\n", partialCutAt+s.Lag+partition)
	b.WriteString(s.Workload + "\n")
	b.WriteString(`checks:
  # Liveness is measured here. A leader that cannot commit leaves hundreds
  # of operations unanswered over a minute, which the linearizability check
  # cannot decide within its budget (unknown); the invariant checkers run.
  linearizability: false
`)
	return b.String()
}

// partialRun is what one run measured over the partition window (from
// the full partition to the heal).
type partialRun struct {
	Seed uint64
	// Changes counts the leader changes in the window: samples whose
	// (leader, term) differs from the last leader sampled, the one that
	// led at the cut included.
	Changes int
	// Unusable is the time without a usable leader (one that is up and
	// exchanges messages both ways with a majority); Stuck the part of it
	// with a leader that cannot commit; Longest the longest outage.
	Unusable, Stuck, Longest sim.Time
	// LastChange is when, after the window opened, the leader last
	// changed (-1: never); Settled is when the window's last stretch of
	// usable leadership began (0: usable throughout; the window's length:
	// not usable at its end).
	LastChange, Settled sim.Time
	// Recovered: a usable leader at the end of the window.
	Recovered bool
	// OpsOK counts the client operations answered ok within the window.
	OpsOK int
	// Outcome is the run's verdict (ok, violation, nonlinearizable, ...).
	Outcome string
	// Hub is the Multi-Paxos hub's side of the quorum-loss deadlock.
	Hub *hubStats
	// Leaders are the window's samples, kept for the first seed only.
	Leaders []LeaderSample
}

// hubStats measures why a Multi-Paxos hub does not take over: the paper's
// mechanism (the hub still hears a live leader) against synod's (the
// hub's election deadline is pushed out by every Prepare it promises).
type hubStats struct {
	// LeaderLast is when, after the window opened, the hub last heard the
	// old leader (a heartbeat or an accept); -1: never.
	LeaderLast sim.Time
	// Prepares counts the Prepares delivered to the hub in the window;
	// MaxGap is the longest stretch without one between the old leader's
	// last message (or the window's start) and the hub's first phase 1
	// (or the heal).
	Prepares int
	MaxGap   sim.Time
	// Stood is when, after the window opened, the hub's first Prepare
	// arrived anywhere (-1: it never ran phase 1).
	Stood sim.Time
	// Elections counts the hub's own phase 1 attempts in the window.
	Elections int64
}

// hubObserver counts messages delivered to the hub during the window.
type hubObserver struct {
	hub, leader sim.NodeID
	from, to    sim.Time
	st          *hubStats
	prepares    []sim.Time
}

func (o *hubObserver) Observe(s *sim.Sim, r *sim.Record) {
	ev := &r.Event
	if ev.Kind != sim.KindDeliver || ev.At < o.from || ev.At >= o.to || r.Outcome != "" {
		return
	}
	_, prepare := ev.Msg.(*paxos.Prepare)
	switch {
	case prepare && ev.From == o.hub && o.st.Stood < 0:
		o.st.Stood = ev.At - o.from
	case ev.To != o.hub:
	case prepare:
		o.st.Prepares++
		o.prepares = append(o.prepares, ev.At)
	case ev.From == o.leader:
		switch ev.Msg.(type) {
		case *paxos.Heartbeat, *paxos.Accept:
			o.st.LeaderLast = ev.At - o.from
		}
	}
}

// maxGap is the longest stretch of [start, end) with no Prepare.
func (o *hubObserver) maxGap(start, end sim.Time) sim.Time {
	gap, last := sim.Time(0), start
	for _, at := range o.prepares {
		if at < start || at >= end {
			continue
		}
		gap = max(gap, at-last)
		last = at
	}
	return max(gap, end-last)
}

// partialMeasure runs one seed of a scenario and measures its window. It
// returns ok=false, without finishing the run, when n2 does not lead just
// before the cut: the faults would not be the scenario's.
func partialMeasure(sc *scenario.Scenario, s *pcScenario, partition sim.Time) (partialRun, bool, error) {
	run := partialRun{Seed: sc.Seed, LastChange: -1}
	inst, err := scenario.Build(sc)
	if err != nil {
		return run, false, err
	}
	from := partialCutAt + s.Lag
	to := from + partition
	var hub *hubObserver
	if sc.Protocol == "paxos" && s.Name == "quorum-loss" {
		run.Hub = &hubStats{LeaderLast: -1, Stood: -1}
		hub = &hubObserver{hub: 1, leader: partialLeader, from: from, to: to, st: run.Hub}
		inst.Sim.AddObserver(hub)
	}
	inst.Sim.RunUntil(partialCutAt - partialSample)
	pre := SampleLeader(inst.Sim)
	if pre.Leader != partialLeader || !pre.Usable {
		return run, false, nil
	}
	var hubElections0 int64
	var window []LeaderSample
	for t := partialCutAt; ; t += partialSample {
		ok := inst.Sim.RunUntil(t)
		if t == from && hub != nil {
			hubElections0 = viewInt(inst.Sim, 1, "elections")
		}
		if t >= from && t < to {
			ls := SampleLeader(inst.Sim)
			ls.At = t
			window = append(window, ls)
		}
		if t == to && hub != nil {
			run.Hub.Elections = viewInt(inst.Sim, 1, "elections") - hubElections0
		}
		if !ok {
			break
		}
	}
	res := inst.Summarize()
	if len(window) == 0 {
		return run, false, fmt.Errorf("seed %d: no samples in the window %v..%v (the run stopped at %.3fs: %s)", sc.Seed, from, to, res.SimSeconds, res.Stopped)
	}
	sum := SummarizeLeaders(window, partialSample)
	run.Unusable = sim.Time(float64(len(window))*(1-sum.UsableFrac)+0.5) * partialSample
	run.Longest = sum.LongestOutage
	last := pre
	for _, x := range window {
		if x.Leader != 0 && !x.Usable {
			run.Stuck += partialSample
		}
		if x.Leader != 0 && (x.Leader != last.Leader || x.Term != last.Term) {
			run.Changes++
			run.LastChange = x.At - from
			last = x
		}
	}
	run.Recovered = window[len(window)-1].Usable
	run.Settled = partition
	for i := len(window) - 1; i >= 0 && window[i].Usable; i-- {
		run.Settled = window[i].At - from
	}
	run.Leaders = window
	for i := range res.History {
		op := &res.History[i]
		if op.Status == protocols.OpOK && op.Return >= from && op.Return < to {
			run.OpsOK++
		}
	}
	var sr SeedResult
	sr.fill(&RunData{Scenario: sc, Result: res})
	run.Outcome = sr.Outcome
	if hub != nil {
		start := from
		if run.Hub.LeaderLast >= 0 {
			start = from + run.Hub.LeaderLast
		}
		end := to
		if run.Hub.Stood >= 0 {
			end = from + run.Hub.Stood
		}
		run.Hub.MaxGap = hub.maxGap(start, end)
	}
	return run, true, nil
}

// viewInt reads an integer field of a node's view (0 when absent).
func viewInt(s *sim.Sim, id sim.NodeID, name string) int64 {
	v, ok := s.Inspect(id)
	if !ok {
		return 0
	}
	for _, f := range v.Fields {
		if f.Name == name {
			var x int64
			fmt.Sscan(f.Value, &x)
			return x
		}
	}
	return 0
}

// partialBuild parses a scenario for a configuration and seed.
func partialBuild(s *pcScenario, c *pcConfig, partition sim.Time, seed uint64) (*scenario.Scenario, error) {
	sc, err := scenario.Parse([]byte(partialYAML(s, partition, seed)), s.Name+".yaml")
	if err != nil {
		return nil, err
	}
	if c.Protocol != sc.Protocol {
		sc.Protocol = c.Protocol
		sc.RawOpts = nil
		sc.ResetOptions()
	}
	for _, o := range c.Options {
		if err := sc.SetOption(o); err != nil {
			return nil, err
		}
	}
	return sc, sc.Revalidate()
}

// pcLeaderAtCut runs a scenario to just before the cut and reports
// whether n2 leads there, usable: whether the seed is one of the
// scenario's.
func pcLeaderAtCut(sc *scenario.Scenario) (bool, error) {
	inst, err := scenario.Build(sc)
	if err != nil {
		return false, err
	}
	inst.Sim.RunUntil(partialCutAt - partialSample)
	ls := SampleLeader(inst.Sim)
	return ls.Leader == partialLeader && ls.Usable, nil
}

// pcRow is one configuration's runs of one scenario.
type pcRow struct {
	Scenario *pcScenario
	Config   *pcConfig
	Runs     []partialRun
	// Tried is how many seeds were tried to find the runs.
	Tried int
}

// pcSeeds finds the first n seeds (from 1) in which n2 leads at the cut,
// trying at most n*partialSeedsMax, on the workers.
func pcSeeds(cfg ExpConfig, s *pcScenario, c *pcConfig, partition sim.Time, n int) (seeds []uint64, tried int, err error) {
	batch := max(cfg.Workers, 1) * 2
	type out struct {
		ok  bool
		err error
	}
	for lo := 1; len(seeds) < n; lo += batch {
		if lo > n*partialSeedsMax {
			return nil, tried, fmt.Errorf("%s, %s: n%d led at %v in only %d of seeds 1..%d (bound partialSeedsMax=%d per seed wanted)",
				s.Name, c.Label, partialLeader, partialCutAt, len(seeds), tried, partialSeedsMax)
		}
		res := parallelMap(batch, cfg.Workers, func(i int) out {
			sc, err := partialBuild(s, c, partition, uint64(lo+i))
			if err != nil {
				return out{err: err}
			}
			ok, err := pcLeaderAtCut(sc)
			return out{ok: ok, err: err}
		})
		for i, o := range res {
			if o.err != nil {
				return nil, tried, o.err
			}
			if len(seeds) == n {
				break
			}
			tried = lo + i
			if o.ok {
				seeds = append(seeds, uint64(lo+i))
			}
		}
	}
	return seeds, tried, nil
}

// pcMeasure runs every configuration on every scenario: n seeds each,
// the partition lasting partition.
func pcMeasure(cfg ExpConfig, scs []pcScenario, confs []pcConfig, partition sim.Time, n int) ([]pcRow, error) {
	var rows []pcRow
	for i := range scs {
		for j := range confs {
			s, c := &scs[i], &confs[j]
			seeds, tried, err := pcSeeds(cfg, s, c, partition, n)
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(cfg.Log, "%s, %s: seeds %v\n", s.Name, c.Label, seeds)
			type out struct {
				run partialRun
				err error
			}
			res := parallelMap(len(seeds), cfg.Workers, func(k int) out {
				sc, err := partialBuild(s, c, partition, seeds[k])
				if err != nil {
					return out{err: err}
				}
				run, ok, err := partialMeasure(sc, s, partition)
				if err == nil && !ok {
					err = fmt.Errorf("%s, %s, seed %d: n%d led at %v in the run without faults but not in the run with them", s.Name, c.Label, seeds[k], partialLeader, partialCutAt)
				}
				if k > 0 {
					run.Leaders = nil
				}
				return out{run, err}
			})
			row := pcRow{Scenario: s, Config: c, Tried: tried}
			for _, o := range res {
				if o.err != nil {
					return nil, o.err
				}
				row.Runs = append(row.Runs, o.run)
			}
			rows = append(rows, row)
		}
	}
	return rows, nil
}

// pcOutcome is a row's outcome over its seeds.
type pcOutcome struct {
	// Kind is "recovers", "deadlock", "livelock" or "mixed".
	Kind string
	// Recovered counts the seeds with a usable leader at the window's end.
	Recovered int
}

// Outcome kinds.
const (
	pcRecovers = "recovers"
	pcDeadlock = "deadlock"
	pcLivelock = "livelock"
	pcMixed    = "mixed"
)

// pcLateFrac is the last part of the window in which a leader change
// still counts as churn that never settles.
const pcLateFrac = 0.1

// outcome classifies a row: a livelock when the leader still changes in
// the last tenth of the window in every seed; a deadlock when no seed has
// a usable leader at the window's end; recovers when every seed has one.
func (r *pcRow) outcome(partition sim.Time) pcOutcome {
	o := pcOutcome{}
	late := 0
	for _, x := range r.Runs {
		if x.Recovered {
			o.Recovered++
		}
		if x.LastChange >= sim.Time(float64(partition)*(1-pcLateFrac)) {
			late++
		}
	}
	switch {
	case late == len(r.Runs):
		o.Kind = pcLivelock
	case o.Recovered == 0:
		o.Kind = pcDeadlock
	case o.Recovered == len(r.Runs):
		o.Kind = pcRecovers
	default:
		o.Kind = pcMixed
	}
	return o
}

// mark is the outcome in Table 1's terms: ✓ stable progress, ✗ not.
func (o pcOutcome) mark() string {
	if o.Kind == pcRecovers {
		return "✓"
	}
	return "✗"
}

// meanOf averages f over a row's runs.
func (r *pcRow) meanOf(f func(*partialRun) float64) float64 {
	s := 0.0
	for i := range r.Runs {
		s += f(&r.Runs[i])
	}
	return s / float64(max(len(r.Runs), 1))
}

// rangeOf is "min-max" of an integer over a row's runs ("7" when equal).
func (r *pcRow) rangeOf(f func(*partialRun) int) string {
	lo, hi := 0, 0
	for i := range r.Runs {
		v := f(&r.Runs[i])
		if i == 0 || v < lo {
			lo = v
		}
		if i == 0 || v > hi {
			hi = v
		}
	}
	if lo == hi {
		return fmt.Sprint(lo)
	}
	return fmt.Sprintf("%d-%d", lo, hi)
}

// pcFile is where a scenario's file lives, from the repository root.
func pcFile(s *pcScenario) string { return "testdata/scenarios/partial/" + s.Name + ".yaml" }

// pcReplay is the command that replays one run: the scenario file with
// the configuration's protocol and options, and, for a partition shorter
// than the file's, an earlier heal and duration (the file's later heal
// then falls after the end).
func pcReplay(s *pcScenario, c *pcConfig, partition sim.Time, seed uint64) string {
	var b strings.Builder
	b.WriteString("go run ./cmd/synod run --scenario " + pcFile(s))
	if c.Protocol != "raft" {
		b.WriteString(" --protocol " + c.Protocol)
	}
	for _, o := range c.Options {
		b.WriteString(" --option " + o)
	}
	if partition != partialFullPartition {
		heal := partialCutAt + s.Lag + partition
		fmt.Fprintf(&b, " --duration %v --fault '%v heal'", heal+partialTail, heal)
	}
	fmt.Fprintf(&b, " --seed %d", seed)
	return b.String()
}
