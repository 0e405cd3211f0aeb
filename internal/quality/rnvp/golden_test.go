package rnvp

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

type goldenCase struct {
	name  string
	input string
	want  [7]string
}

// readGolden parses testdata/golden.txt (format in its header).
func readGolden(t testing.TB, path string) []goldenCase {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []goldenCase
	var cur *goldenCase
	name := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "# T"):
			name = strings.Fields(line)[1]
		case strings.HasPrefix(line, "> "):
			cases = append(cases, goldenCase{name: name, input: line[2:]})
			cur = &cases[len(cases)-1]
		case len(line) > 3 && line[0] == 'L' && line[2] == ' ' && cur != nil:
			n := int(line[1] - '1')
			if n < 0 || n > 6 {
				t.Fatalf("bad golden line %q", line)
			}
			cur.want[n] = line[3:]
		case strings.TrimSpace(line) == "":
			cur = nil
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cases
}

func splitFields(s string) []string { return strings.Split(s, "|") }

// TestGoldenWorkedCases checks every worked case of rnvp.md §7 line for
// line.
func TestGoldenWorkedCases(t *testing.T) {
	t.Parallel()
	cases := readGolden(t, "testdata/golden.txt")
	if len(cases) != 32 {
		t.Fatalf("want 32 inputs (30 cases, two of them doubled), got %d", len(cases))
	}
	for _, c := range cases {
		got := Normalize(splitFields(c.input))
		if got.Lines != c.want {
			t.Errorf("%s %q\n got %q\nwant %q\nreasons %v", c.name, c.input, got.Lines, c.want, got.Reasons)
		}
	}
}
