package reports

import (
	"fmt"
	"slices"
	"strings"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

// Describe states a scenario's configuration in one sentence for captions.
func Describe(sc *scenario.Scenario, file string) string {
	src := "the default scenario or flags"
	if file != "" {
		src = "`" + file + "`"
	}
	nem := "no nemesis"
	if sc.Nemesis != nil {
		nem = "nemesis on"
	}
	return fmt.Sprintf("protocol %s, %d nodes, %v simulated, %d clients, loss %g, %d scheduled faults, %s (from %s)",
		sc.Protocol, sc.Nodes, sc.Duration, sc.Workload.Clients, sc.Network.Loss, len(sc.Faults), nem, src)
}

// RunReport builds the figures of one run: latency CDF and histogram by
// operation kind, latency over time, availability over time, and the
// leader summary. replay is the command that reproduces the run ("": one
// is made from the scenario file).
func RunReport(sc *scenario.Scenario, file, replay string, window sim.Time) (*Report, *RunData, error) {
	d, err := Observe(sc, 5*sim.Millisecond)
	if err != nil {
		return nil, nil, err
	}
	res := d.Result
	cfg := Describe(sc, file)
	if replay == "" {
		replay = ReplayCommand(sc, file, sc.Seed)
	}
	r := &Report{Title: fmt.Sprintf("synod report: %s, seed %d", sc.Protocol, sc.Seed)}
	r.Note("Configuration: %s; seed %d. Reproduce the run with `%s`.", cfg, sc.Seed, replay)
	r.Note("| ops ok | failed | timed out | p50 ms | p90 ms | p99 ms | violations | linearizable |\n|---|---|---|---|---|---|---|---|\n| %d | %d | %d | %.2f | %.2f | %.2f | %d | %s |",
		res.OpsOK, res.OpsFailed, res.OpsUnknown, res.LatencyP50, res.LatencyP90, res.LatencyP99, res.Violations, res.Linearizable)
	linNote(r, res)
	if d.HasLeaders {
		ls := SummarizeLeaders(d.Leaders, d.SampleEvery)
		r.Note("Availability: a usable leader (up, not paused, reaching a majority) %.1f%% of the time, longest outage %v, %d leaderships, sampled every %v.",
			100*ls.UsableFrac, ls.LongestOutage, ls.Elections, d.SampleEvery)
	}
	byKind := map[string][]float64{}
	var all []float64
	for _, op := range res.History {
		if op.Status == protocols.OpOK {
			l := op.Latency().Milliseconds()
			byKind[string(op.Op.Kind)] = append(byKind[string(op.Op.Kind)], l)
			all = append(all, l)
		}
	}
	series := []Series{{Name: "all operations", Values: all}}
	kinds := make([]string, 0, len(byKind))
	for k := range byKind {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		series = append(series, Series{Name: k, Values: byKind[k]})
	}
	cap := fmt.Sprintf("Latency of answered client operations, by kind. %s; seed %d.", cfg, sc.Seed)
	r.Add(CDFFigure("latency-cdf", "Client latency CDF", "latency (ms, log scale)", series, cap))
	r.Add(HistogramFigure("latency-hist", "Client latency histogram", "latency (ms, log scale)", series, 40, cap))
	r.Add(LatencyOverTimeFigure("latency-time", d, fmt.Sprintf("Every client operation at its call time: answered and failed ones at their latency, timed-out ones at the operation timeout; shaded: a crash, pause, partition, cut or loss burst in force. %s; seed %d.", cfg, sc.Seed)))
	r.Add(AvailabilityFigure("availability", d, window, fmt.Sprintf("Fraction of client operations ending in each %v window that succeeded (timed-out operations count at call + op_timeout), and fraction of the window with a usable leader; shaded: faults in force. %s; seed %d.", window, cfg, sc.Seed)))
	if et := ElectionTimes(d); len(et) > 0 {
		ms := make([]float64, len(et))
		for i, t := range et {
			ms[i] = t.Milliseconds()
		}
		r.Add(CDFFigure("election-cdf", "Leader election time", "time from leader crash to a new usable leader (ms, log scale)",
			[]Series{{Name: sc.Protocol, Values: ms}}, fmt.Sprintf("Time from each crash of the leader to the first sample (every %v) with a usable leader of a higher term. %s; seed %d.", d.SampleEvery, cfg, sc.Seed)))
	}
	return r, d, nil
}

// SweepReport builds figures over one or more sweep outputs, overlaid:
// per-seed latency quantiles, availability and elections.
func SweepReport(paths []string, sets [][]SeedResult) *Report {
	r := &Report{Title: "synod sweep report"}
	var rows []string
	var p50, p99, avail, outage, elections []Series
	names := SweepNames(paths)
	for i, res := range sets {
		name := names[i]
		sum := Summarize(res)
		lo, hi := uint64(0), uint64(0)
		if len(res) > 0 {
			lo, hi = res[0].Seed, res[len(res)-1].Seed
		}
		rows = append(rows, fmt.Sprintf("| %s | %d | %d..%d | %d | %d | %d |", name, len(res), lo, hi, sum.Outcomes[OutcomeOK], len(sum.Unknown), len(sum.Failing)))
		var a, b, c, d, e []float64
		for _, x := range res {
			a = append(a, x.LatencyP50)
			b = append(b, x.LatencyP99)
			if x.AvailLeader != nil {
				c = append(c, 100*(1-*x.AvailLeader))
				d = append(d, x.LongestOutageMs)
				e = append(e, float64(x.Elections))
			}
		}
		p50 = append(p50, Series{name, a})
		p99 = append(p99, Series{name, b})
		avail = append(avail, Series{name, c})
		outage = append(outage, Series{name, d})
		elections = append(elections, Series{name, e})
	}
	r.Note("| sweep | seeds | range | ok | unknown | failing |\n|---|---|---|---|---|---|\n%s", strings.Join(rows, "\n"))
	r.Note("ok counts only the seeds whose every check decided and passed. unknown counts the seeds a check could not decide (the linearizability check ran out of its budget; raise checks.lin_budget): they are not passes. Failing seeds are listed, with the command that replays each, in the sweep's -failing.txt file, undecided ones in its -unknown.txt file.")
	src := "sweeps " + strings.Join(paths, ", ")
	r.Add(CDFFigure("sweep-latency-p50", "Median client latency per seed", "per-seed p50 latency (ms, log scale)", p50, "CDF over seeds of each seed's median latency of answered operations; "+src+"."))
	r.Add(CDFFigure("sweep-latency-p99", "99th-percentile client latency per seed", "per-seed p99 latency (ms, log scale)", p99, "CDF over seeds of each seed's 99th-percentile latency; "+src+"."))
	r.Add(CDFFigure("sweep-unavailability", "Time without a usable leader per seed", "share of the run without a usable leader (%, log scale)", avail, "CDF over seeds of the percentage of sampled instants without a usable leader (seeds with none are at 0 and not drawn on the log axis); "+src+"."))
	r.Add(CDFFigure("sweep-longest-outage", "Longest leader outage per seed", "longest span without a usable leader (ms, log scale)", outage, "CDF over seeds of each seed's longest span without a usable leader; "+src+"."))
	r.Add(CDFFigure("sweep-elections", "Leaderships per seed", "leaderships seen in the run (log scale)", elections, "CDF over seeds of the number of distinct (leader, term) pairs sampled; "+src+"."))
	return r
}

// CompareReport runs the same scenario and seed under several protocols
// (the nemesis draws the same faults for each) and overlays their latency
// CDFs and histograms, with a table of availability.
func CompareReport(scs []*scenario.Scenario, file, replay string) (*Report, error) {
	if replay == "" {
		replay = ReplayCommand(scs[0], file, scs[0].Seed)
	}
	r := &Report{Title: "synod report: protocols compared on one run"}
	var series []Series
	rows := []string{"| protocol | ops ok | failed | timed out | p50 ms | p99 ms | usable leader | longest outage | linearizable |", "|---|---|---|---|---|---|---|---|---|"}
	for _, sc := range scs {
		d, err := Observe(sc, 5*sim.Millisecond)
		if err != nil {
			return nil, err
		}
		res := d.Result
		ls := SummarizeLeaders(d.Leaders, d.SampleEvery)
		lead, outage := "-", "-"
		if d.HasLeaders {
			lead, outage = fmt.Sprintf("%.1f%%", 100*ls.UsableFrac), ls.LongestOutage.String()
		}
		rows = append(rows, fmt.Sprintf("| %s | %d | %d | %d | %.2f | %.2f | %s | %s | %s |", sc.Protocol, res.OpsOK, res.OpsFailed, res.OpsUnknown, res.LatencyP50, res.LatencyP99, lead, outage, res.Linearizable))
		series = append(series, Series{Name: sc.Protocol, Values: LatenciesMs(res.History)})
	}
	cfg := Describe(scs[0], file)
	r.Note("Configuration: %s; seed %d; protocols %s. Reproduce with `%s`.", cfg, scs[0].Seed, protocolNames(scs), replay)
	r.Note("%s", strings.Join(rows, "\n"))
	capt := fmt.Sprintf("Latency of answered operations, one curve per protocol, the same faults for each. %s; seed %d.", cfg, scs[0].Seed)
	r.Add(CDFFigure("compare-latency-cdf", "Client latency CDF by protocol", "latency (ms, log scale)", series, capt))
	r.Add(HistogramFigure("compare-latency-hist", "Client latency histogram by protocol", "latency (ms, log scale)", series, 40, capt))
	return r, nil
}

// linNote states an undecided or failed linearizability verdict beside a
// run's table: unknown with its reason (it is not a pass), a violation
// with its explanation.
func linNote(r *Report, res *scenario.Result) {
	switch {
	case res.Linearizable == string(protocols.LinUnknown):
		r.Note("Linearizability unknown (not a pass): %s.", res.UndecidedReason())
	case res.Linearizable == string(protocols.LinViolation) && res.LinExplanation.Story() != "":
		r.Note("Linearizability violated:\n\n```\n%s```", res.LinExplanation.Story())
	}
}

func protocolNames(scs []*scenario.Scenario) string {
	var names []string
	for _, sc := range scs {
		names = append(names, sc.Protocol)
	}
	return strings.Join(names, ", ")
}
