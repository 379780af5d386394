package supervisor

import (
	"fmt"
	"slices"
	"testing"
)

func TestLogRingKeepsNewestLinesInOrder(t *testing.T) {
	r := newLogRing(3)
	if got := r.snapshot(); len(got) != 0 {
		t.Fatalf("empty ring = %q", got)
	}
	for i := 1; i <= 2; i++ {
		r.add(fmt.Sprint(i))
	}
	if got, want := r.snapshot(), []string{"1", "2"}; !slices.Equal(got, want) {
		t.Fatalf("partly filled ring = %q, want %q", got, want)
	}
	for i := 3; i <= 7; i++ {
		r.add(fmt.Sprint(i))
	}
	if got, want := r.snapshot(), []string{"5", "6", "7"}; !slices.Equal(got, want) {
		t.Fatalf("wrapped ring = %q, want %q", got, want)
	}
	if got, want := r.last(2), []string{"6", "7"}; !slices.Equal(got, want) {
		t.Fatalf("last(2) = %q, want %q", got, want)
	}
	if got, want := r.last(10), []string{"5", "6", "7"}; !slices.Equal(got, want) {
		t.Fatalf("last(10) = %q, want %q", got, want)
	}
}

func TestLogRingSnapshotIsACopy(t *testing.T) {
	r := newLogRing(2)
	r.add("a")
	got := r.snapshot()
	got[0] = "changed"
	if r.snapshot()[0] != "a" {
		t.Fatal("changing a snapshot changed the ring")
	}
}
