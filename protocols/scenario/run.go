package scenario

import (
	"fmt"
	"io"
	"math"
	"sort"
	"time"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// Instance is a built, runnable scenario: the live simulation and what it
// needs to report on itself.
type Instance struct {
	Scenario *Scenario
	Spec     *protocols.Spec
	Sim      *sim.Sim
	Cluster  protocols.Cluster
	// NoHistory leaves Result.History empty: the summary's figures are
	// computed from the clients' logs in place and no copy of the
	// history is made (a long run's largest allocation after the logs
	// themselves). For callers that do not read Result.History.
	NoHistory bool
	faults    *faultLog
}

// Build makes a run from a scenario. It does not start it.
func Build(sc *Scenario) (*Instance, error) {
	spec, err := protocols.Lookup(sc.Protocol)
	if err != nil {
		return nil, err
	}
	if sc, err = sc.drawSwarmOptions(); err != nil {
		return nil, err
	}
	cfg, err := sc.SimConfig()
	if err != nil {
		return nil, err
	}
	cl := sc.cluster()
	newNode, err := spec.New(cl)
	if err != nil {
		return nil, sc.errAt("options", err.Error())
	}
	f := sim.Factory{Node: func(id sim.NodeID) sim.Process { return newNode(id) },
		Messages: spec.AllMessages(), MessagesFrom: "Spec.Messages of protocol " + spec.Name}
	if cfg.Clients > 0 {
		w := sc.Workload
		if w.Retry == "" {
			w.Retry = spec.RetryPolicy()
		}
		if w.Stop == 0 && sc.Duration > 0 && sc.Duration > w.OpTimeout {
			// Clients stop starting operations in time for the last ones
			// to finish within the run.
			w.Stop = sc.Duration - w.OpTimeout
		}
		if spec.Client != nil {
			nc, err := spec.Client(cl, &w)
			if err != nil {
				return nil, sc.errAt("workload", err.Error())
			}
			f.Client = nc
		} else {
			f.Client = func(sim.NodeID) sim.Process { return protocols.NewWorkloadClient(&w, w.Stop) }
		}
	}
	s, err := sim.New(cfg, f)
	if err != nil {
		return nil, sc.errPath(err.Error())
	}
	if spec.Checkers != nil {
		keep := map[string]bool{}
		for _, n := range sc.Checks.Invariants {
			keep[n] = true
		}
		found := map[string]bool{}
		for _, c := range spec.Checkers(cl) {
			if len(keep) == 0 || keep[c.Name()] {
				s.AddChecker(c)
				found[c.Name()] = true
			}
		}
		for _, n := range sc.Checks.Invariants {
			if !found[n] {
				return nil, sc.errAt("checks.invariants", fmt.Sprintf("protocol %s has no invariant %q", sc.Protocol, n))
			}
		}
	}
	r := &Instance{Scenario: sc, Spec: spec, Sim: s, Cluster: cl, faults: &faultLog{}}
	s.AddFaultObserver(r.faults)
	return r, nil
}

// faultLog remembers fault events (for annotations and reports) without
// making the simulator record every event's effects.
type faultLog struct {
	notes []protocols.Annotation
}

func (l *faultLog) ObserveFault(s *sim.Sim, idx int64, f *sim.Fault) {
	l.notes = append(l.notes, protocols.Annotation{Start: s.Now(), End: s.Now(), Index: idx, Text: f.String()})
}

// Result summarizes a run: the figures `synod run` prints.
type Result struct {
	Protocol string `json:"protocol"`
	// Scenario names the scenario that ran (its file, or which embedded
	// default), and Faults says whether faults were on and which.
	Scenario        string  `json:"scenario"`
	Faults          string  `json:"faults"`
	Seed            uint64  `json:"seed"`
	Nodes           int     `json:"nodes"`
	Events          int64   `json:"events"`
	SimSeconds      float64 `json:"sim_seconds"`
	WallSeconds     float64 `json:"wall_seconds"`
	EventsPerSecond float64 `json:"events_per_second"`
	MessagesSent    int64   `json:"messages_sent"`
	MessagesDeliv   int64   `json:"messages_delivered"`
	MessagesDropped int64   `json:"messages_dropped"`
	MessagesDup     int64   `json:"messages_duplicated"`
	OpsOK           int     `json:"ops_ok"`
	OpsFailed       int     `json:"ops_failed"`
	OpsUnknown      int     `json:"ops_unknown"`
	LatencyP50      float64 `json:"latency_p50_ms"`
	LatencyP90      float64 `json:"latency_p90_ms"`
	LatencyP99      float64 `json:"latency_p99_ms"`
	Violations      int     `json:"violations"`
	// FirstViolation describes the first violation, with its event index.
	FirstViolation *sim.Violation `json:"first_violation,omitempty"`
	Linearizable   string         `json:"linearizable"`
	// LinReason says why the linearizability verdict is unknown.
	LinReason string `json:"lin_reason,omitempty"`
	// LinExplanation tells a linearizability violation as a short story.
	LinExplanation *protocols.LinExplanation `json:"lin_explanation,omitempty"`
	Stopped        string                    `json:"stopped"`
	// Panic reports a protocol panic: seed, event index and stack.
	Panic *sim.PanicError `json:"panic,omitempty"`
	Stats sim.Stats       `json:"stats"`
	// Metrics are the protocol's own end-of-run figures (Spec.Metrics).
	Metrics []sim.Field `json:"metrics,omitempty"`

	History []protocols.OpRecord `json:"-"`
	lin     *protocols.LinCheck
	faults  []protocols.Annotation
}

// Failed reports whether the run found a violation (invariant,
// linearizability) or a protocol panic: exit status 1.
func (r *Result) Failed() bool {
	return r.Violations > 0 || r.Linearizable == string(protocols.LinViolation) || r.Panic != nil
}

// UndecidedReason says why the linearizability verdict is unknown: the
// checker's reason or, from a checker that gave none, the setting that
// raises its budget. It is "" when the verdict is not unknown.
func (r *Result) UndecidedReason() string {
	switch {
	case r.Linearizable != string(protocols.LinUnknown):
		return ""
	case r.LinReason != "":
		return r.LinReason
	}
	return "the check did not finish within its budget (raise checks.lin_budget in the scenario)"
}

// SetWall records the wall-clock time the run took (measured by the caller:
// the simulation itself never reads the machine's clock).
func (r *Result) SetWall(d time.Duration) {
	r.WallSeconds = d.Seconds()
	if r.WallSeconds > 0 {
		r.EventsPerSecond = float64(r.Events) / r.WallSeconds
	}
}

// WriteLinHTML writes porcupine's visualization of the history, annotated
// with faults and event indexes.
func (r *Result) WriteLinHTML(path string) error {
	if r.lin == nil {
		return fmt.Errorf("no linearizability check was run")
	}
	return r.lin.WriteHTML(path, r.faults)
}

// Execute runs the simulation to its end (applying recorded choices, if any)
// and summarizes it.
func (r *Instance) Execute(choices []sim.Choice) (*Result, error) {
	if err := r.Sim.RunChoices(choices); err != nil {
		return nil, err
	}
	return r.Summarize(), nil
}

// History gathers every client's operations into one new slice, the only
// copy made of them (a client that lends its records, an OpLogger, is read
// in place); pending ones count as unknown. The slice is the caller's: a
// linearizability check may read it on another goroutine while the run
// goes on.
func (r *Instance) History() []protocols.OpRecord {
	cfg := r.Sim.Config()
	total := 0
	for i := 1; i <= cfg.Clients; i++ {
		if l, ok := r.Sim.Process(sim.ClientID(i)).(protocols.OpLogger); ok {
			total += l.OpLog().Len()
		}
	}
	all := make([]protocols.OpRecord, 0, total)
	for i := 1; i <= cfg.Clients; i++ {
		n := len(all)
		switch hc := r.Sim.Process(sim.ClientID(i)).(type) {
		case protocols.OpLogger:
			all = hc.OpLog().AppendTo(all)
		case protocols.HistoryClient:
			all = append(all, hc.History()...)
		}
		for k := n; k < len(all); k++ {
			if op := &all[k]; op.Status == protocols.OpPending {
				op.Status = protocols.OpUnknown
				op.Return = sim.TimeMax
			}
		}
	}
	return all
}

// eachRecord calls f with every client's operations in the order of
// History, read in place from a client that lends its log (pending ones
// keep their status: callers count them as unknown).
func (r *Instance) eachRecord(f func(*protocols.OpRecord)) {
	for i := 1; i <= r.Sim.Config().Clients; i++ {
		switch hc := r.Sim.Process(sim.ClientID(i)).(type) {
		case protocols.OpLogger:
			l := hc.OpLog()
			for j := range l.Len() {
				f(l.At(j))
			}
		case protocols.HistoryClient:
			h := hc.History()
			for j := range h {
				f(&h[j])
			}
		}
	}
}

// opLogs returns every client's log, read in place, or false when a
// client does not lend one (it is not an OpLogger).
func (r *Instance) opLogs() ([]*protocols.OpLog, bool) {
	cfg := r.Sim.Config()
	logs := make([]*protocols.OpLog, 0, cfg.Clients)
	for i := 1; i <= cfg.Clients; i++ {
		l, ok := r.Sim.Process(sim.ClientID(i)).(protocols.OpLogger)
		if !ok {
			return nil, false
		}
		logs = append(logs, l.OpLog())
	}
	return logs, true
}

// Summarize computes the result of the run so far.
func (r *Instance) Summarize() *Result {
	s := r.Sim
	st := s.Stats()
	res := &Result{
		Protocol: r.Scenario.Protocol, Seed: r.Scenario.Seed, Nodes: r.Scenario.Nodes,
		Scenario: r.Scenario.Describe(), Faults: r.Scenario.FaultsSummary(),
		Events: s.Index(), SimSeconds: s.Now().Seconds(),
		MessagesSent: st.Sent, MessagesDeliv: st.Delivered, MessagesDropped: st.Dropped(), MessagesDup: st.Duplicated,
		Stopped: s.Stopped(), Stats: st, faults: r.faults.notes,
	}
	vs := s.Violations()
	res.Violations = len(vs)
	if len(vs) > 0 {
		v := vs[0]
		res.FirstViolation = &v
	}
	if pe, ok := s.Err().(*sim.PanicError); ok {
		res.Panic = pe
	}
	res.Linearizable = string(protocols.LinSkipped)
	check := r.Scenario.Checks.Linearizability == nil || *r.Scenario.Checks.Linearizability
	if r.Spec.Linearizable && check && res.Panic == nil {
		// Checked before the history is gathered, on the clients' logs
		// when they lend them: a long run's peak memory then holds the
		// history once while the check runs, not twice.
		budget := time.Duration(r.Scenario.Checks.LinBudget)
		if logs, ok := r.opLogs(); ok {
			res.lin = protocols.CheckLinearizableLogs(logs, s.Now(), budget)
		} else {
			res.lin = protocols.CheckLinearizable(r.History(), s.Now(), budget)
		}
		res.Linearizable = string(res.lin.Result)
		res.LinReason = res.lin.Reason
		res.LinExplanation = res.lin.Explanation
	}
	if !r.NoHistory {
		res.History = r.History()
	}
	if r.Spec.Metrics != nil && res.Panic == nil {
		res.Metrics = r.Spec.Metrics(s)
	}
	var lat []float64
	r.eachRecord(func(op *protocols.OpRecord) {
		switch op.Status {
		case protocols.OpOK:
			res.OpsOK++
			lat = append(lat, op.Latency().Milliseconds())
		case protocols.OpFailed:
			res.OpsFailed++
		default:
			res.OpsUnknown++
		}
	})
	sort.Float64s(lat)
	res.LatencyP50, res.LatencyP90, res.LatencyP99 = Quantile(lat, 0.5), Quantile(lat, 0.9), Quantile(lat, 0.99)
	return res
}

// Quantile returns the q-quantile of sorted values (nearest rank), or 0.
func Quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return sorted[i]
}

