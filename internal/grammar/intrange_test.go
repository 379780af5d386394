package grammar

import (
	"fmt"
	"strconv"
	"testing"
)

// TestIntegerRangesTakeExactlyTheirIntegers checks every integer around and inside a set of ranges whose
// bounds cross digit counts, zero and powers of ten.
func TestIntegerRangesTakeExactlyTheirIntegers(t *testing.T) {
	for _, r := range [][2]int64{{0, 0}, {0, 9}, {1, 10}, {7, 7}, {5, 95}, {10, 99}, {-9, -1}, {-12, 12},
		{37, 412}, {100, 199}, {-305, -98}, {99, 1001}, {0, 1000}} {
		lo, hi := r[0], r[1]
		t.Run(fmt.Sprintf("%d..%d", lo, hi), func(t *testing.T) {
			gbnf := convert(t, fmt.Sprintf(`{"type":"integer","minimum":%d,"maximum":%d}`, lo, hi))
			g := parse(t, gbnf)
			for n := lo - 25; n <= hi+25; n++ {
				want := n >= lo && n <= hi
				if got := takes(t, g, strconv.FormatInt(n, 10)); got != want {
					t.Errorf("%d: taken %v, want %v\n%s", n, got, want, gbnf)
				}
			}
		})
	}
}

func TestUnboundedSideStopsAtSixteenDigits(t *testing.T) {
	gbnf := convert(t, `{"type":"integer","minimum":5}`)
	g := parse(t, gbnf)
	if !takes(t, g, "9999999999999999") {
		t.Error("the largest 16-digit integer is refused")
	}
	if takes(t, g, "10000000000000000") {
		t.Error("a 17-digit integer is taken; the digits must be bounded so that generation ends")
	}
}
