package reports

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

func init() {
	registerExperiment(&Experiment{
		Name:        "raft-vs-paxos",
		Description: "latency and availability of Raft, Multi-Paxos and etcd-raft on identical fault schedules",
		Protocols:   []string{"raft", "paxos", "etcd-raft"},
		Run:         runRaftVsPaxos,
	})
	registerExperiment(&Experiment{
		Name:        "raft-partial-partitions",
		Description: "time without a usable leader under one-way link cuts, with and without PreVote and CheckQuorum",
		Protocols:   []string{"raft"},
		Run:         runPartialPartitions,
	})
	registerExperiment(&Experiment{
		Name:        "scaling",
		Description: "throughput and latency against cluster size (3, 5, 7, 9) and loss rate, for Raft and Multi-Paxos",
		Protocols:   []string{"raft", "paxos"},
		Run:         runScaling,
	})
}

// chaosScenario is the fault schedule every protocol of a comparison
// faces: the nemesis draws the same faults for the same seed whatever the
// protocol, since its random stream is forked from the seed alone.
const chaosScenario = `# comparison under chaos
protocol: %s
nodes: 5
duration: %s
network: {latency: {dist: exponential, min: 1ms, mean: 3ms, max: 200ms}, loss: 0.01}
nemesis: {crash_every: 1s, partition_every: 1.5s, cut_every: 2s, pause_every: 3s, downtime: 400ms, heal_at: %s}
workload: {clients: 3, mode: closed, think: 5ms, keys: 5, timeout: 100ms, op_timeout: 1s}
checks: {linearizability: true}
`

// runSample is what a comparison keeps of one run.
type runSample struct {
	lat []float64
	// elect holds the election times (ms) after crashes of a usable leader.
	elect   []float64
	leader  LeaderSummary
	avail   float64
	outcome string
	replay  string
}

// observeSeeds runs seeds 0..n-1 of sc. A failing seed's replay command
// names file, the scenario's text written beside the report
// (Report.Files): sc is built in code, and the flags of `run --protocol`
// would rebuild the default scenario instead, not this one.
func observeSeeds(cfg ExpConfig, sc *scenario.Scenario, file string, n int) ([]runSample, error) {
	type out struct {
		s   runSample
		err error
	}
	res := parallelMap(n, cfg.Workers, func(i int) out {
		c := sc.Clone()
		c.Seed = uint64(i)
		d, err := Observe(c, 5*sim.Millisecond)
		if err != nil {
			return out{err: err}
		}
		var sr SeedResult
		sr.fill(d)
		s := runSample{lat: LatenciesMs(d.Result.History), leader: SummarizeLeaders(d.Leaders, d.SampleEvery), avail: sr.AvailOps, outcome: sr.Outcome}
		for _, e := range ElectionTimes(d) {
			s.elect = append(s.elect, e.Milliseconds())
		}
		if sr.NeedsReplay() {
			s.replay = scenario.Command("run", "--scenario", file, "--seed", strconv.Itoa(i))
		}
		return out{s: s}
	})
	var samples []runSample
	for _, o := range res {
		if o.err != nil {
			return nil, o.err
		}
		samples = append(samples, o.s)
	}
	return samples, nil
}

