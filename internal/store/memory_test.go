package store

import (
	"testing"

	"custos/internal/intervention"
)

func TestMemoryAuditNewestFirstAndBounded(t *testing.T) {
	m := NewMemory()
	for i := range memoryAuditMax + 5 {
		_ = m.Record(intervention.State{}, intervention.Event{Reason: string(rune('a' + i%26)), Action: "pause"})
	}
	all, _ := m.Audit(memoryAuditMax * 2)
	if len(all) != memoryAuditMax {
		t.Fatalf("kept %d events, want %d", len(all), memoryAuditMax)
	}
	last, _ := m.Audit(1)
	want := string(rune('a' + (memoryAuditMax+4)%26))
	if len(last) != 1 || last[0].Reason != want {
		t.Fatalf("newest event: %+v, want reason %q", last, want)
	}
}
