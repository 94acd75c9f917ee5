package explore

import (
	"fmt"

	"github.com/synod-dev/synod/sim"
)

// Stage is one step of a staged search: a goal to reach, searched
// breadth-first from where the previous stage stopped.
type Stage struct {
	Name string    // for reports, e.g. the predicate's text
	Goal Predicate // the state to reach
	// DepthMax bounds this stage's search (0: the final search's).
	DepthMax int
}

// StagedResult is what RunStages found: the result of each stage that
// ran, in order, and of the final search (nil when a stage did not reach
// its goal or found a violation on the way).
type StagedResult struct {
	Stages []*Result
	Final  *Result
}

// Last is the final result, or else the last stage's.
func (r *StagedResult) Last() *Result {
	if r.Final != nil {
		return r.Final
	}
	return r.Stages[len(r.Stages)-1]
}

// RunStages runs a staged search. A bug too deep for one exhaustive search
// is often within reach of a few short ones: reach a state where the first
// goal holds, search from there for the second, and so on; then run the
// search opts asks for (a violation, or opts.Goal) from where the last
// stage stopped. Each stage's schedule is a shortest one from where it
// started, and every result's Choices hold the whole schedule from the
// start.
//
// build returns a fresh run of the configuration (with its checkers);
// start, when not empty, is a schedule of manual choices to replay first
// (a trace's), up to event startAt. A stage that does not reach its goal,
// or finds a violation or a panic on the way, ends the search there.
func RunStages(build func() (*sim.Sim, error), start []sim.Choice, startAt int64, stages []Stage, opts Options) (*StagedResult, error) {
	out := &StagedResult{}
	choices, at := start, startAt
	for i := 0; i <= len(stages); i++ {
		s, err := build()
		if err != nil {
			return nil, err
		}
		if len(choices) > 0 || at > 0 {
			if used, err := s.RunTo(at, choices); err != nil || used < len(choices) {
				return nil, fmt.Errorf("the start does not replay to event %d (%d of %d choices applied): %v", at, used, len(choices), err)
			}
		}
		o := opts
		if i < len(stages) {
			o.Goal = stages[i].Goal
			if stages[i].DepthMax > 0 {
				o.DepthMax = stages[i].DepthMax
			}
		}
		r, err := Run(s, o)
		if err != nil {
			return nil, err
		}
		if i == len(stages) {
			out.Final = r
			break
		}
		out.Stages = append(out.Stages, r)
		if r.Found != FoundGoal {
			break
		}
		choices, at = r.Choices, AfterChoices(r.Choices, 0)
	}
	return out, nil
}

// AfterChoices is the event index just after the last of the choices (a
// drop or duplication has no event of its own), or end when there are
// none: where a run that made them stands.
func AfterChoices(choices []sim.Choice, end int64) int64 {
	if n := len(choices); n > 0 {
		c := choices[n-1]
		if c.Action == sim.ChoiceDrop || c.Action == sim.ChoiceDuplicate {
			return c.Before
		}
		return c.Before + 1
	}
	return end
}
