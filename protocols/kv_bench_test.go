package protocols

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/synod-dev/synod/sim"
)

// kvBenchCommands is the length of the log the apply benchmarks replay on
// a fresh store: appends grow their values, so a store that applied
// commands for ever would measure ever longer copies.
const kvBenchCommands = 2048

// kvBenchLog is a log of commands as the default workload's clients send
// them (its mix and key space, 8 clients, values "c2.17"), with a retry
// in every 20 (the same request again, answered from the session table),
// and each command's encoding as a replica stores it.
func kvBenchLog() ([]Request, [][]byte) {
	w := DefaultWorkload()
	const clients = 8
	rng := rand.New(rand.NewPCG(1, 2))
	model := NewKV() // what the clients have seen, for cas's expected value
	seq := make([]int64, clients)
	reqs := make([]Request, 0, kvBenchCommands)
	for len(reqs) < kvBenchCommands {
		if len(reqs) > 0 && rng.IntN(20) == 0 {
			reqs = append(reqs, reqs[len(reqs)-1])
			continue
		}
		c := rng.IntN(clients)
		seq[c]++
		id := sim.NodeID(-1 - c)
		key := "k" + strconv.Itoa(rng.IntN(w.Keys))
		value := id.String() + "." + strconv.FormatInt(seq[c], 10)
		m := w.Mix
		x := rng.Float64() * (m.Get + m.Put + m.Append + m.CAS)
		var op Op
		switch {
		case x < m.Get:
			op = Op{Kind: OpGet, Key: key}
		case x < m.Get+m.Put:
			op = Op{Kind: OpPut, Key: key, Value: value}
		case x < m.Get+m.Put+m.Append:
			op = Op{Kind: OpAppend, Key: key, Value: value + ";"}
		default:
			op = Op{Kind: OpCAS, Key: key, Expect: model.Data[key], Value: value}
		}
		req := Request{Client: id, Seq: seq[c], Op: op}
		model.Apply(&req)
		reqs = append(reqs, req)
	}
	encs := make([][]byte, len(reqs))
	for i := range reqs {
		var e Encoder
		e.Request(&reqs[i])
		encs[i] = e.B
	}
	return reqs, encs
}

// kvBenchReplica is where a replica keeps its store and the response it
// fills (both on the heap, as in a node).
type kvBenchReplica struct {
	kv   *KV
	resp Response
}

// BenchmarkKVApply measures applying a log of commands to a fresh store,
// the work every node of every replication protocol does for every
// committed command: "ref" decodes each command in place from its
// encoding and applies it with ApplyRef (etcd-raft's Node.apply), "to"
// applies decoded requests with ApplyTo (synod Raft's KVStateMachine).
func BenchmarkKVApply(b *testing.B) {
	reqs, encs := kvBenchLog()
	b.Run("ref", func(b *testing.B) {
		n := &kvBenchReplica{}
		b.ReportAllocs()
		for b.Loop() {
			n.kv = NewKV()
			for _, enc := range encs {
				d := Decoder{B: enc}
				req := d.RequestRef()
				if d.Err != nil {
					b.Fatal(d.Err)
				}
				n.kv.ApplyRef(&n.resp, &req)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(encs)), "ns/command")
	})
	b.Run("to", func(b *testing.B) {
		n := &kvBenchReplica{}
		b.ReportAllocs()
		for b.Loop() {
			n.kv = NewKV()
			for i := range reqs {
				n.kv.ApplyTo(&n.resp, &reqs[i])
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(reqs)), "ns/command")
	})
}
