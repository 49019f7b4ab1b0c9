package pubsub_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// The README's quick start must compile exactly as shown: its first Go
// block is examples/quickstart/main.go, which go vet and go build compile.
func TestReadmeQuickStart(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := bytes.Cut(readme, []byte("\n```go\n"))
	if ok {
		block, _, ok = bytes.Cut(block, []byte("\n```\n"))
	}
	if !ok {
		t.Fatal("README.md has no ```go block")
	}
	block = append(block, '\n')
	program, err := os.ReadFile(filepath.FromSlash("examples/quickstart/main.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(block, program) {
		t.Errorf("the first Go block of README.md is not examples/quickstart/main.go; copy one into the other:\n%s", diffLines(block, program))
	}
}

// diffLines shows the first line where a and b differ.
func diffLines(a, b []byte) string {
	al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	i := 0
	for i < len(al) && i < len(bl) && al[i] == bl[i] {
		i++
	}
	line := func(l []string) string {
		if i < len(l) {
			return l[i]
		}
		return "(end)"
	}
	return fmt.Sprintf("line %d:\n  README.md: %s\n  main.go:   %s", i+1, line(al), line(bl))
}

// mdLink matches an inline Markdown link or image: [text](target).
var mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// TestDocLinks checks that every relative link of README.md and docs/*.md
// names a file or directory of the repository, and that every #anchor names
// a heading of its page, as GitHub makes anchors of headings.
func TestDocLinks(t *testing.T) {
	pages, err := filepath.Glob(filepath.FromSlash("docs/*.md"))
	if err != nil {
		t.Fatal(err)
	}
	pages = append([]string{"README.md"}, pages...)
	anchors := map[string]map[string]bool{}
	anchorsOf := func(page string) map[string]bool {
		if a, ok := anchors[page]; ok {
			return a
		}
		text, err := os.ReadFile(page)
		if err != nil {
			return nil
		}
		anchors[page] = headingAnchors(string(text))
		return anchors[page]
	}
	for _, page := range pages {
		text, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range mdLink.FindAllStringSubmatch(withoutCode(string(text)), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, anchor, _ := strings.Cut(target, "#")
			path := page
			if file != "" {
				path = filepath.Join(filepath.Dir(page), filepath.FromSlash(file))
				if _, err := os.Stat(path); err != nil {
					t.Errorf("%s: link %q: %v", page, target, err)
					continue
				}
			}
			if anchor != "" && !anchorsOf(path)[anchor] {
				t.Errorf("%s: link %q: %s has no heading with the anchor #%s", page, target, path, anchor)
			}
		}
	}
}

// withoutCode blanks fenced code blocks and inline code, where brackets
// and parentheses are not links.
func withoutCode(text string) string {
	var b strings.Builder
	fenced := false
	for line := range strings.Lines(text) {
		if strings.HasPrefix(line, "```") {
			fenced = !fenced
			b.WriteString("\n")
			continue
		}
		if fenced {
			b.WriteString("\n")
			continue
		}
		parts := strings.Split(line, "`")
		for i := 1; i < len(parts); i += 2 {
			parts[i] = ""
		}
		b.WriteString(strings.Join(parts, "``"))
	}
	return b.String()
}

// headingAnchors returns the anchors GitHub gives the headings of a page:
// lower case, spaces made '-', punctuation other than '-' and '_' dropped,
// and "-1", "-2" ... after repeats.
func headingAnchors(text string) map[string]bool {
	anchors := map[string]bool{}
	seen := map[string]int{}
	for _, line := range strings.Split(withoutFences(text), "\n") {
		h := strings.TrimLeft(line, "#")
		if h == line || !strings.HasPrefix(h, " ") || len(line)-len(h) > 6 {
			continue
		}
		var b strings.Builder
		for _, r := range strings.ToLower(strings.TrimSpace(h)) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
		a := b.String()
		if n := seen[a]; n > 0 {
			anchors[a+"-"+strconv.Itoa(n)] = true
		} else {
			anchors[a] = true
		}
		seen[a]++
	}
	return anchors
}

// withoutFences blanks fenced code blocks, whose '#' lines are comments.
func withoutFences(text string) string {
	var b strings.Builder
	fenced := false
	for line := range strings.Lines(text) {
		if strings.HasPrefix(line, "```") {
			fenced = !fenced
		}
		if fenced || strings.HasPrefix(line, "```") {
			b.WriteString("\n")
			continue
		}
		b.WriteString(line)
	}
	return b.String()
}

// docRef matches a pointer to a reference page in Go source (docs/, a page
// name in capitals, .md, and an #anchor if there is one).
var docRef = regexp.MustCompile(`docs/([A-Z]+\.md)(#[a-z0-9_-]+)?`)

// TestCommentLinks checks the pointers to docs/ that doc comments and
// messages hold, as TestDocLinks checks the pages' own links.
func TestCommentLinks(t *testing.T) {
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != "." || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range docRef.FindAllStringSubmatch(string(src), -1) {
			page := filepath.Join("docs", m[1])
			text, err := os.ReadFile(page)
			if err != nil {
				t.Errorf("%s: %s: %v", path, m[0], err)
				continue
			}
			if anchor := strings.TrimPrefix(m[2], "#"); anchor != "" && !headingAnchors(string(text))[anchor] {
				t.Errorf("%s: %s: %s has no heading with the anchor #%s", path, m[0], page, anchor)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