// RunOptions adds what a caller wants recorded to a run.
type RunOptions struct {
	// Trace, when set, receives the full JSON-lines trace.
	Trace io.Writer
	// Choices are recorded manual choices to apply (from a trace).
	Choices []sim.Choice
	// NoHistory leaves Result.History empty (Instance.NoHistory): for a
	// caller that only prints the summary, such as synod run.
	NoHistory bool
}

// Run builds and runs a scenario to its end.
func Run(sc *Scenario, opts RunOptions) (*Result, error) {
	r, err := Build(sc)
	if err != nil {
		return nil, err
	}
	r.NoHistory = opts.NoHistory
	var tw *sim.TraceWriter
	if opts.Trace != nil {
		tw, err = r.TraceTo(opts.Trace)
		if err != nil {
			return nil, err
		}
	}
	res, err := r.Execute(opts.Choices)
	if err != nil {
		return nil, err
	}
	if tw != nil {
		if err := tw.Close(r.Sim); err != nil {
			return nil, fmt.Errorf("write trace: %v", err)
		}
	}
	return res, nil
}

// TraceTo attaches a trace writer whose header records this scenario.
func (r *Instance) TraceTo(w io.Writer) (*sim.TraceWriter, error) {
	tw, err := sim.NewTraceWriter(w, r.Scenario.JSON(), r.Sim.Config())
	if err != nil {
		return nil, err
	}
	r.Sim.AddObserver(tw)
	return tw, nil
}
