package sim

import (
	"fmt"
	"math"
)

// Latency is a distribution of one-way message delays. Every distribution has
// a minimum, and samples are never below it.
type Latency struct {
	// Dist is "constant", "uniform", "normal" (truncated at Min) or
	// "exponential" (a long tail above Min).
	Dist string `json:"dist" yaml:"dist"`
	// Min is the smallest delay; for "constant" it is the delay.
	Min Time `json:"min" yaml:"min"`
	// Max bounds "uniform"; for other distributions a nonzero Max caps samples.
	Max Time `json:"max,omitempty" yaml:"max"`
	// Mean is the mean of "normal", and the mean of the part above Min for
	// "exponential".
	Mean Time `json:"mean,omitempty" yaml:"mean"`
	// StdDev is the standard deviation of "normal".
	StdDev Time `json:"stddev,omitempty" yaml:"stddev"`
}

// DefaultLatency is a LAN-like link: uniform between 1 and 5 ms.
var DefaultLatency = Latency{Dist: "uniform", Min: 1 * Millisecond, Max: 5 * Millisecond}

// Validate reports a configuration error naming the offending field.
func (l Latency) Validate() error {
	switch l.Dist {
	case "constant", "uniform", "normal", "exponential":
	case "":
		return fmt.Errorf("dist: missing (want constant, uniform, normal or exponential)")
	default:
		return fmt.Errorf("dist: %q is not one of constant, uniform, normal, exponential", l.Dist)
	}
	if l.Min < 0 || l.Max < 0 || l.Mean < 0 || l.StdDev < 0 {
		return fmt.Errorf("durations must not be negative")
	}
	if l.Dist == "uniform" && l.Max < l.Min {
		return fmt.Errorf("max: %v is below min %v", l.Max, l.Min)
	}
	if l.Dist == "normal" && l.Mean < l.Min {
		return fmt.Errorf("mean: %v is below min %v", l.Mean, l.Min)
	}
	return nil
}

// latencyDist is a Latency's Dist decided once, when a link's model is
// set (network.reset): every send samples its link's latency, and a switch
// on the name compared strings each time.
type latencyDist uint8

const (
	// distConstant is also what any other name samples as (Validate
	// refuses them).
	distConstant latencyDist = iota
	distUniform
	distNormal
	distExponential
)

func distOf(name string) latencyDist {
	switch name {
	case "uniform":
		return distUniform
	case "normal":
		return distNormal
	case "exponential":
		return distExponential
	}
	return distConstant
}

// Sample draws one delay.
func (l *Latency) Sample(r *Rand) Time { return l.sample(distOf(l.Dist), r) }

// sample is Sample with l.Dist decided already: dist is distOf(l.Dist).
// A constant latency draws nothing from r (which may then be nil).
func (l *Latency) sample(dist latencyDist, r *Rand) Time {
	var d Time
	switch dist {
	case distUniform:
		d = r.Between(l.Min, l.Max)
	case distNormal:
		d = Time(float64(l.Mean) + r.NormFloat64()*float64(l.StdDev))
	case distExponential:
		d = l.Min + Time(r.ExpFloat64()*float64(l.Mean))
	default:
		d = l.Min
	}
	if d < l.Min {
		d = l.Min
	}
	if l.Max > 0 && d > l.Max && dist != distConstant {
		d = l.Max
	}
	return d
}

// Link holds the model of one directed link.
type Link struct {
	Latency   Latency
	Loss      float64
	Duplicate float64
	// dist is distOf(Latency.Dist), set with Latency (network.reset).
	dist latencyDist
}

// random reports whether a send over the link draws from its stream.
func (l *Link) random() bool { return l.Loss > 0 || l.Duplicate > 0 || l.dist != distConstant }

// LinkOverride replaces parts of the default model on some links. A zero
// From or To matches every node.
type LinkOverride struct {
	From      NodeID   `json:"from,omitempty" yaml:"from"`
	To        NodeID   `json:"to,omitempty" yaml:"to"`
	Latency   *Latency `json:"latency,omitempty" yaml:"latency"`
	Loss      *float64 `json:"loss,omitempty" yaml:"loss"`
	Duplicate *float64 `json:"duplicate,omitempty" yaml:"duplicate"`
}

// NetworkConfig is the network model of a run.
type NetworkConfig struct {
	Latency   Latency        `json:"latency" yaml:"latency"`
	Loss      float64        `json:"loss" yaml:"loss"`
	Duplicate float64        `json:"duplicate" yaml:"duplicate"`
	FIFO      bool           `json:"fifo" yaml:"fifo"`
	Links     []LinkOverride `json:"links,omitempty" yaml:"links"`
	// ClientLatency models client<->node links; zero means Latency.
	ClientLatency *Latency `json:"client_latency,omitempty" yaml:"client_latency"`
}

