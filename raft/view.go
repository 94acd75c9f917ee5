package raft

import (
	"strconv"

	"github.com/synod-dev/synod/sim"
)

// viewLogLines is how many of the last log entries a view shows.
const viewLogLines = 20

// Inspect shows the node's state for the TUI and reports.
func (n *Node) Inspect() sim.View {
	v := sim.View{
		Role: n.role.String(), Term: n.term, TermLabel: "term", Leader: n.leader,
		LogLen: n.log.last(), Commit: n.commit, Applied: n.applied, Snapshot: n.log.snapIndex,
	}
	lo := max(n.log.snapIndex+1, n.log.last()-viewLogLines+1)
	for i := lo; i <= n.log.last(); i++ {
		e := n.log.at(i)
		v.Log = append(v.Log, sim.LogLine{Index: i, Term: e.Term, Command: e.Command()})
	}
	v.Fields = append(v.Fields,
		sim.Field{Name: "votedFor", Value: n.vote.String()},
		sim.Field{Name: "config", Value: n.config.String()},
		sim.Field{Name: "elections", Value: strconv.FormatInt(n.elections, 10)},
	)
	if n.role == Leader {
		t := sim.Table{Title: "followers", Columns: []string{"node", "next", "match", "state"}}
		for _, p := range n.peers {
			pr := &n.prs[p]
			st := "probe"
			if pr.replicate {
				st = "replicate"
			}
			t.Rows = append(t.Rows, []string{p.String(), strconv.FormatInt(pr.next, 10), strconv.FormatInt(pr.match, 10), st})
		}
		v.Tables = append(v.Tables, t)
		if len(n.reads) > 0 {
			v.Fields = append(v.Fields, sim.Field{Name: "pending reads", Value: strconv.Itoa(len(n.reads))})
		}
	}
	return v
}

// Role returns the node's role.
func (n *Node) Role() Role { return n.role }

// Term returns the node's current term.
func (n *Node) Term() int64 { return n.term }

// Leader returns whom the node follows (itself when leading).
func (n *Node) Leader() sim.NodeID { return n.leader }

// Commit returns the node's commit index.
func (n *Node) Commit() int64 { return n.commit }

// LastIndex returns the index of the node's last log entry.
func (n *Node) LastIndex() int64 { return n.log.last() }

// EntryTerm returns the term of the entry at i, if the node holds it.
func (n *Node) EntryTerm(i int64) (int64, bool) { return n.log.term(i) }

// Elections returns how many elections this incarnation has started.
func (n *Node) Elections() int64 { return n.elections }
