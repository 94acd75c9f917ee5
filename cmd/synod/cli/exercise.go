package cli

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/synod-dev/synod/protocols/exercises"
)

func init() { extraCommands = append(extraCommands, newExerciseCmd) }

func newExerciseCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "exercise",
		Short: "List course exercises or start one from its skeleton",
		Long: `Course exercises, in sequence: each is a skeleton package (a protocol with
the node interface implemented and the core left as TODOs), a README with
the task, hints and the papers' sections to read, and a graded suite that
"go test" or "synod grade" runs.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the exercises in course order",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for i, e := range exercises.All() {
				fmt.Fprintf(cmd.OutOrStdout(), "%d. %-17s %3d pts  %s\n", i+1, e.Name, e.Points(), e.Title)
			}
			return nil
		},
	}, &cobra.Command{
		Use:   "init NAME DIR",
		Short: "Write exercise NAME's skeleton, README and graded tests into DIR",
		Long: `Write exercise NAME's skeleton package, README.md and grade_test.go into
DIR, which must be empty or new: init never overwrites files.

The package imports github.com/synod-dev/synod: make DIR a directory inside
a clone of synod (e.g. labs/raft), or inside your own module that requires
github.com/synod-dev/synod.`,
		Example: `  synod exercise init raft-election labs/raft
  cd labs/raft && go test -run TestGrade -v`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ex, err := exercises.Lookup(args[0])
			if err != nil {
				return usageErr("%v", err)
			}
			if err := checkModule(args[1]); err != nil {
				return inputErr(err)
			}
			files, err := exercises.Init(ex, args[1])
			if err != nil {
				return inputErr(err)
			}
			out := cmd.OutOrStdout()
			for _, f := range files {
				fmt.Fprintf(out, "wrote %s\n", f)
			}
			fmt.Fprintf(out, "\nnext: read %s/README.md, then\n  cd %s && go test -run TestGrade -v\n  synod grade %s\n", args[1], args[1], args[1])
			return nil
		},
	})
	return cmd
}

// synodModule is the module a student's package imports.
const synodModule = "github.com/synod-dev/synod"

// checkModule checks that a student's directory (which may not exist yet)
// is inside a Go module that can build the exercise: synod itself, or a
// module that requires it. Without one, init would write a package that
// go test cannot build.
func checkModule(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	for d := abs; ; d = filepath.Dir(d) {
		b, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil {
			mod := modulePath(b)
			if mod == synodModule || bytes.Contains(b, []byte(synodModule+" ")) {
				return nil
			}
			return fmt.Errorf("%s is inside module %s (%s), which does not require %s: run `go get %s` there, or work inside a clone of synod (labs/NAME)",
				dir, mod, filepath.Join(d, "go.mod"), synodModule, synodModule)
		}
		if filepath.Dir(d) == d {
			return fmt.Errorf("%s is not inside a Go module, so its package could not import %s: work inside a clone of synod (synod exercise init NAME labs/NAME), or in your own module (go mod init example.com/labs && go get %s)",
				dir, synodModule, synodModule)
		}
	}
}

// modulePath reads the module line of a go.mod file.
func modulePath(gomod []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return "?"
}
