package main

import "testing"

// TestHelp: every command has a long description and examples.
func TestHelp(t *testing.T) {
	a := &app{}
	root := a.newRoot()
	root.InitDefaultCompletionCmd()
	for _, c := range append(root.Commands(), root) {
		if c.Name() == "completion" || c.Hidden {
			continue
		}
		if c.Long == "" || c.Example == "" {
			t.Errorf("%s: Long or Example missing", c.CommandPath())
		}
	}
}
