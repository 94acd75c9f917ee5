package raft

import (
	"strconv"
	"strings"

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
	if n.role == Candidate || n.role == PreCandidate {
		v.Fields = append(v.Fields, sim.Field{Name: "votes", Value: n.voteSummary()})
		v.Tables = append(v.Tables, n.votesTable())
	} else if n.role != Leader {
		// Why an election timer that fires may do nothing: hearing from a
		// leader (or granting a vote) moved the deadline since it was set.
		v.Fields = append(v.Fields, sim.Field{Name: "election deadline (local clock)", Value: n.electionDeadline.String()})
	}
	if n.role == Leader {
		v.Fields = append(v.Fields, sim.Field{Name: "elected by", Value: n.electedBy()})
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

// voteSummary renders a candidate's tally, "2 of 3 needed, 1 refused":
// how far it is from winning (the votes table says who answered what).
func (n *Node) voteSummary() string {
	granted, refused := n.voters()
	return strconv.Itoa(len(granted)) + " of " + strconv.Itoa(len(n.config.Members)/2+1) + " needed, " +
		strconv.Itoa(len(refused)) + " refused"
}

// electedBy renders who voted for a leader in the campaign that elected
// it, "n2 n3 n5 (3 of 5)": why it, and not another, leads.
func (n *Node) electedBy() string {
	granted, _ := n.voters()
	return strings.Join(granted, " ") + " (" + strconv.Itoa(len(granted)) + " of " + strconv.Itoa(len(n.config.Members)) + ")"
}

// voters lists the members that granted and refused the last campaign.
func (n *Node) voters() (granted, refused []string) {
	for _, p := range n.config.Members {
		switch n.votes[p] {
		case 1:
			granted = append(granted, p.String())
		case -1:
			refused = append(refused, p.String())
		}
	}
	return granted, refused
}

// votesTable lists each member's answer to the candidate's campaign.
func (n *Node) votesTable() sim.Table {
	what := "votes"
	if n.role == PreCandidate {
		what = "pre-votes"
	}
	t := sim.Table{Title: what + " for term " + strconv.FormatInt(n.campaignTerm(), 10), Columns: []string{"node", "answer"}}
	for _, p := range n.config.Members {
		a := "waiting"
		switch {
		case p == n.id:
			a = "granted (itself)"
		case n.votes[p] == 1:
			a = "granted"
		case n.votes[p] == -1:
			a = "refused"
		}
		t.Rows = append(t.Rows, []string{p.String(), a})
	}
	return t
}

// campaignTerm is the term the campaign asks votes for: a pre-candidate
// asks about the next term without entering it.
func (n *Node) campaignTerm() int64 {
	if n.role == PreCandidate {
		return n.term + 1
	}
	return n.term
}
