package sim

import "testing"

// chaosNet is the network of the default chaos scenario (scenario's
// default.yaml): every send draws loss, an exponential latency and
// duplication from its link's stream.
var chaosNet = NetworkConfig{
	Latency:   Latency{Dist: "exponential", Min: Millisecond, Mean: 3 * Millisecond, Max: 200 * Millisecond},
	Loss:      0.01,
	Duplicate: 0.01,
}

// queueDepth is the mean length of the event queue in an etcd-raft chaos
// run (5 nodes, 3 clients): the benchmarks below keep their queue there.
const queueDepth = 34

// benchSim is a run of 5 idle nodes and 3 clients with the given network
// and registered message types, its queue filled to queueDepth.
func benchSim(b *testing.B, net NetworkConfig) *Sim {
	f := pingFactory()
	f.Client = func(NodeID) Process { return &ping{} }
	f.Messages = []Message{&pingMsg{}}
	s, err := New(Config{Seed: 1, Nodes: 5, Clients: 3, Network: net, EventsMax: 1 << 62}, f)
	if err != nil {
		b.Fatal(err)
	}
	st := s.st
	for st.q.len() < queueDepth {
		st.procs[0].SetTimer(Time(st.q.len())*Millisecond, "fill", 0)
	}
	return s
}

// BenchmarkSend measures one send from a node to a peer (the network
// model's draws, the push) and the pop of one event, at the queue depth of
// an etcd-raft chaos run.
func BenchmarkSend(b *testing.B) { benchSend(b, chaosNet) }

// BenchmarkSendConstant is BenchmarkSend over fixed, lossless links.
func BenchmarkSendConstant(b *testing.B) {
	benchSend(b, NetworkConfig{Latency: Latency{Dist: "constant", Min: Millisecond}})
}

func benchSend(b *testing.B, net NetworkConfig) {
	s := benchSim(b, net)
	st := s.st
	e := st.procs[0]
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.Send(NodeID(2+i%4), sharedPing)
		for st.q.len() > queueDepth {
			st.q.popInto(&st.cur)
			st.now = st.cur.At
		}
	}
}

// BenchmarkTimer measures setting a timer and the pop of one event, at
// the queue depth of an etcd-raft chaos run.
func BenchmarkTimer(b *testing.B) {
	s := benchSim(b, chaosNet)
	st := s.st
	e := st.procs[0]
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.SetTimer(Time(1+i%7)*Millisecond, "tick", 0)
		for st.q.len() > queueDepth {
			st.q.popInto(&st.cur)
			st.now = st.cur.At
			if st.cur.Kind == KindTimer {
				e.timers.del(st.cur.ID)
			}
		}
	}
}
