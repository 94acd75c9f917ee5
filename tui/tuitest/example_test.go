package tuitest_test

import (
	"fmt"
	"os"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/tui/tuitest"
)

// mySpec stands for your protocol's Spec (see docs/testing.md).
func mySpec() *protocols.Spec { return &protocols.Spec{Name: "mykv"} }

// A main of your own module that opens traces of your protocol, which the
// stock cmd/synod does not know (a test binary needs no main: it opens
// them with go test -synod.tui TRACE).
func ExampleOpen() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: mykv-tui TRACE")
		return
	}
	err := tuitest.Open(os.Args[1], tuitest.Options{Protocols: []*protocols.Spec{mySpec()}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
