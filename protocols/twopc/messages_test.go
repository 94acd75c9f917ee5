package twopc

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// sendCounter is an observer that counts node-to-node messages by type, as
// a trace records them.
type sendCounter map[string]int

func (c sendCounter) Observe(s *sim.Sim, r *sim.Record) {
	if !r.Event.To.IsNode() {
		return
	}
	for _, e := range r.Effects {
		if e.Kind == sim.EffectSend && e.To.IsNode() {
			c[e.Msg.MessageType()]++
		}
	}
}

// commitRun runs one transaction over all n participants on a failure-free
// network with a constant 1ms latency, and returns the messages sent, the
// client's latency and when the last participant logged commit.
func commitRun(t *testing.T, proto string, n, f int) (sendCounter, sim.Time, sim.Time) {
	o := DefaultOptions()
	o.Workload, o.Accounts, o.KeysPerTxn, o.Participants, o.F, o.WorkTime = "kv", n, n, n, f, 0
	nodes := 1 + n
	if proto == "paxos-commit" {
		nodes += 2 * f
	}
	h := newHarness(t, runSpec{proto: proto, nodes: nodes, opts: o, clients: 1, maxOps: 1, seed: 1,
		latency: sim.Latency{Dist: "constant", Min: sim.Millisecond}, dur: sim.Second})
	cnt := sendCounter{}
	h.s.AddObserver(cnt)
	h.s.Run()
	h.requireClean(t)
	hist := h.s.Process(sim.ClientID(1)).(protocols.HistoryClient).History()
	require.Len(t, hist, 1)
	require.Equal(t, protocols.OpOK, hist[0].Status)
	_, out := outcomes(h.s, first)
	require.Len(t, out, n)
	var last sim.Time
	for _, p := range h.s.Nodes() {
		for i := int64(0); ; i++ {
			r, ok := readLog(h.s.Storage(p), i)
			if !ok {
				break
			}
			if r.Kind == recOutcome && r.Txn == first {
				require.Equal(t, Committed, r.Outcome)
				last = max(last, r.Time-hist[0].Call)
			}
		}
	}
	return cnt, hist[0].Latency(), last
}

// TestMessageCounts checks failure-free message counts and delays against
// Gray and Lamport, "Consensus on Transaction Commit" (2006), Table I:
// Two-Phase Commit sends 3N-1 messages in 4 message delays; Paxos Commit
// sends 3N+2F(N+1)-1 in 5 delays. Their first participant starts the
// commit by sending its own vote; here a client asks the coordinator, so
// every participant needs a Prepare: one message more in both, and the
// client's request is the first delay. 2PC's acknowledgements (N more,
// after the outcome is known) are outside the table, and Paxos Commit
// needs none. With F = 0 Paxos Commit is 2PC without acknowledgements.
func TestMessageCounts(t *testing.T) {
	for _, n := range []int{2, 3, 5} {
		t.Run(fmt.Sprintf("2pc/N=%d", n), func(t *testing.T) {
			cnt, lat, learn := commitRun(t, "2pc", n, 0)
			require.Equal(t, sendCounter{"twopc.Prepare": n, "twopc.Vote": n, "twopc.Decision": n, "twopc.Ack": n}, cnt)
			require.Equal(t, 3*n-1+1, cnt["twopc.Prepare"]+cnt["twopc.Vote"]+cnt["twopc.Decision"], "Gray & Lamport 3N-1, +1")
			require.Equal(t, 4*sim.Millisecond, learn, "participants learn the outcome after 4 message delays")
			require.Equal(t, 4*sim.Millisecond, lat, "the client too")
		})
		for _, f := range []int{0, 1, 2} {
			t.Run(fmt.Sprintf("paxos-commit/N=%d/F=%d", n, f), func(t *testing.T) {
				cnt, lat, learn := commitRun(t, "paxos-commit", n, f)
				want := sendCounter{"twopc.Prepare": n, "twopc.Phase2a": n * (2*f + 1), "twopc.Decision": n}
				if f > 0 {
					want["twopc.Phase2b"] = 2 * f
				}
				require.Equal(t, want, cnt)
				total := 0
				for _, c := range cnt {
					total += c
				}
				require.Equal(t, 3*n+2*f*(n+1)-1+1, total, "Gray & Lamport 3N+2F(N+1)-1, +1")
				delays := sim.Time(5)
				if f == 0 {
					delays = 4 // the leader's own acceptor is the only one: no 2b on the wire
				}
				require.Equal(t, delays*sim.Millisecond, learn, "participants learn the outcome")
				require.Equal(t, delays*sim.Millisecond, lat, "the client learns it")
			})
		}
	}
}
