package browser

import (
	"syscall"
	"testing"
	"time"
)

// A backend killed with SIGKILL takes its row out of ready, with
// the exit in the row, and back to ready once the supervisor restarted it:
// the page follows the pushed state without a reload.
func TestRowChangesStateWhenTheBackendIsKilled(t *testing.T) { forEachBackend(t, testRowFollowsAKill) }

func testRowFollowsAKill(t *testing.T, be backend) {
	c := startCustos(t, modelConfig(t, be, "    restart_backoff: 2s\n"))
	before := waitReady(t, c, "alpha", nil)
	b := newBrowser(t, 1280, 900)
	b.open(c, "alpha")
	b.waitJS("the row to say ready", 10*time.Second, rowState("alpha")+` === "ready"`)

	if err := syscall.Kill(before.PID, syscall.SIGKILL); err != nil {
		t.Fatalf("killing the backend (pid %d): %v", before.PID, err)
	}
	b.waitJS("the row to leave ready after the kill", 10*time.Second, rowState("alpha")+` !== "ready"`)
	b.waitJS("the row to show the exit by signal", 10*time.Second,
		`document.querySelector('#models tr[data-model="alpha"]').textContent.includes("killed")`)
	b.waitJS("the row to be ready again after the restart", 60*time.Second, rowState("alpha")+` === "ready"`)
	b.waitJS("the row to count the restart", 5*time.Second,
		`document.querySelector('#models tr[data-model="alpha"] td[data-label="Restarts"]').textContent.startsWith("1")`)
}
