package grammar

import "testing"

func TestThroughTakesTextUpToItsFirstMarker(t *testing.T) {
	for _, c := range []struct {
		marker         string
		valid, invalid []string
	}{
		{"</think>", []string{"</think>", "so <b>bold</b> </thin</think>", "<</think>", "a\nb\t</think>"},
			[]string{"", "no end", "</think> after", "</think></think>", "</thin"}},
		// a marker that overlaps itself: falling back must keep the partial match
		{"aab", []string{"aab", "aaab", "abaab", "xaaab"}, []string{"aa", "aabx", "ab"}},
		{"[/THINK]", []string{"[/THINK]", "x[/THIN[/THINK]"}, []string{"[/THINK]x", "[THINK]"}},
	} {
		gbnf := "root ::= through\n" + Through("through", c.marker)
		g := parse(t, gbnf)
		for _, text := range c.valid {
			if !takes(t, g, text) {
				t.Errorf("the grammar refuses %q\n%s", text, gbnf)
			}
		}
		for _, text := range c.invalid {
			if takes(t, g, text) {
				t.Errorf("the grammar takes %q\n%s", text, gbnf)
			}
		}
	}
}
