package cli

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/synod-dev/synod/reports/mutants"
)

func init() { extraCommands = append(extraCommands, newMutantsCmd) }

func newMutantsCmd() *cobra.Command {
	var (
		protocol string
		root     string
		workers  int
		noShrink bool
	)
	cmd := &cobra.Command{
		Use:   "mutants",
		Short: "Run the mutation suite: classic bugs injected one at a time, and what catches each",
		Long: `Run each mutant of the corpus (a classic consensus or commit bug behind the
protocol's bug=NAME option) against the protocol's default checks: the chaos
property scenarios of testdata/scenarios/<protocol>/, seed after seed, with
every invariant and liveness checker, linearizability, protocol panics and
(2PC, Paxos Commit) blocking after the heal. Print one table row per mutant:
caught or survived, by what, the seeds run to detection, the failing run,
and that run shrunk fault by fault (synod shrink's passes, a fixed budget
of runs): events and faults before -> after.

The results do not depend on --workers: the lowest failing seed is reported.
Exit status 0 when every mutant is caught or is a known survivor (listed
after the table), 1 when another survives, 2 on bad usage.`,
		Example: `  synod mutants
  synod mutants --protocol raft`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ms, err := mutants.Select(protocol)
			if err != nil {
				return usageErr("--protocol: %v", err)
			}
			if workers < 1 {
				return usageErr("--workers: %d must be at least 1", workers)
			}
			w := cmd.OutOrStdout()
			var rs []mutants.Result
			for _, m := range ms {
				r, err := mutants.Run(m, mutants.Options{Root: root, Workers: workers})
				if err != nil {
					return inputErr(err)
				}
				rs = append(rs, r)
			}
			var shrunk []*mutants.Shrunk
			if !noShrink {
				if shrunk, err = mutants.ShrinkAll(rs, workers); err != nil {
					return inputErr(err)
				}
			}
			fmt.Fprint(w, mutants.Table(rs, shrunk))
			var unexpected []string
			for _, r := range rs {
				switch {
				case r.Caught:
				case r.Mutant.Survivor != "":
					fmt.Fprintf(w, "known survivor %s: %s\n", r.Mutant.Name(), r.Mutant.Survivor)
				default:
					unexpected = append(unexpected, r.Mutant.Name())
				}
			}
			for _, r := range rs {
				if r.Caught {
					fmt.Fprintf(w, "replay %s: %s\n", r.Mutant.Name(), r.Replay())
				}
			}
			if len(unexpected) > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%d mutants survived the checks: %v", len(unexpected), unexpected)}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&protocol, "protocol", "", "run only this protocol's mutants (raft, paxos, paxos-single, 2pc, paxos-commit)")
	fl.StringVar(&root, "root", ".", "repository root the scenario files are found under")
	fl.IntVar(&workers, "workers", runtime.GOMAXPROCS(0), "seeds (and shrinks) run in parallel")
	fl.BoolVar(&noShrink, "no-shrink", false, "leave out the shrunk column (shrinking every failure takes about 25 s of CPU)")
	return cmd
}
