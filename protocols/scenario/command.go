package scenario

import (
	"bufio"
	"os"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"strings"
)

// Command is a synod command line for a report to print: the binary that
// runs synod (Binary) and the arguments, each quoted for a POSIX shell.
// Every replay, watch and retest command synod prints is made here or by
// GoTestCommand, so that it works when pasted into a shell from the
// directory the user ran synod in. File arguments must be given through
// CommandPath.
func Command(args ...string) string {
	var b strings.Builder
	b.WriteString(Binary())
	for _, a := range args {
		b.WriteString(" " + ShellQuote(a))
	}
	return b.String()
}

// Binary is how to run the synod that is running, from the user's
// directory:
//   - an installed binary: its path as invoked (os.Args[0]: "synod" from
//     PATH, "./synod", "/usr/local/bin/synod");
//   - under go run: "go run ./cmd/synod" (or "go run ." for a module's
//     own main at its root, calling cli.Main) from the module's root,
//     else "go run" and the main package's import path, which works
//     anywhere in the module;
//   - under go test (a library printing for a test; the test binary is
//     not synod): "go run" and synod's command's import path, or the
//     package SetMainPackage named.
func Binary() string {
	arg0 := os.Args[0]
	switch {
	case underGoTest():
		return "go run " + testMainPackage
	case arg0 == "" || isGoBuildTemp(arg0):
		info, ok := debug.ReadBuildInfo()
		if !ok || info.Path == "" || info.Main.Path == "" {
			return "go run " + synodCmd
		}
		return goRun(info.Path, info.Main.Path, cwdModule())
	}
	return ShellQuote(arg0)
}

// goRun is the go run command of the main package pkg of module mod, from
// a directory of module cwdMod: relative from the module's root ("go run
// ." for a module whose root is the main package, as a module built on
// package cli has it), else by import path, which works anywhere in the
// module.
func goRun(pkg, mod, cwdMod string) string {
	if cwdMod == mod && pkg == mod {
		return "go run ."
	}
	if rel, ok := strings.CutPrefix(pkg, mod+"/"); ok && cwdMod == mod {
		return "go run ./" + rel
	}
	return "go run " + pkg
}

// CommandPath renders a file path for a printed command: absolute under
// go test, whose working directory is the package's and not the user's;
// as given otherwise (relative to the directory synod runs in, which is
// the user's).
func CommandPath(p string) string {
	if p == "" || filepath.IsAbs(p) || !underGoTest() {
		return p
	}
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

// GoTestCommand is a go test command line that runs in dir (go test -C,
// with dir made absolute) whatever directory it is pasted in: for the
// retest and watch commands of a test's failure.
func GoTestCommand(dir string, args ...string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	var b strings.Builder
	b.WriteString("go test -C " + ShellQuote(dir))
	for _, a := range args {
		b.WriteString(" " + ShellQuote(a))
	}
	return b.String()
}

// testMainPackage is the main package printed commands go run under go
// test: synod's command unless SetMainPackage names another.
var testMainPackage = synodCmd

// SetMainPackage names, by import path, the main package that printed
// commands run under go test, where the running binary is a test and not
// a synod: a module whose own main calls cli.Main sets it to that main
// (in TestMain), so that the commands its tests print know its
// protocols. Outside go test the binary that runs is named (Binary).
func SetMainPackage(importPath string) { testMainPackage = importPath }

// synodCmd is the import path of synod's command, derived from this
// package's so that it follows the module's name.
var synodCmd = strings.TrimSuffix(reflect.TypeOf(Scenario{}).PkgPath(), "/protocols/scenario") + "/cmd/synod"

// underGoTest says the process is a test binary.
func underGoTest() bool { return strings.HasSuffix(os.Args[0], ".test") }

// isGoBuildTemp says a binary lives in a directory go run (or go test)
// built it in, which is gone once it exits.
func isGoBuildTemp(path string) bool {
	return strings.Contains(path, "go-build") || strings.HasPrefix(path, os.TempDir()+string(os.PathSeparator)+"go-")
}

// cwdModule is the module path the working directory's go.mod declares
// ("" when there is none).
func cwdModule() string {
	f, err := os.Open("go.mod")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}

// ShellQuote quotes s for a POSIX shell when it needs it.
func ShellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '-' || r == '.' || r == '/' || r == '_' || r == ':' || r == ',' || r == '=' || r == '+' || r == '@' ||
			(r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z'))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
