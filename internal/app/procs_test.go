package app

import "testing"

func TestGatewayProcsIsAQuarterBetweenOneAndFour(t *testing.T) {
	for _, c := range []struct{ available, want int }{
		{1, 1}, {2, 1}, {4, 1}, {7, 1}, {8, 2}, {12, 3}, {16, 4}, {64, 4},
	} {
		if got := GatewayProcs(c.available); got != c.want {
			t.Errorf("GatewayProcs(%d) = %d, want %d", c.available, got, c.want)
		}
	}
}
