package runner

import (
	"context"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"custos/internal/llama"
)

// errSlotActionsOff is llama-server's answer to a slot action when it was started without --slot-save-path.
var errSlotActionsOff = &apiError{Status: http.StatusNotImplemented, Type: typeNotSupported,
	Message: "This server does not support slots action. Start it with `--slot-save-path`"}

// slotAction is a save, restore or erase of one slot's cache (POST /slots/{id}?action=...). The scheduler
// goroutine, which owns the slots, runs it once the slot is idle, as llama-server defers it.
type slotAction struct {
	kind     string // "save", "restore" or "erase"
	slot     int
	filename string
	path     string                // filename in the slot-save folder
	done     chan slotActionResult // buffered: the scheduler never waits for the handler
}

type slotActionResult struct {
	body map[string]any
	err  *apiError
}

// handleSlotAction serves POST /slots/{id}?action=save|restore|erase with llama-server's checks, messages
// and answers. The saved files are llama-server's: either server restores what the other saved.
func (s *Server) handleSlotAction(w http.ResponseWriter, r *http.Request, e *engine) {
	if s.cfg.SlotSavePath == "" {
		writeError(w, errSlotActionsOff)
		return
	}
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil || id < 0 || id >= s.cfg.Parallel {
		writeError(w, badRequest("Invalid slot ID"))
		return
	}
	a := &slotAction{kind: r.URL.Query().Get("action"), slot: id, done: make(chan slotActionResult, 1)}
	switch a.kind {
	case "save", "restore":
		var body struct {
			Filename *string `json:"filename"`
		}
		if apiErr := s.decodeJSON(w, r, &body); apiErr != nil {
			writeError(w, apiErr)
			return
		}
		if body.Filename == nil {
			writeError(w, badRequest("\"filename\" is required"))
			return
		}
		if !validSlotFilename(*body.Filename) {
			writeError(w, badRequest("Invalid filename"))
			return
		}
		a.filename, a.path = *body.Filename, filepath.Join(s.cfg.SlotSavePath, *body.Filename)
	case "erase":
	default:
		writeError(w, badRequest("Invalid action"))
		return
	}
	if apiErr := e.sched.enqueueAction(r.Context(), a); apiErr != nil {
		writeError(w, apiErr)
		return
	}
	select {
	case res := <-a.done:
		if res.err != nil {
			writeError(w, res.err)
			return
		}
		writeJSON(w, http.StatusOK, res.body)
	case <-r.Context().Done():
	}
}

// validSlotFilename is llama-server's rule for a slot file's name: one path element of valid UTF-8 of at
// most 255 bytes, without control characters, characters that are illegal in file names on some system
// (or look like a path separator or a dot), a leading or trailing space, a trailing dot, or "..".
func validSlotFilename(name string) bool {
	if name == "" || len(name) > 255 || !utf8.ValidString(name) || name == "." || strings.Contains(name, "..") ||
		name[0] == ' ' || name[len(name)-1] == ' ' || name[len(name)-1] == '.' {
		return false
	}
	for _, c := range name {
		switch {
		case c <= 0x1f, c == 0x7f, c >= 0x80 && c <= 0x9f, c == utf8.RuneError, c == 0xfeff,
			c == 0xff0e, c == 0x2215, c == 0x2216, strings.ContainsRune(`/\:*?"<>|`, c):
			return false
		}
	}
	return true
}

// enqueueAction hands a to the scheduler.
func (s *scheduler) enqueueAction(ctx context.Context, a *slotAction) *apiError {
	select {
	case s.actions <- a:
		return nil
	case <-s.done:
		return shuttingDown()
	case <-ctx.Done():
		return &apiError{Status: http.StatusServiceUnavailable, Type: typeUnavailable, Message: "the client went away"}
	}
}

// queueAction keeps a until runActions finds its slot idle, and until then keeps new tasks off the slot.
func (s *scheduler) queueAction(a *slotAction) {
	s.waitingActions = append(s.waitingActions, a)
	s.slots[a.slot].actionsWaiting++
}

// runActions runs the waiting slot actions whose slot is idle, and keeps the others for a later step.
func (s *scheduler) runActions() {
	for _, a := range s.readyActions() {
		a.done <- s.runAction(a, s.slots[a.slot])
	}
}

// readyActions takes the waiting actions whose slot is idle out of the queue, in order; their slots no
// longer owe them.
func (s *scheduler) readyActions() []*slotAction {
	var ready []*slotAction
	kept := s.waitingActions[:0]
	for _, a := range s.waitingActions {
		sl := s.slots[a.slot]
		if sl.busy() {
			kept = append(kept, a)
			continue
		}
		sl.actionsWaiting--
		ready = append(ready, a)
	}
	clear(s.waitingActions[len(kept):])
	s.waitingActions = kept
	return ready
}

