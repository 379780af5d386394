package standin

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// countStart adds one to the start counter kept in path and returns the
// new count; a missing file counts as zero previous starts.
func countStart(path string) (int, error) {
	prev := 0
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		prev, err = strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			return 0, fmt.Errorf("state file %s: parsing start count: %w", path, err)
		}
	case !os.IsNotExist(err):
		return 0, fmt.Errorf("state file %s: %w", path, err)
	}
	n := prev + 1
	if err := os.WriteFile(path, []byte(strconv.Itoa(n)+"\n"), 0o644); err != nil {
		return 0, fmt.Errorf("state file %s: %w", path, err)
	}
	return n, nil
}

// failsThisStart tells whether this start, the n-th, must fail at once.
func failsThisStart(n, failStarts int) bool {
	return n <= failStarts
}
