package main

import (
	"testing"

	"github.com/spf13/cobra"

	"github.com/pubsub-go/pubsub"
)

// TestHelp: every command, those of a group included, has a long
// description and examples.
func TestHelp(t *testing.T) {
	a := &app{}
	root := a.newRoot()
	root.InitDefaultCompletionCmd()
	var check func(c *cobra.Command)
	check = func(c *cobra.Command) {
		if c.Name() == "completion" || c.Hidden {
			return
		}
		if c.Long == "" || c.Example == "" || c.Short == "" {
			t.Errorf("%s: Short, Long or Example missing", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			check(sub)
		}
	}
	check(root)
	if q, _, err := root.Find([]string{"queue", "dead"}); err != nil || q.Name() != "dead" {
		t.Errorf("queue dead: %v, %v", q, err)
	}
}

// TestDefaultHome: the default the "no home" message names is the
// library's, without $PUBSUB_HOME.
func TestDefaultHome(t *testing.T) {
	t.Setenv("PUBSUB_HOME", "")
	if got, want := defaultHome(), pubsub.DefaultDir(); got != want {
		t.Errorf("defaultHome() = %q, pubsub.DefaultDir() = %q", got, want)
	}
}

// TestNoHomeError: the message says where the home came from and where
// the default is, in each case.
func TestNoHomeError(t *testing.T) {
	def := defaultHome()
	tests := []struct {
		name, flag, env, want string
	}{
		{"default", "", "", "pubsub: no home at " + def + " (the default; --home DIR or $PUBSUB_HOME set another); a subscriber creates its home"},
		{"env", "", "/x/env", "pubsub: no home at /x/env (set by $PUBSUB_HOME; the default is " + def + "); a subscriber creates its home"},
		{"flag", "/x/flag", "/x/env", "pubsub: no home at /x/flag (set by --home; the default is " + def + ", or $PUBSUB_HOME if set); a subscriber creates its home"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("PUBSUB_HOME", tt.env)
			a := &app{}
			a.newRoot()
			a.home = tt.flag // as --home would
			dir, err := a.homeDir()
			if err != nil {
				t.Fatal(err)
			}
			if got := a.noHomeError(dir).Error(); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestConcretePrefix(t *testing.T) {
	for in, want := range map[string]string{
		"logs.app": "logs.app", "logs.+": "logs.", "logs.=.error": "logs.", "a.b.=": "a.b.",
		"+": "", "=.x": "", "news.=x": "news.", "x+y": "",
	} {
		if got := concretePrefix(in); got != want {
			t.Errorf("concretePrefix(%q) = %q, want %q", in, got, want)
		}
	}
}