func (s *scheduler) runAction(a *slotAction, sl *slot) slotActionResult {
	start := time.Now()
	ms := func() float64 { return float64(time.Since(start).Microseconds()) / 1000 }
	switch a.kind {
	case "save":
		n, err := s.lctx.SeqSaveFile(a.path, sl.id, packSlotTokens(sl.cached))
		if err != nil {
			return slotActionResult{err: &apiError{Status: http.StatusInternalServerError, Type: typeServer, Message: "Unable to save slot"}}
		}
		return slotActionResult{body: map[string]any{"id_slot": a.slot, "filename": a.filename,
			"n_saved": len(sl.cached), "n_written": n, "timings": map[string]any{"save_ms": ms()}}}
	case "restore":
		sl.cached = sl.cached[:0]
		tokens, n, apiErr := s.restoreSlot(a.path, sl)
		if apiErr != nil {
			s.lctx.SeqRemove(sl.id, 0, -1)
			return slotActionResult{err: apiErr}
		}
		sl.cached = append(sl.cached, tokens...)
		// A session file does not say which LoRA scales its cache was computed with: it is taken to be
		// the global ones, with which requests that give none reuse it.
		sl.cacheLoRA = s.globalLoRA()
		return slotActionResult{body: map[string]any{"id_slot": a.slot, "filename": a.filename,
			"n_restored": len(tokens), "n_read": n, "timings": map[string]any{"restore_ms": ms()}}}
	default: // erase
		n := len(sl.cached)
		s.lctx.SeqRemove(sl.id, 0, -1)
		sl.cached = sl.cached[:0]
		return slotActionResult{body: map[string]any{"id_slot": a.slot, "n_erased": n}}
	}
}

// restoreSlot loads the file at path into sl's sequence and returns the tokens it holds and the bytes read.
// The tokens must fit the slot, be of the vocabulary and match the positions the cache holds.
func (s *scheduler) restoreSlot(path string, sl *slot) ([]llama.Token, int, *apiError) {
	fail := func(reason string) ([]llama.Token, int, *apiError) {
		return nil, 0, badRequest("Unable to restore slot: %s", reason)
	}
	packed, n, err := s.lctx.SeqLoadFile(path, sl.id, s.slotCtx+packedTokensOverhead)
	if err != nil {
		return fail("No available space in KV cache or invalid slot save file")
	}
	tokens, reason := unpackSlotTokens(packed)
	switch {
	case reason != "":
		return fail(reason)
	case len(tokens) > s.slotCtx:
		return fail("Restored prompt does not fit in the slot context")
	case int(s.lctx.SeqPosMax(sl.id))+1 != len(tokens):
		return fail("the saved tokens do not match the saved cache")
	}
	for _, t := range tokens {
		if t < 0 || int(t) >= s.model.NVocab() {
			return fail("Invalid tokens in slot save file")
		}
	}
	return tokens, n, nil
}

// llama-server saves a slot's tokens with a header: a null token as marker, the format's version, the
// token count, the tokens, then the count of media chunks (none for a text model). Files of older versions
// hold the bare tokens.
const (
	packedTokensVersion  = 1
	packedTokensOverhead = 4
)

func packSlotTokens(tokens []llama.Token) []llama.Token {
	out := make([]llama.Token, 0, len(tokens)+packedTokensOverhead)
	out = append(out, llama.TokenNull, packedTokensVersion, llama.Token(len(tokens)))
	out = append(out, tokens...)
	return append(out, 0)
}

// unpackSlotTokens reads what packSlotTokens wrote, or bare tokens; the reason says why a file is refused.
func unpackSlotTokens(packed []llama.Token) ([]llama.Token, string) {
	if len(packed) == 0 || packed[0] != llama.TokenNull {
		return packed, ""
	}
	if len(packed) < 3 || packed[1] != packedTokensVersion {
		return nil, "Unsupported server tokens state version"
	}
	n := int(uint32(packed[2]))
	if len(packed) < 3+n+1 {
		return nil, "Unexpected end of server tokens state"
	}
	switch {
	case packed[3+n] != 0:
		return nil, "Cannot restore media tokens without an mmproj"
	case len(packed) > 3+n+1:
		return nil, "Trailing data in server tokens state"
	}
	return packed[3 : 3+n], ""
}
