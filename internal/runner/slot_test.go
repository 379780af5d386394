package runner

import (
	"testing"

	"custos/internal/llama"
)

func toks(ids ...int32) []llama.Token {
	out := make([]llama.Token, len(ids))
	for i, id := range ids {
		out[i] = llama.Token(id)
	}
	return out
}

func TestChooseSlotPrefersTheLongestCachedPrefix(t *testing.T) {
	slots := []*slot{
		{id: 0, cached: toks(1, 9, 9), lastUsed: 1},
		{id: 1, cached: toks(1, 2, 3, 4), lastUsed: 2},
		{id: 2, cached: toks(1, 2), lastUsed: 0},
	}
	if got := chooseSlot(slots, toks(1, 2, 3, 5), nil); got.id != 1 {
		t.Fatalf("chose slot %d, want 1 (3 tokens shared)", got.id)
	}
}

// A prompt that shares only its first tokens (the template's opening) with a cache takes the slot idle the
// longest, and leaves the cache for the conversation it holds, as llama-server does.
func TestChooseSlotLeavesACacheThatSharesLittle(t *testing.T) {
	conversation := toks(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)
	other := toks(1, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7)
	slots := []*slot{{id: 0, cached: conversation, lastUsed: 3}, {id: 1, lastUsed: 1}, {id: 2, cached: toks(5), lastUsed: 2}}
	if got := chooseSlot(slots, other, nil); got.id != 1 {
		t.Fatalf("chose slot %d, want 1 (idle the longest; slot 0 shares 1 of 12 tokens)", got.id)
	}
	if got := chooseSlot(slots, append(conversation[:2:2], 99), nil); got.id != 0 {
		t.Fatalf("chose slot %d, want 0 (it holds 2 of the 3 tokens)", got.id)
	}
}

func TestChooseSlotTakesTheLeastRecentlyUsedAmongEquals(t *testing.T) {
	slots := []*slot{{id: 0, lastUsed: 5}, {id: 1, lastUsed: 2}, {id: 2, lastUsed: 9}}
	if got := chooseSlot(slots, toks(1), nil); got.id != 1 {
		t.Fatalf("chose slot %d, want 1 (idle the longest)", got.id)
	}
}

func TestChooseSlotSkipsBusySlots(t *testing.T) {
	slots := []*slot{{id: 0, cached: toks(1, 2), task: &task{}}, {id: 1}}
	if got := chooseSlot(slots, toks(1, 2), nil); got == nil || got.id != 1 {
		t.Fatalf("chose %v, want slot 1", got)
	}
	slots[1].task = &task{}
	if got := chooseSlot(slots, toks(1), nil); got != nil {
		t.Fatalf("chose slot %d while all are busy", got.id)
	}
}

func TestReusablePrefixLeavesOneTokenToDecode(t *testing.T) {
	for _, c := range []struct {
		name           string
		cached, prompt []llama.Token
		embed          bool
		want           int
	}{
		{"partial overlap", toks(1, 2, 3), toks(1, 2, 4), false, 2},
		{"same prompt again", toks(1, 2, 3), toks(1, 2, 3), false, 2},
		{"prompt extends the cache", toks(1, 2), toks(1, 2, 3), false, 2},
		{"nothing shared", toks(5), toks(1), false, 0},
		{"embedding reuses nothing", toks(1, 2, 3), toks(1, 2, 3, 4), true, 0},
	} {
		if got := reusablePrefix(c.cached, c.prompt, c.embed); got != c.want {
			t.Errorf("%s: reusablePrefix = %d, want %d", c.name, got, c.want)
		}
	}
}
