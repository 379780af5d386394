package grammar

import (
	"fmt"
	"strconv"
	"strings"
)

// maxDigits bounds the integers the grammars write, as the shared "integral" rule does.
const maxDigits = 16

// maxMagnitude is the largest integer of maxDigits digits.
var maxMagnitude = int64(9999999999999999)

// integerRange is an expression for the decimal integers in [lo, hi], written as JSON writes them (no
// leading zeros, no "-0"); a side given as nil is bounded only by maxDigits digits. It returns "" when
// the range is empty.
func integerRange(lo, hi *int64) string {
	low, high := -maxMagnitude, maxMagnitude
	if lo != nil {
		low = max(*lo, -maxMagnitude)
	}
	if hi != nil {
		high = min(*hi, maxMagnitude)
	}
	if low > high {
		return ""
	}
	var parts []string
	if low < 0 {
		// The negatives: "-" and a magnitude in [max(1, -high), -low].
		parts = append(parts, seq(`"-"`, group(naturalRange(max(1, -high), -low))))
	}
	if high >= 0 {
		parts = append(parts, naturalRange(max(low, 0), high))
	}
	return alt(parts...)
}

// naturalRange is an expression for the integers in [lo, hi], 0 <= lo <= hi, split by digit count.
func naturalRange(lo, hi int64) string {
	var parts []string
	for digits := len(strconv.FormatInt(lo, 10)); digits <= len(strconv.FormatInt(hi, 10)); digits++ {
		first, last := pow10(digits-1), pow10(digits)-1
		if digits == 1 {
			first = 0
		}
		a, b := max(lo, first), min(hi, last)
		if a > b {
			continue
		}
		parts = append(parts, sameLength(strconv.FormatInt(a, 10), strconv.FormatInt(b, 10)))
	}
	return alt(parts...)
}

func pow10(n int) int64 {
	p := int64(1)
	for range n {
		p *= 10
	}
	return p
}

// sameLength is an expression for the digit strings from lo to hi, both of the same length, lo <= hi.
func sameLength(lo, hi string) string {
	if lo == hi {
		return literal(lo)
	}
	n := len(lo)
	if n == 1 {
		return digitClass(lo[0], hi[0])
	}
	if lo[0] == hi[0] {
		return seq(literal(lo[:1]), group(sameLength(lo[1:], hi[1:])))
	}
	rest := n - 1
	allZeros, allNines := strings.Repeat("0", rest), strings.Repeat("9", rest)
	var parts []string
	from, to := lo[0], hi[0]
	if lo[1:] != allZeros {
		parts = append(parts, seq(literal(lo[:1]), group(sameLength(lo[1:], allNines))))
		from++
	}
	tail := ""
	if hi[1:] != allNines {
		tail = seq(literal(hi[:1]), group(sameLength(allZeros, hi[1:])))
		to--
	}
	if from <= to {
		parts = append(parts, seq(digitClass(from, to), anyDigits(rest)))
	}
	if tail != "" {
		parts = append(parts, tail)
	}
	return alt(parts...)
}

func digitClass(from, to byte) string {
	if from == to {
		return literal(string(from))
	}
	return fmt.Sprintf("[%c-%c]", from, to)
}

func anyDigits(n int) string {
	if n == 1 {
		return "[0-9]"
	}
	return fmt.Sprintf("[0-9]{%d}", n)
}