func runRaftVsPaxos(cfg ExpConfig) (*Report, error) {
	seeds := cfg.Size.Pick(2, 60, 1000)
	dur, heal := "10s", "8s"
	if cfg.Size == SizeTest {
		dur, heal = "2s", "1500ms"
	}
	protos := []string{"raft", "paxos", "etcd-raft"}
	r := &Report{Title: "Raft, Multi-Paxos and etcd-raft on identical fault schedules"}
	r.Note("Five nodes, %s simulated, the nemesis crashing, partitioning, cutting and pausing nodes until %s (the same faults for the same seed, whatever the protocol), 1%% loss, three closed-loop clients; seeds 0..%d per protocol.", dur, heal, seeds-1)
	rows := []string{"| protocol | seeds | ops ok (all seeds) | p50 ms | p99 ms | ops succeeding | usable leader | mean longest outage ms | failing seeds |", "|---|---|---|---|---|---|---|---|---|"}
	var latS, outS, electS []Series
	var unavail []float64
	for _, p := range protos {
		text := fmt.Sprintf(chaosScenario, p, dur, heal)
		sc, err := mustParse(text)
		if err != nil {
			return nil, err
		}
		file := "scenario-" + p + ".yaml"
		if r.Files == nil {
			r.Files = map[string][]byte{}
		}
		r.Files[file] = []byte(text)
		fmt.Fprintf(cfg.Log, "%s: %d seeds\n", p, seeds)
		samples, err := observeSeeds(cfg, sc, file, seeds)
		if err != nil {
			return nil, err
		}
		var lat, outage, elect []float64
		avail, usable, failing := 0.0, 0.0, 0
		for _, s := range samples {
			lat = append(lat, s.lat...)
			elect = append(elect, s.elect...)
			outage = append(outage, s.leader.LongestOutage.Milliseconds())
			avail += s.avail / float64(len(samples))
			usable += s.leader.UsableFrac / float64(len(samples))
			if s.outcome != OutcomeOK {
				failing++
				r.Note("**%s seed failed (%s)**: `%s` (from this report's folder, which holds the scenario)", p, s.outcome, s.replay)
			}
		}
		slices.Sort(lat)
		q := Quantiles(lat, 0.5, 0.99)
		rows = append(rows, fmt.Sprintf("| %s | %d | %d | %.1f | %.1f | %.2f%% | %.1f%% | %.0f | %d |", p, seeds, len(lat), q[0], q[1], 100*avail, 100*usable, mean2(outage), failing))
		latS = append(latS, Series{Name: p, Values: lat})
		outS = append(outS, Series{Name: p, Values: outage})
		electS = append(electS, Series{Name: p, Values: elect})
		unavail = append(unavail, 100*(1-usable))
	}
	r.Note("%s", strings.Join(rows, "\n"))
	capt := fmt.Sprintf("five nodes under the same chaos schedule, seeds 0..%d, %s simulated. Reproduce: `go run ./cmd/synod experiment raft-vs-paxos`.", seeds-1, dur)
	r.Add(CDFFigure("raft-vs-paxos-latency", "Client latency under identical faults", "latency (ms, log scale)", latS, "Latency of every answered operation of every seed; "+capt))
	r.Add(HistogramFigure("raft-vs-paxos-latency-hist", "Client latency histogram under identical faults", "latency (ms, log scale)", latS, 40, "Histogram of the latencies above; "+capt))
	r.Add(CDFFigure("raft-vs-paxos-outage", "Longest leader outage per run", "longest span without a usable leader (ms, log scale)", outS, "CDF over seeds of the longest span without a usable leader (sampled every 5ms); "+capt))
	r.Add(CDFFigure("raft-vs-paxos-election", "Leader election time after a leader crash", "time from the leader's crash to a new usable leader (ms, log scale)", electS, "Every crash of a usable leader in every seed (the nemesis picks nodes at random, so about one crash in five hits the leader); time to the first 5ms sample with a usable leader of a higher term or ballot; "+capt))
	r.Add(BarsFigure("raft-vs-paxos-unavailability", "Share of time without a usable leader", "protocol", "time without a usable leader (%)", protos, unavail, "Mean over seeds of the share of sampled instants with no usable leader; "+capt))
	return r, nil
}