// Validate checks probabilities and distributions.
func (c *NetworkConfig) Validate(nodes int) error {
	if err := c.Latency.Validate(); err != nil {
		return fmt.Errorf("latency.%v", err)
	}
	if err := checkProb("loss", c.Loss); err != nil {
		return err
	}
	if err := checkProb("duplicate", c.Duplicate); err != nil {
		return err
	}
	if c.ClientLatency != nil {
		if err := c.ClientLatency.Validate(); err != nil {
			return fmt.Errorf("client_latency.%v", err)
		}
	}
	for i, o := range c.Links {
		if err := checkNode(o.From, nodes, true); err != nil {
			return fmt.Errorf("links[%d].from: %v", i, err)
		}
		if err := checkNode(o.To, nodes, true); err != nil {
			return fmt.Errorf("links[%d].to: %v", i, err)
		}
		if o.Latency != nil {
			if err := o.Latency.Validate(); err != nil {
				return fmt.Errorf("links[%d].latency.%v", i, err)
			}
		}
		if o.Loss != nil {
			if err := checkProb(fmt.Sprintf("links[%d].loss", i), *o.Loss); err != nil {
				return err
			}
		}
		if o.Duplicate != nil {
			if err := checkProb(fmt.Sprintf("links[%d].duplicate", i), *o.Duplicate); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkProb(field string, p float64) error {
	if math.IsNaN(p) || p < 0 || p > 1 {
		return fmt.Errorf("%s: %v is outside [0,1]", field, p)
	}
	return nil
}

func checkNode(id NodeID, nodes int, zeroOK bool) error {
	if id == 0 && zeroOK {
		return nil
	}
	if id < 1 || int(id) > nodes {
		return fmt.Errorf("node %v does not exist (nodes are n1..n%d)", id, nodes)
	}
	return nil
}

// network is the live network state: per-link models, partitions and cuts,
// per-link random streams and FIFO bookkeeping.
type network struct {
	procs int // nodes + clients
	nodes int
	links []Link  // procs*procs, from-major
	rng   []*Rand // per-link streams, made lazily
	last  []Time  // last delivery time per link, for FIFO
	group []int   // partition group per node; all zero means no partition
	cut   []bool  // procs*procs one-way cuts (from-major): from's messages do not reach to
	fifo  bool
	seed  uint64
	base  NetworkConfig
}

func newNetwork(cfg NetworkConfig, nodes, clients int, seed uint64) *network {
	p := nodes + clients
	n := &network{procs: p, nodes: nodes, seed: seed, fifo: cfg.FIFO, base: cfg}
	n.links = make([]Link, p*p)
	n.rng = make([]*Rand, p*p)
	n.last = make([]Time, p*p)
	n.group = make([]int, nodes)
	n.cut = make([]bool, p*p)
	n.reset()
	return n
}

// reset restores every link to the configured model.
func (n *network) reset() {
	cfg := n.base
	for f := 0; f < n.procs; f++ {
		for t := 0; t < n.procs; t++ {
			l := Link{Latency: cfg.Latency, Loss: cfg.Loss, Duplicate: cfg.Duplicate}
			if (f >= n.nodes || t >= n.nodes) && cfg.ClientLatency != nil {
				l.Latency = *cfg.ClientLatency
			}
			n.links[f*n.procs+t] = l
		}
	}
	for _, o := range cfg.Links {
		for f := 0; f < n.nodes; f++ {
			if o.From != 0 && int(o.From) != f+1 {
				continue
			}
			for t := 0; t < n.nodes; t++ {
				if o.To != 0 && int(o.To) != t+1 {
					continue
				}
				l := &n.links[f*n.procs+t]
				if o.Latency != nil {
					l.Latency = *o.Latency
				}
				if o.Loss != nil {
					l.Loss = *o.Loss
				}
				if o.Duplicate != nil {
					l.Duplicate = *o.Duplicate
				}
			}
		}
	}
	for i := range n.links {
		n.links[i].dist = distOf(n.links[i].Latency.Dist)
	}
}

// newLinkRand makes the stream of the link from f to t (process indexes)
// on its first draw. A send looks in rng itself first: made here, the
// name's strings kept the lookup from being inlined.
func (n *network) newLinkRand(f, t int) *Rand {
	i := f*n.procs + t
	if n.rng[i] != nil {
		panic(fmt.Sprintf("sim: the stream of link %d->%d made twice", f, t))
	}
	r := NewRand(n.seed, "net/"+procName(f, n.nodes)+"->"+procName(t, n.nodes))
	n.rng[i] = r
	return r
}

func procName(i, nodes int) string {
	if i < nodes {
		return NodeID(i + 1).String()
	}
	return NodeID(-(i - nodes + 1)).String()
}

// blocked reports whether messages from f cannot reach t now (process indexes).
func (n *network) blocked(f, t int) bool {
	if n.cut[f*n.procs+t] {
		return true
	}
	if f < n.nodes && t < n.nodes && n.group[f] != n.group[t] {
		return true
	}
	return false
}

// partitioned reports whether any partition or cut is in force.
func (n *network) partitioned() bool {
	for _, g := range n.group {
		if g != 0 {
			return true
		}
	}
	for _, c := range n.cut {
		if c {
			return true
		}
	}
	return false
}

// setLoss sets the loss probability on every node-to-node link.
func (n *network) setLoss(p float64) {
	for f := 0; f < n.nodes; f++ {
		for t := 0; t < n.nodes; t++ {
			n.links[f*n.procs+t].Loss = p
		}
	}
}

// setDuplicate sets the duplication probability on every node-to-node link.
func (n *network) setDuplicate(p float64) {
	for f := 0; f < n.nodes; f++ {
		for t := 0; t < n.nodes; t++ {
			n.links[f*n.procs+t].Duplicate = p
		}
	}
}
