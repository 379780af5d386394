package fleet

import (
	"strings"
	"testing"
	"time"
)

// gatewayReplicaKilled kills a gateway with SIGKILL under load, makes
// control changes on the survivors while it is down, restarts it, and
// checks that it comes back with the fleet's state, that only requests
// sent to it while it was down failed, and that no change is lost.
func gatewayReplicaKilled(t *testing.T, f *fleet, l *ledger) {
	victim := f.gateways[2]
	r := load(t, allOf(f.gateways), 4, maxRequests)
	r.answered(t, 20, 30*time.Second)

	victim.kill()
	killed := time.Now()
	r.answered(t, 20, 30*time.Second)
	f.pauseFleet(t, l, f.gateways[0], "paused while gw3 is dead")
	if ok, _ := l.admin(t, f.gateways[1], "wellbeing", `{"state":"cautious","reason":"wellbeing while gw3 is dead"}`); !ok {
		t.Fatal("gw2 did not acknowledge a wellbeing change")
	}

	victim.restart()
	// It must come back paused: it serves nothing until it knows.
	eventually(t, victim.name+" back and paused", 30*time.Second, func() bool { p, err := paused(victim); return err == nil && p })
	down := time.Since(killed)
	f.resumeFleet(t, l, victim)
	if ok, _ := l.admin(t, victim, "wellbeing", `{"state":"healthy","reason":"wellbeing after gw3 came back"}`); !ok {
		t.Fatal("gw3 did not acknowledge a wellbeing change after its restart")
	}
	victim.waitReady(30 * time.Second)
	r.answered(t, 30, 30*time.Second)
	tl := r.stop()
	t.Logf("gw3 killed with SIGKILL and restarted (down %v): load %s", down.Round(time.Millisecond), tl)
	tl.mu.Lock()
	for why, n := range tl.reasons {
		if !strings.HasPrefix(why, victim.name+": ") {
			t.Errorf("%d requests failed on a replica that stayed up: %s", n, why)
		}
	}
	tl.mu.Unlock()
	l.checkNoChangeLost(t, victim)
}
