package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/spf13/cobra"

	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

// scenarioFlags are the flags every command that builds a run shares.
// Flags override the scenario's values and keep the rest: --protocol
// alone starts from the protocol's default scenario (scenario.ForProtocol),
// with its faults and workload.
type scenarioFlags struct {
	// protocolAlone makes --protocol without --scenario start from the
	// protocol and the built-in defaults only (no faults): for explore,
	// whose explorer makes the faults itself.
	protocolAlone bool

	file      string
	protocol  string
	nodes     int
	seed      uint64
	duration  string
	eventsMax int64
	clients   int
	loss      float64
	dup       float64
	faults    []string
	keepGoing bool
	noLin     bool
	options   []string
	swarm     bool
}

func (f *scenarioFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.file, "scenario", "", "scenario file (YAML); default: the embedded default scenario")
	fl.StringVar(&f.protocol, "protocol", "", "protocol to run (see synod protocols)")
	fl.IntVar(&f.nodes, "nodes", 0, "number of nodes (1..64)")
	fl.Uint64Var(&f.seed, "seed", 0, "root random seed")
	fl.StringVar(&f.duration, "duration", "", `simulated duration, e.g. 10s (at most 24h), or "unbounded" with --events-max`)
	fl.Int64Var(&f.eventsMax, "events-max", 0, "bound on the run's events (default 10,000,000; at most 1,000,000,000)")
	fl.IntVar(&f.clients, "clients", 0, "number of clients")
	fl.Float64Var(&f.loss, "loss", 0, "message loss probability on every link [0,1]")
	fl.Float64Var(&f.dup, "duplicate", 0, "message duplication probability on every link [0,1]")
	fl.StringArrayVar(&f.faults, "fault", nil, `scheduled fault, repeatable, e.g. --fault "2s crash n3"`)
	fl.BoolVar(&f.keepGoing, "keep-going", false, "record invariant violations and keep running")
	fl.BoolVar(&f.noLin, "no-lin", false, "skip the linearizability check")
	fl.StringArrayVar(&f.options, "option", nil, `protocol option, repeatable, e.g. --option pre_vote=true`)
	fl.BoolVar(&f.swarm, "swarm", false, "swarm testing: each seed draws its own nemesis from the scenario's (docs/scenarios.md)")
}

// load builds the scenario: the file (or the default), then the flags.
func (f *scenarioFlags) load(cmd *cobra.Command) (*scenario.Scenario, error) {
	var sc *scenario.Scenario
	var err error
	changed := cmd.Flags().Changed
	switch {
	case f.file != "":
		sc, err = scenario.Load(f.file)
	case changed("protocol") && f.protocolAlone:
		sc, err = scenario.Parse([]byte("# flags\nprotocol: "+f.protocol+"\n"), "--protocol")
	case changed("protocol"):
		sc, err = scenario.ForProtocol(f.protocol)
	default:
		sc, err = scenario.LoadDefault()
	}
	if err != nil {
		return nil, inputErr(err)
	}
	if changed("protocol") && f.protocol != sc.Protocol {
		sc.Protocol = f.protocol
		sc.RawOpts = nil
		sc.ResetOptions()
	}
	if changed("nodes") {
		sc.Nodes = f.nodes
	}
	if changed("seed") {
		sc.Seed = f.seed
	}
	if changed("duration") {
		if err := setDuration(sc, f.duration); err != nil {
			return nil, err
		}
	}
	if changed("events-max") {
		if f.eventsMax <= 0 {
			return nil, usageErr("--events-max %d: want a positive number of events (at most %d)", f.eventsMax, scenario.EventsMaxLimit)
		}
		sc.EventsMax = f.eventsMax
	}
	if changed("clients") {
		sc.Workload.Clients = f.clients
	}
	if changed("loss") {
		sc.Network.Loss = f.loss
	}
	if changed("duplicate") {
		sc.Network.Duplicate = f.dup
	}
	if changed("fault") {
		sc.Faults = append(sc.Faults, f.faults...)
	}
	if f.keepGoing {
		sc.Checks.KeepGoing = true
	}
	if f.swarm {
		sc.Swarm = true
	}
	if f.noLin {
		no := false
		sc.Checks.Linearizability = &no
	}
	if err := sc.Revalidate(); err != nil {
		if e, ok := err.(*scenario.Error); ok && e.Field != "" {
			return nil, usageErr("%v (after applying flags)", err)
		}
		return nil, inputErr(err)
	}
	for _, o := range f.options {
		if err := sc.SetOption(o); err != nil {
			return nil, usageErr("--option: %v", err)
		}
	}
	return sc, nil
}

// setDuration applies --duration: a positive duration, or the word
// unbounded (the run is then bounded by its events alone). A zero
// duration is refused here, with the flag's name, rather than by the
// scenario's check.
func setDuration(sc *scenario.Scenario, v string) error {
	if v == "unbounded" {
		sc.Duration, sc.Unbounded = 0, true
		return nil
	}
	d, err := sim.ParseTime(v)
	if err != nil {
		return usageErr("--duration: %v", err)
	}
	if d == 0 {
		return usageErr("--duration %s: 0 is not a bound; give a positive duration (at most %v) or --duration unbounded --events-max N", v, sim.DurationMax)
	}
	if d > sim.DurationMax {
		return usageErr("--duration %s: over the maximum %v", v, sim.DurationMax)
	}
	sc.Duration, sc.Unbounded = d, false
	return nil
}

// replayCommand is the one command that reproduces this run: the scenario
// flags the user gave (file and overrides), with the seed made explicit,
// run by the synod that is running (scenario.Command).
func replayCommand(cmd *cobra.Command, verb string, sc *scenario.Scenario) string {
	return scenario.Binary() + " " + verb + scenarioArgs(cmd, sc)
}

// scenarioArgs renders the scenario flags that were set, then --seed.
func scenarioArgs(cmd *cobra.Command, sc *scenario.Scenario) string {
	var b strings.Builder
	scenarioNames := map[string]bool{"scenario": true, "protocol": true, "nodes": true, "duration": true, "events-max": true,
		"clients": true, "loss": true, "duplicate": true, "fault": true, "keep-going": true, "no-lin": true, "option": true, "swarm": true}
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if !scenarioNames[f.Name] {
			return
		}
		if f.Name == "scenario" {
			b.WriteString(" --scenario " + shellQuote(scenario.CommandPath(f.Value.String())))
			return
		}
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			for _, v := range sv.GetSlice() {
				b.WriteString(" --" + f.Name + " " + shellQuote(v))
			}
			return
		}
		if f.Value.Type() == "bool" {
			b.WriteString(" --" + f.Name)
			return
		}
		b.WriteString(" --" + f.Name + " " + shellQuote(f.Value.String()))
	})
	fmt.Fprintf(&b, " --seed %d", sc.Seed)
	return b.String()
}

func shellQuote(s string) string { return scenario.ShellQuote(s) }
