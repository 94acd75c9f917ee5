// Package primarybackup is a deliberately naive primary-backup key-value
// store, shipped so that the linearizability checker has something to
// catch. The primary is the lowest-numbered node a node has heard from
// recently; it applies a request, answers at once, and replicates to the
// backups asynchronously. Nothing is persisted. Under a partition two nodes
// can both believe they are primary (stale reads, lost writes), and a
// primary that crashes loses the writes it had not yet replicated.
package primarybackup

import (
	"strconv"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// Options tune the failure detector.
type Options struct {
	Heartbeat sim.Time `yaml:"heartbeat" json:"heartbeat"`
	Suspect   sim.Time `yaml:"suspect" json:"suspect"`
}

// Heartbeat announces a node is alive.
type Heartbeat struct{}

// MessageType implements sim.Message.
func (*Heartbeat) MessageType() string { return "pb.Heartbeat" }

// Replicate carries one applied request to a backup.
type Replicate struct {
	Req protocols.Request `json:"req"`
}

// MessageType implements sim.Message.
func (*Replicate) MessageType() string { return "pb.Replicate" }

// Describe renders the request.
func (r *Replicate) Describe() string { return r.Req.Describe() }

func init() {
	protocols.Register(protocols.Spec{
		Name:        "primary-backup",
		Description: "naive primary-backup with async replication and failover: NOT linearizable under partitions (the checker's target)",
		Options:     func() any { return &Options{Heartbeat: 20 * sim.Millisecond, Suspect: 100 * sim.Millisecond} },
		New: func(c protocols.Cluster) (func(sim.NodeID) protocols.Node, error) {
			o := *c.Options.(*Options)
			if o.Heartbeat <= 0 || o.Suspect <= o.Heartbeat {
				return nil, errOptions
			}
			return func(sim.NodeID) protocols.Node { return &Node{o: o} }, nil
		},
		Messages:     []sim.Message{&Heartbeat{}, &Replicate{}, &protocols.Request{}, &protocols.Response{}},
		Linearizable: true,
	})
}

type optionsError string

func (e optionsError) Error() string { return string(e) }

const errOptions = optionsError("options: heartbeat must be positive and below suspect")

// Node is one replica.
type Node struct {
	o       Options
	kv      *protocols.KV
	heard   []sim.Time // last time heard from each node (index id-1)
	applied int64
}

// Start begins heartbeating with an empty store (nothing survives a crash).
func (n *Node) Start(env *sim.Env) {
	n.kv = protocols.NewKV()
	n.heard = make([]sim.Time, len(env.Nodes()))
	n.beat(env)
}

func (n *Node) beat(env *sim.Env) {
	for _, id := range env.Nodes() {
		if id != env.ID() {
			env.Send(id, &Heartbeat{})
		}
	}
	env.SetTimer(n.o.Heartbeat, "heartbeat", 0)
}

// primary is the lowest-numbered node heard from within Suspect (or self).
func (n *Node) primary(env *sim.Env) sim.NodeID {
	now := env.Now()
	for _, id := range env.Nodes() {
		if id == env.ID() {
			return id
		}
		if h := n.heard[id-1]; h > 0 && now-h < n.o.Suspect {
			return id
		}
	}
	return env.ID()
}

// Receive handles heartbeats, replication and client requests.
func (n *Node) Receive(env *sim.Env, from sim.NodeID, m sim.Message) {
	if from.IsNode() {
		n.heard[from-1] = env.Now()
	}
	switch m := m.(type) {
	case *Heartbeat:
	case *Replicate:
		n.kv.Apply(&m.Req)
		n.applied++
	case *protocols.Request:
		p := n.primary(env)
		if p != env.ID() {
			env.Send(from, &protocols.Response{Client: m.Client, Seq: m.Seq, Status: protocols.StatusNotLeader, Leader: p})
			return
		}
		resp := n.kv.Apply(m)
		n.applied++
		env.Send(from, resp)
		for _, id := range env.Nodes() {
			if id != env.ID() {
				env.Send(id, &Replicate{Req: *m})
			}
		}
	}
}

// Timer sends heartbeats.
func (n *Node) Timer(env *sim.Env, t sim.Timer) { n.beat(env) }

// Inspect shows the role and the store.
func (n *Node) Inspect() sim.View {
	v := sim.View{Role: "backup", Applied: n.applied, Commit: n.applied}
	if n.kv == nil {
		return v
	}
	for _, k := range n.kv.Keys() {
		v.Fields = append(v.Fields, sim.Field{Name: k, Value: strconv.Quote(n.kv.Data[k])})
	}
	return v
}
