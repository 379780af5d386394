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
	all, _ := m.Audit(0, memoryAuditMax*2)
	if len(all) != memoryAuditMax {
		t.Fatalf("kept %d events, want %d", len(all), memoryAuditMax)
	}
	last, _ := m.Audit(0, 1)
	want := string(rune('a' + (memoryAuditMax+4)%26))
	if len(last) != 1 || last[0].Reason != want {
		t.Fatalf("newest event: %+v, want reason %q", last, want)
	}
}

func TestMemoryAuditPages(t *testing.T) {
	m := NewMemory()
	for _, r := range []string{"a", "b", "c"} {
		_ = m.Record(intervention.State{}, intervention.Event{Reason: r})
	}
	for _, tc := range []struct {
		offset, limit int
		want          string
	}{{0, 2, "cb"}, {2, 2, "a"}, {3, 2, ""}, {9, 1, ""}} {
		got, _ := m.Audit(tc.offset, tc.limit)
		reasons := ""
		for _, ev := range got {
			reasons += ev.Reason
		}
		if reasons != tc.want {
			t.Errorf("Audit(%d, %d) = %q, want %q", tc.offset, tc.limit, reasons, tc.want)
		}
	}
}
