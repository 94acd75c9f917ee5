package etcdraft

import (
	"slices"
	"strconv"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/synod-dev/synod/sim"
)

// logTailMax is how many log entries a view shows.
const logTailMax = 10

func roleName(s raft.StateType) string {
	switch s {
	case raft.StateLeader:
		return "leader"
	case raft.StateCandidate:
		return "candidate"
	case raft.StatePreCandidate:
		return "pre-candidate"
	}
	return "follower"
}

// Inspect shows role, term, vote, leader, the log's tail with commit and
// applied marks, the election clock and, on a leader, each follower's
// progress as etcd tracks it.
func (n *Node) Inspect() sim.View {
	if n.rn == nil {
		return sim.View{Role: "down"}
	}
	v := sim.View{
		Role: roleName(n.state), Term: int64(n.term), TermLabel: "term", Leader: sim.NodeID(n.lead),
		LogLen: int64(n.lastIndex()), Commit: int64(n.commit), Applied: int64(n.applied), Snapshot: int64(n.snapIndex),
	}
	for _, e := range n.logTail(logTailMax) {
		cmd := describeData(e.GetData())
		if e.GetType() != pb.EntryNormal {
			cmd = e.GetType().String()
		}
		v.Log = append(v.Log, sim.LogLine{Index: int64(e.GetIndex()), Term: int64(e.GetTerm()), Command: cmd})
	}
	vote := "-"
	if n.vote != 0 {
		vote = sim.NodeID(n.vote).String()
	}
	v.Fields = append(v.Fields,
		sim.Field{Name: "vote", Value: vote},
		sim.Field{Name: "election clock", Value: strconv.Itoa(n.elapsed) + "/" + strconv.Itoa(n.timeout) + " ticks"},
		sim.Field{Name: "campaigns", Value: strconv.FormatInt(n.campaigns, 10)},
		sim.Field{Name: "pending", Value: strconv.Itoa(len(n.pending))},
	)
	if n.state == raft.StateLeader {
		st := n.rn.Status()
		ids := make([]uint64, 0, len(st.Progress))
		for id := range st.Progress {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		t := sim.Table{Title: "progress", Columns: []string{"node", "match", "next", "state", "active"}}
		for _, id := range ids {
			pr := st.Progress[id]
			t.Rows = append(t.Rows, []string{sim.NodeID(id).String(), strconv.FormatUint(pr.Match, 10),
				strconv.FormatUint(pr.Next, 10), pr.State.String(), strconv.FormatBool(pr.RecentActive)})
		}
		v.Tables = append(v.Tables, t)
	}
	return v
}
