package runner

import "testing"

// TestIndentGateCutsTheFirstShallowLine feeds text in pieces of every size: the released text and the cut
// must not depend on where the pieces break.
func TestIndentGateCutsTheFirstShallowLine(t *testing.T) {
	for _, c := range []struct {
		name, text, want string
		cut              bool
	}{
		{"deep lines pass", "def f():\n    return 1\n    pass", "def f():\n    return 1\n    pass", false},
		{"a shallow line is cut", "    x = 1\n    y = 2\nprint(x)\n    z", "    x = 1\n    y = 2\n", true},
		{"the first line is not checked", "x\n    y", "x\n    y", false},
		{"an empty line counts as 0", "a\n    b\n\n    c", "a\n    b\n", true},
		{"tabs count", "a\n\t\t\t\tb\n\tc", "a\n\t\t\t\tb\n", true},
		{"held indentation is released at the end", "a\n  ", "a\n  ", false},
	} {
		for size := 1; size <= len(c.text); size++ {
			g := indentGate{min: 4}
			got, cut := "", false
			for i := 0; i < len(c.text) && !cut; i += size {
				var emit string
				emit, cut = g.push(c.text[i:min(i+size, len(c.text))])
				got += emit
			}
			if !cut {
				got += g.flush()
			}
			if got != c.want || cut != c.cut {
				t.Fatalf("%s, pieces of %d: released %q (cut %v), want %q (cut %v)", c.name, size, got, cut, c.want, c.cut)
			}
		}
	}
}
