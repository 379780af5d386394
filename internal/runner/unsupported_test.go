package runner

import (
	"net/http"
	"strings"
	"testing"
)

// Slot save, restore and erase are refused as llama-server refuses them without --slot-save-path: 501, not
// the 404 of an unknown endpoint, so a client learns the feature is off rather than misspelled.
func TestSlotActionsAreNotSupported(t *testing.T) {
	f := runnerFor(t, false)
	for _, action := range []string{"save", "restore", "erase"} {
		code, body := f.post(t, "/slots/0?action="+action, map[string]any{"filename": "x.bin"})
		if msg, typ := errorOf(t, body); code != http.StatusNotImplemented || typ != typeNotSupported || !strings.Contains(msg, "slot-save-path") {
			t.Errorf("action %s: %d %s", action, code, body)
		}
	}
}

// The runner loads no LoRA adapters: the list is empty, an empty update succeeds, and an update naming an
// adapter is the client's error.
func TestLoRAAdaptersAreAnEmptyList(t *testing.T) {
	f := runnerFor(t, false)
	if code, body := f.get(t, "/lora-adapters"); code != http.StatusOK || strings.TrimSpace(string(body)) != "[]" {
		t.Fatalf("GET /lora-adapters: %d %s", code, body)
	}
	if code, body := f.post(t, "/lora-adapters", []any{}); code != http.StatusOK {
		t.Fatalf("POST /lora-adapters []: %d %s", code, body)
	}
	code, body := f.post(t, "/lora-adapters", []any{map[string]any{"id": 0, "scale": 0.5}})
	if msg, _ := errorOf(t, body); code != http.StatusBadRequest || !strings.Contains(msg, "id 0") {
		t.Fatalf("POST /lora-adapters with an id: %d %s", code, body)
	}
	if code, _ := f.post(t, "/lora-adapters", map[string]any{"id": 0}); code != http.StatusBadRequest {
		t.Fatalf("POST /lora-adapters with an object: %d, want 400", code)
	}
}
