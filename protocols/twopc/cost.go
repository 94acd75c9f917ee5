package twopc

import (
	"slices"

	"github.com/synod-dev/synod/sim"
)

// recKindNames name the log record kinds for CommitCost.Writes.
var recKindNames = map[recKind]string{
	recPrepared: "prepared", recOutcome: "outcome", recDecision: "decision",
	recEnd: "end", recPromise: "promise", recAccept: "accept",
}

// CommitCost is what a cost table reads from a run's logs after the run:
// the stable-storage writes by record kind, and when each transaction's
// participants learned its outcome.
type CommitCost struct {
	// Writes counts log records by kind: "prepared" and "outcome"
	// (participants), "decision" and "end" (the 2PC coordinator),
	// "promise" and "accept" (Paxos Commit acceptors).
	Writes map[string]int64
	// Txns lists the transactions some participant prepared, in id order.
	Txns []TxnCost
}

// TxnCost is one transaction as its participants' logs tell it.
type TxnCost struct {
	Txn    TxnID
	Client sim.NodeID
	Seq    int64
	// Parts is the number of participants; Outcomes how many of them
	// logged the outcome, and Outcome what the last one logged.
	Parts, Outcomes int
	Outcome         Outcome
	// Learned is the (local) time the last participant logged the
	// outcome.
	Learned sim.Time
}

// Costs reads every node's log.
func Costs(s *sim.Sim) CommitCost {
	c := CommitCost{Writes: map[string]int64{}}
	byID := map[TxnID]*TxnCost{}
	var ids []TxnID
	var outcomes []record // read after every node's prepared records
	for _, id := range s.Nodes() {
		st := s.Storage(id)
		for i := int64(0); ; i++ {
			r, ok := readLog(st, i)
			if !ok {
				break
			}
			c.Writes[recKindNames[r.Kind]]++
			switch r.Kind {
			case recPrepared:
				if byID[r.Txn] == nil {
					byID[r.Txn] = &TxnCost{Txn: r.Txn, Client: r.Client, Seq: r.Seq, Parts: len(r.Parts)}
					ids = append(ids, r.Txn)
				}
			case recOutcome:
				outcomes = append(outcomes, r)
			}
		}
	}
	for _, r := range outcomes {
		if x := byID[r.Txn]; x != nil {
			x.Outcomes++
			x.Outcome = r.Outcome
			x.Learned = max(x.Learned, r.Time)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		c.Txns = append(c.Txns, *byID[id])
	}
	return c
}
