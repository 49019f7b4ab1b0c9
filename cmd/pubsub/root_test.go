package main

import (
	"testing"

	"github.com/pubsub-go/pubsub"
)

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