func mean2(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// partialScenario cuts links one way (a node that hears the others but is
// not heard, or the reverse): the partial network failures PreVote and
// CheckQuorum address.
const partialScenario = `# raft under one-way link cuts
protocol: raft
nodes: 5
duration: %s
options: {pre_vote: %t, check_quorum: %t}
network: {latency: {dist: uniform, min: 1ms, max: 5ms}}
nemesis: {cut_every: 300ms, downtime: 1500ms, heal_at: %s}
workload: {clients: 2, mode: closed, think: 5ms, keys: 5, timeout: 100ms, op_timeout: 1s}
checks: {linearizability: true}
`

func runPartialPartitions(cfg ExpConfig) (*Report, error) {
	seeds := cfg.Size.Pick(2, 100, 1000)
	dur, heal := "10s", "8s"
	if cfg.Size == SizeTest {
		dur, heal = "2s", "1500ms"
	}
	r := &Report{Title: "Raft under partial network failures: PreVote and CheckQuorum"}
	r.Note("Five Raft nodes, %s simulated; the nemesis cuts a random link one way every 300ms, each cut lasting 1.5s, until %s; two clients; seeds 0..%d per configuration. A leader is usable when it is up and exchanges messages both ways with a majority.", dur, heal, seeds-1)
	type conf struct{ pre, cq bool }
	confs := []conf{{false, false}, {true, false}, {false, true}, {true, true}}
	rows := []string{"| pre_vote | check_quorum | time without usable leader | mean longest outage ms | leaderships per run | ops succeeding | failing seeds |", "|---|---|---|---|---|---|---|"}
	var labels []string
	var unavail []float64
	var outS, elS []Series
	for _, c := range confs {
		sc, err := mustParse(fmt.Sprintf(partialScenario, dur, c.pre, c.cq, heal))
		if err != nil {
			return nil, err
		}
		label := fmt.Sprintf("prevote=%t checkquorum=%t", c.pre, c.cq)
		fmt.Fprintf(cfg.Log, "%s: %d seeds\n", label, seeds)
		res, err := sweepSeeds(cfg, sc, seeds)
		if err != nil {
			return nil, err
		}
		var outage, els []float64
		un := 0.0
		for _, x := range res {
			if x.AvailLeader != nil {
				un += 100 * (1 - *x.AvailLeader) / float64(len(res))
			}
			outage = append(outage, x.LongestOutageMs)
			els = append(els, float64(x.Elections))
		}
		sum := Summarize(res)
		fails := len(sum.Failing) + len(sum.Unknown) // not passes, either way
		rows = append(rows, fmt.Sprintf("| %t | %t | %.1f%% | %.0f | %.1f | %.1f%% | %d |", c.pre, c.cq, un, mean2(outage), mean2(els), 100*mean(res, func(s *SeedResult) float64 { return s.AvailOps }), fails))
		failingNote(r, label, res)
		labels = append(labels, fmt.Sprintf("PV=%t CQ=%t", c.pre, c.cq))
		unavail = append(unavail, un)
		outS = append(outS, Series{Name: label, Values: outage})
		elS = append(elS, Series{Name: label, Values: els})
	}
	r.Note("%s", strings.Join(rows, "\n"))
	capt := fmt.Sprintf("Five Raft nodes under one-way link cuts, seeds 0..%d, %s simulated. Reproduce: `go run ./cmd/synod experiment raft-partial-partitions`.", seeds-1, dur)
	r.Add(BarsFigure("partial-unavailability", "Time without a usable leader under one-way cuts", "configuration (PV: PreVote, CQ: CheckQuorum)", "time without a usable leader (%)", labels, unavail, "Mean share of sampled instants without a usable leader, by configuration (PV: PreVote, CQ: CheckQuorum). "+capt))
	r.Add(CDFFigure("partial-outage", "Longest leader outage per run under one-way cuts", "longest span without a usable leader (ms, log scale)", outS, "CDF over seeds of the longest outage. "+capt))
	r.Add(CDFFigure("partial-elections", "Leaderships per run under one-way cuts", "distinct (leader, term) pairs sampled per run (log scale)", elS, "CDF over seeds; disruptive elections show as more leaderships. "+capt))
	return r, nil
}

const scalingScenario = `# steady-state throughput and latency
protocol: %s
nodes: %d
duration: %s
network: {latency: {dist: uniform, min: 1ms, max: 3ms}, loss: %g}
workload: {clients: 4, mode: closed, think: 1ms, keys: 10, timeout: 100ms, op_timeout: 1s}
checks: {linearizability: false}
`

func runScaling(cfg ExpConfig) (*Report, error) {
	seeds := cfg.Size.Pick(1, 4, 50)
	dur := "5s"
	if cfg.Size == SizeTest {
		dur = "1s"
	}
	protos := []string{"raft", "paxos", "etcd-raft"}
	if _, err := protocols.Lookup("etcd-raft"); err != nil {
		protos = protos[:2]
	}
	sizes := []float64{3, 5, 7, 9}
	losses := []float64{0, 0.01, 0.05, 0.1, 0.2}
	r := &Report{Title: "Throughput and latency against cluster size and loss rate"}
	r.Note("No faults besides message loss; one-way latency uniform 1-3ms; four closed-loop clients with 1ms think time; %s simulated; seeds 0..%d per point (values are means over seeds). Throughput is answered operations per simulated second.", dur, seeds-1)
	measure := func(p string, nodes int, loss float64) (tput, p50, p99, msgs float64, err error) {
		sc, err := mustParse(fmt.Sprintf(scalingScenario, p, nodes, dur, loss))
		if err != nil {
			return 0, 0, 0, 0, err
		}
		res, err := sweepSeeds(cfg, sc, seeds)
		if err != nil {
			return 0, 0, 0, 0, err
		}
		tput = mean(res, func(s *SeedResult) float64 { return float64(s.OpsOK) / s.SimSeconds })
		p50 = mean(res, func(s *SeedResult) float64 { return s.LatencyP50 })
		p99 = mean(res, func(s *SeedResult) float64 { return s.LatencyP99 })
		msgs = mean(res, func(s *SeedResult) float64 { return float64(s.Messages) / max(float64(s.OpsOK), 1) })
		return
	}
	for _, axis := range []struct {
		name, label string
		xs          []float64
	}{{"size", "cluster size (nodes)", sizes}, {"loss", "message loss probability per link", losses}} {
		tput, p50, p99 := map[string][]float64{}, map[string][]float64{}, map[string][]float64{}
		for _, p := range protos {
			fmt.Fprintf(cfg.Log, "%s: %s\n", p, axis.name)
			for _, x := range axis.xs {
				nodes, loss := int(x), 0.0
				if axis.name == "loss" {
					nodes, loss = 5, x
				}
				t, a, b, _, err := measure(p, nodes, loss)
				if err != nil {
					return nil, err
				}
				tput[p] = append(tput[p], t)
				p50[p] = append(p50[p], a)
				p99[p] = append(p99[p], b)
			}
		}
		capt := fmt.Sprintf("%s simulated, seeds 0..%d per point, no faults but loss. Reproduce: `go run ./cmd/synod experiment scaling`.", dur, seeds-1)
		r.Add(LinesFigure("scaling-"+axis.name+"-throughput", "Throughput against "+axis.label, axis.label, "answered operations per simulated second", axis.xs, tput, protos, "Throughput (4 closed-loop clients). "+capt))
		lat := map[string][]float64{}
		var order []string
		for _, p := range protos {
			lat[p+" p50"] = p50[p]
			lat[p+" p99"] = p99[p]
			order = append(order, p+" p50", p+" p99")
		}
		r.Add(LinesFigure("scaling-"+axis.name+"-latency", "Latency against "+axis.label, axis.label, "client latency (ms)", axis.xs, lat, order, "Median and 99th-percentile latency of answered operations. "+capt))
	}
	return r, nil
}
