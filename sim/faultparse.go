package sim

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseScheduledFault parses "AT FAULT", e.g. "2s crash n3" or
// "1.5s partition n1,n2|n3,n4,n5".
func ParseScheduledFault(s string) (ScheduledFault, error) {
	s = strings.TrimSpace(s)
	at, rest, ok := strings.Cut(s, " ")
	if !ok {
		return ScheduledFault{}, fmt.Errorf("%q: want \"TIME FAULT\", e.g. \"2s crash n3\"", s)
	}
	t, err := ParseTime(at)
	if err != nil {
		return ScheduledFault{}, fmt.Errorf("time: %v", err)
	}
	f, err := ParseFault(rest)
	if err != nil {
		return ScheduledFault{}, err
	}
	return ScheduledFault{At: t, Fault: f}, nil
}

// ParseFault parses the fault syntax that Fault.String prints:
//
//	crash n3 | restart n3 | pause n2 [for 500ms] | resume n2 | isolate n1
//	partition n1,n2|n3,n4,n5 | cut n1->n2 | uncut n1->n2 | heal | heal-all
//	loss 0.2 | duplicate 0.05 | drift n1 0.1
func ParseFault(s string) (Fault, error) {
	words := strings.Fields(s)
	if len(words) == 0 {
		return Fault{}, fmt.Errorf("empty fault")
	}
	f := Fault{Kind: FaultKind(words[0])}
	args := words[1:]
	want := func(n int, form string) error {
		if len(args) != n {
			return fmt.Errorf("%q: want %q", s, form)
		}
		return nil
	}
	node := func(w string) (NodeID, error) {
		id, err := ParseNodeID(w)
		if err != nil || id < 0 {
			return 0, fmt.Errorf("%q: %q is not a node (want n1, n2, ...)", s, w)
		}
		return id, nil
	}
	var err error
	switch f.Kind {
	case FaultCrash, FaultRestart, FaultResume, FaultIsolate:
		if err = want(1, string(f.Kind)+" n3"); err != nil {
			return f, err
		}
		f.Node, err = node(args[0])
	case FaultPause:
		if len(args) != 1 && !(len(args) == 3 && args[1] == "for") {
			return f, fmt.Errorf("%q: want \"pause n2\" or \"pause n2 for 500ms\"", s)
		}
		if f.Node, err = node(args[0]); err != nil {
			return f, err
		}
		if len(args) == 3 {
			if f.For, err = ParseTime(args[2]); err != nil {
				return f, fmt.Errorf("for: %v", err)
			}
		}
	case FaultPartition:
		if err = want(1, "partition n1,n2|n3,n4,n5"); err != nil {
			return f, err
		}
		for _, g := range strings.Split(args[0], "|") {
			var grp []NodeID
			for _, w := range strings.Split(g, ",") {
				id, err := node(w)
				if err != nil {
					return f, err
				}
				grp = append(grp, id)
			}
			f.Groups = append(f.Groups, grp)
		}
	case FaultCut, FaultUncut:
		if err = want(1, string(f.Kind)+" n1->n2"); err != nil {
			return f, err
		}
		a, b, ok := strings.Cut(args[0], "->")
		if !ok {
			return f, fmt.Errorf("%q: want %q", s, string(f.Kind)+" n1->n2")
		}
		if f.From, err = node(a); err != nil {
			return f, err
		}
		f.To, err = node(b)
	case FaultHeal, FaultHealAll:
		err = want(0, string(f.Kind))
	case FaultLoss, FaultDuplicate:
		if err = want(1, string(f.Kind)+" 0.2"); err != nil {
			return f, err
		}
		f.Value, err = strconv.ParseFloat(args[0], 64)
		if err != nil {
			return f, fmt.Errorf("%q: %q is not a number", s, args[0])
		}
	case FaultDrift:
		if err = want(2, "drift n1 0.1"); err != nil {
			return f, err
		}
		if f.Node, err = node(args[0]); err != nil {
			return f, err
		}
		f.Value, err = strconv.ParseFloat(args[1], 64)
		if err != nil {
			return f, fmt.Errorf("%q: %q is not a number", s, args[1])
		}
	default:
		return f, fmt.Errorf("%q: %q is not a fault (want one of %s)", s, words[0], kindList())
	}
	return f, err
}
