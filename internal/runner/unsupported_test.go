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
