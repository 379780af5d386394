package runner

import (
	"bufio"
	"encoding/binary"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// slotRunner serves the test model on two slots of 1024 tokens, saving slots in a folder of the test's.
func slotRunner(t *testing.T) (*fixture, string) {
	dir := t.TempDir()
	return &fixture{base: serveRunner(t, Config{CtxSize: 2048, Parallel: 2, Seed: testSeed, SlotSavePath: dir})}, dir
}

type slotSaveReply struct {
	IDSlot    int    `json:"id_slot"`
	Filename  string `json:"filename"`
	NSaved    int    `json:"n_saved"`
	NWritten  int    `json:"n_written"`
	NRestored int    `json:"n_restored"`
	NRead     int    `json:"n_read"`
	NErased   int    `json:"n_erased"`
}

// pinnedCompletion generates greedily on slot 0 and returns the answer.
func pinnedCompletion(t *testing.T, f *fixture, prompt string) nativeReply {
	t.Helper()
	var r nativeReply
	f.postOK(t, "/completion", map[string]any{"prompt": prompt, "n_predict": 8, "temperature": 0, "id_slot": 0}, &r)
	return r
}

// TestSlotSaveEraseRestoreKeepsTheCache: a saved slot, erased, is restored with its KV cache: the same
// prompt then reuses every token but the last, as it does on a slot that was never erased.
func TestSlotSaveEraseRestoreKeepsTheCache(t *testing.T) {
	f, dir := slotRunner(t)
	prompt := "The quick brown fox jumps over the lazy dog and runs away"
	first := pinnedCompletion(t, f, prompt)
	var saved, erased, restored slotSaveReply
	f.postOK(t, "/slots/0?action=save", map[string]any{"filename": "fox.bin"}, &saved)
	if want := first.TokensEvaluated + first.TokensPredicted - 1; saved.NSaved != want || saved.NWritten == 0 || saved.Filename != "fox.bin" {
		t.Fatalf("save: %+v, want n_saved %d (the prompt and all but the last generated token)", saved, want)
	}
	if info, err := os.Stat(filepath.Join(dir, "fox.bin")); err != nil || info.Size() != int64(saved.NWritten) {
		t.Fatalf("saved file: %v, %v; want %d bytes", info, err, saved.NWritten)
	}
	f.postOK(t, "/slots/0?action=erase", nil, &erased)
	if erased.NErased != saved.NSaved {
		t.Fatalf("erase: %+v, want n_erased %d", erased, saved.NSaved)
	}
	if afterErase := pinnedCompletion(t, f, prompt); afterErase.Timings.CacheN != 0 {
		t.Fatalf("after erase the prompt reused %d cached tokens, want 0", afterErase.Timings.CacheN)
	}
	f.postOK(t, "/slots/0?action=erase", nil, &erased)
	f.postOK(t, "/slots/0?action=restore", map[string]any{"filename": "fox.bin"}, &restored)
	if restored.NRestored != saved.NSaved || restored.NRead != saved.NWritten {
		t.Fatalf("restore: %+v, want %d tokens and %d bytes", restored, saved.NSaved, saved.NWritten)
	}
	again := pinnedCompletion(t, f, prompt)
	if again.Timings.CacheN != first.TokensEvaluated-1 || again.Content != first.Content {
		t.Fatalf("after restore: cache_n %d, content %q; want %d reused and %q", again.Timings.CacheN, again.Content,
			first.TokensEvaluated-1, first.Content)
	}
}

// TestSlotActionWaitsForABusySlot: an action on a slot that is generating runs when the generation ends,
// as llama-server defers it, and so erases the whole of it.
func TestSlotActionWaitsForABusySlot(t *testing.T) {
	f, _ := slotRunner(t)
	body := `{"prompt":"Once upon a time","n_predict":300,"ignore_eos":true,"id_slot":0,"stream":true}`
	resp, err := testClient.Post(f.base+"/completion", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	if !lines.Scan() {
		t.Fatalf("the stream ended before its first event: %v", lines.Err())
	}
	go func() { // read the rest, or the generation would wait for its reader
		for lines.Scan() {
		}
	}()
	var erased slotSaveReply
	f.postOK(t, "/slots/0?action=erase", nil, &erased)
	if erased.NErased < 300 {
		t.Fatalf("erase ran while the slot was generating: it erased %d tokens, the generation makes over 300", erased.NErased)
	}
}

func TestSlotActionsRefuseBadRequestsByName(t *testing.T) {
	f, dir := slotRunner(t)
	if err := os.WriteFile(filepath.Join(dir, "junk.bin"), []byte("not a session file"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, path string
		body       any
		status     int
		want       string
	}{
		{"slot id not a number", "/slots/x?action=erase", nil, http.StatusBadRequest, "Invalid slot ID"},
		{"slot id out of range", "/slots/2?action=erase", nil, http.StatusBadRequest, "Invalid slot ID"},
		{"unknown action", "/slots/0?action=copy", nil, http.StatusBadRequest, "Invalid action"},
		{"no filename", "/slots/0?action=save", map[string]any{}, http.StatusBadRequest, `"filename" is required`},
		{"a path", "/slots/0?action=save", map[string]any{"filename": "../x.bin"}, http.StatusBadRequest, "Invalid filename"},
		{"a subfolder", "/slots/0?action=restore", map[string]any{"filename": "a/x.bin"}, http.StatusBadRequest, "Invalid filename"},
		{"a trailing dot", "/slots/0?action=save", map[string]any{"filename": "x."}, http.StatusBadRequest, "Invalid filename"},
		{"no such file", "/slots/0?action=restore", map[string]any{"filename": "none.bin"}, http.StatusBadRequest, "Unable to restore slot"},
		{"not a session file", "/slots/0?action=restore", map[string]any{"filename": "junk.bin"}, http.StatusBadRequest, "Unable to restore slot"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, raw := f.post(t, c.path, c.body)
			msg, _ := errorOf(t, raw)
			if status != c.status || !strings.Contains(msg, c.want) {
				t.Fatalf("status %d: %q; want %d naming %q", status, msg, c.status, c.want)
			}
		})
	}
	// The server still serves after each refusal.
	pinnedCompletion(t, f, "still there")
}

func TestValidSlotFilename(t *testing.T) {
	for name, want := range map[string]bool{"a.bin": true, "slot 1.bin": true, "é.bin": true, "": false, ".": false,
		"..": false, "a..b": false, " a": false, "a ": false, "a.": false, "a/b": false, `a\b`: false, "a:b": false,
		"a*b": false, "a?b": false, `a"b`: false, "a<b": false, "a>b": false, "a|b": false, "a\x01b": false,
		"a\x7fb": false, "a\u0085b": false, "a\ufeffb": false, "a\ufffdb": false, "a\u2215b": false, "a\xffb": false,
		strings.Repeat("a", 256): false, strings.Repeat("a", 255): true} {
		if got := validSlotFilename(name); got != want {
			t.Errorf("validSlotFilename(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestSlotFilesMoveBetweenTheRunnerAndLlamaServer: a slot saved by the real llama-server is restored by the
// runner, and one saved by the runner by llama-server, with the cache intact both ways.
func TestSlotFilesMoveBetweenTheRunnerAndLlamaServer(t *testing.T) {
	f, dir := slotRunner(t)
	model, err := testModel()
	if err != nil {
		t.Fatal(err)
	}
	ls := realLlamaServer(t, model, "-c", "2048", "-np", "2", "--seed", "7", "--slot-save-path", dir)
	prompt := "A slot saved by one server and restored by the other"
	theirs := pinnedCompletion(t, ls, prompt)
	ls.postOK(t, "/slots/0?action=save", map[string]any{"filename": "theirs.bin"}, &slotSaveReply{})
	var restored slotSaveReply
	f.postOK(t, "/slots/0?action=restore", map[string]any{"filename": "theirs.bin"}, &restored)
	if want := theirs.TokensEvaluated + theirs.TokensPredicted - 1; restored.NRestored != want {
		t.Fatalf("the runner restored %d tokens of llama-server's slot, want %d", restored.NRestored, want)
	}
	if ours := pinnedCompletion(t, f, prompt); ours.Timings.CacheN != theirs.TokensEvaluated-1 || ours.Content != theirs.Content {
		t.Fatalf("the runner on llama-server's slot: cache_n %d, %q; want %d, %q", ours.Timings.CacheN, ours.Content, theirs.TokensEvaluated-1, theirs.Content)
	}
	f.postOK(t, "/slots/0?action=save", map[string]any{"filename": "ours.bin"}, &slotSaveReply{})
	ls.postOK(t, "/slots/0?action=erase", nil, &slotSaveReply{})
	ls.postOK(t, "/slots/0?action=restore", map[string]any{"filename": "ours.bin"}, &restored)
	if back := pinnedCompletion(t, ls, prompt); back.Timings.CacheN != theirs.TokensEvaluated-1 || back.Content != theirs.Content {
		t.Fatalf("llama-server on the runner's slot: cache_n %d, %q; want %d, %q", back.Timings.CacheN, back.Content, theirs.TokensEvaluated-1, theirs.Content)
	}
}

// TestATaskWaitsBehindASlotActionThatCameFirst: a task that arrives as a slot frees does not take the
// slot from an action that was waiting for it (the scheduler admits tasks before it runs actions), neither
// by choice nor pinned with id_slot; once the action is taken to run, the slot takes tasks again.
func TestATaskWaitsBehindASlotActionThatCameFirst(t *testing.T) {
	s := &scheduler{slots: []*slot{{id: 0, cached: toks(1, 2, 3)}, {id: 1}}}
	s.queueAction(&slotAction{kind: "erase", slot: 0, done: make(chan slotActionResult, 1)})
	if got := s.place(&task{prompt: toks(1, 2, 3)}); len(got) != 1 || got[0].id != 1 {
		t.Fatalf("a task was placed on %v, want slot 1: slot 0 owes an action", got)
	}
	if got := s.place(&task{prompt: toks(1), params: genParams{pinSlot: true, slotID: 0}}); got != nil {
		t.Fatalf("a task pinned to slot 0 was placed on slot %d before the action waiting for it", got[0].id)
	}
	if got := s.place(&task{prompt: toks(1), params: genParams{n: 2}}); got != nil {
		t.Fatalf("a task of two choices was placed on slots %d and %d; only slot 1 takes tasks", got[0].id, got[1].id)
	}
	if ready := s.readyActions(); len(ready) != 1 || ready[0].slot != 0 || len(s.waitingActions) != 0 {
		t.Fatalf("ready actions %v, still waiting %v; want the erase of slot 0 taken out", ready, s.waitingActions)
	}
	if got := s.place(&task{prompt: toks(1), params: genParams{pinSlot: true, slotID: 0}}); len(got) != 1 || got[0].id != 0 {
		t.Fatalf("after the action, the pinned task was placed on %v, want slot 0", got)
	}
}

// TestACorruptCellCountInASlotFileIsRefused: a slot file whose cell count was corrupted to two billion
// (llama.cpp would reserve tens of gigabytes for it before reading a cell) gets llama-server's 400, and
// the runner goes on serving, the slot's cache emptied.
func TestACorruptCellCountInASlotFileIsRefused(t *testing.T) {
	f, dir := slotRunner(t)
	pinnedCompletion(t, f, "The quick brown fox")
	var saved slotSaveReply
	f.postOK(t, "/slots/0?action=save", map[string]any{"filename": "fox.bin"}, &saved)
	path := filepath.Join(dir, "fox.bin")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// magic, version, token count, tokens, stream count, then a cell count per stream until one has cells.
	at := 12 + 4*int(binary.LittleEndian.Uint32(data[8:])) + 4
	for binary.LittleEndian.Uint32(data[at:]) == 0 {
		at += 4
	}
	binary.LittleEndian.PutUint32(data[at:], 0x7fffffff)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	status, raw := f.post(t, "/slots/0?action=restore", map[string]any{"filename": "fox.bin"})
	if status != http.StatusBadRequest || !strings.Contains(string(raw), "invalid slot save file") {
		t.Fatalf("restore of a corrupt file: status %d: %s; want 400", status, raw)
	}
	if again := pinnedCompletion(t, f, "The quick brown fox"); again.Timings.CacheN != 0 || again.TokensPredicted == 0 {
		t.Fatalf("after the refused restore: %+v; want a completion that reuses nothing", again)
	}
}
