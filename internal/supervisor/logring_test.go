package supervisor

import (
	"fmt"
	"slices"
	"testing"
)

func TestLogRingKeepsNewestLinesInOrder(t *testing.T) {
	r := NewLogRing(3)
	if got := r.snapshot(); len(got) != 0 {
		t.Fatalf("empty ring = %q", got)
	}
	for i := 1; i <= 2; i++ {
		r.Add("stdout", fmt.Sprint(i))
	}
	if got, want := r.snapshot(), []string{"1", "2"}; !slices.Equal(got, want) {
		t.Fatalf("partly filled ring = %q, want %q", got, want)
	}
	for i := 3; i <= 7; i++ {
		r.Add("stdout", fmt.Sprint(i))
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
	r := NewLogRing(2)
	r.Add("stdout", "a")
	got := r.snapshot()
	got[0] = "changed"
	if r.snapshot()[0] != "a" {
		t.Fatal("changing a snapshot changed the ring")
	}
}

// A follower gets the lines held, then each new one, with its number and
// stream, and none twice.
func TestLogFollowerGetsHeldLinesThenNewOnes(t *testing.T) {
	r := NewLogRing(2)
	r.Add("stdout", "one")
	r.Add("stderr", "two")
	r.Add("stdout", "three")
	held, sub := r.Follow(4)
	defer sub.Close()
	if want := []LogLine{{2, "stderr", "two"}, {3, "stdout", "three"}}; !slices.Equal(held, want) {
		t.Fatalf("held = %v, want %v", held, want)
	}
	r.Add("stderr", "four")
	select {
	case l := <-sub.Lines():
		if l != (LogLine{4, "stderr", "four"}) {
			t.Fatalf("new line = %v", l)
		}
	default:
		t.Fatal("the new line was not delivered")
	}
}

// A follower that does not read never holds the backend up: its lines are
// dropped and counted, and the ring keeps every line.
func TestASlowLogFollowerDropsLinesAndIsToldHowMany(t *testing.T) {
	r := NewLogRing(100)
	_, sub := r.Follow(3)
	for i := range 10 {
		r.Add("stdout", fmt.Sprint(i)) // would block forever if add waited
	}
	if n := sub.TakeDropped(); n != 7 {
		t.Fatalf("dropped = %d, want 7", n)
	}
	if n := sub.TakeDropped(); n != 0 {
		t.Fatalf("dropped again = %d, want 0 once taken", n)
	}
	for i := range 3 {
		if l := <-sub.Lines(); l.Line != fmt.Sprint(i) {
			t.Fatalf("buffered line %d = %v", i, l)
		}
	}
	sub.Close()
	r.Add("stdout", "after close")
	if n := sub.TakeDropped(); n != 0 || len(sub.Lines()) != 0 {
		t.Fatalf("a closed subscription still gets lines (dropped %d, queued %d)", n, len(sub.Lines()))
	}
	if got := r.snapshot(); len(got) != 11 {
		t.Fatalf("the ring holds %d lines, want 11", len(got))
	}
}
