package scenario

import "testing"

// A printed go run command names the main package the way that works
// from where it is printed: relative from the module's root, by import
// path elsewhere (the user's own main included, for a module built on
// package cli).
func TestGoRun(t *testing.T) {
	for _, tc := range []struct{ pkg, mod, cwd, want string }{
		{"github.com/synod-dev/synod/cmd/synod", "github.com/synod-dev/synod", "github.com/synod-dev/synod", "go run ./cmd/synod"},
		{"github.com/synod-dev/synod/cmd/synod", "github.com/synod-dev/synod", "", "go run github.com/synod-dev/synod/cmd/synod"},
		{"example.com/abd", "example.com/abd", "example.com/abd", "go run ."},
		{"example.com/abd", "example.com/abd", "", "go run example.com/abd"},
		{"example.com/abd/cmd/abd", "example.com/abd", "example.com/abd", "go run ./cmd/abd"},
	} {
		if got := goRun(tc.pkg, tc.mod, tc.cwd); got != tc.want {
			t.Errorf("goRun(%q, %q, cwd module %q) = %q, want %q", tc.pkg, tc.mod, tc.cwd, got, tc.want)
		}
	}
}
