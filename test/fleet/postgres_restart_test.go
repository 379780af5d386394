package fleet

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// postgresRestartedUnderLoad stops PostgreSQL (a fast shutdown, as an
// operator's restart) under load and starts it again: inference does not
// depend on the database, so no request may fail; a change acknowledged
// while it is down must be in the audit log once it is back.
func postgresRestartedUnderLoad(t *testing.T, f *fleet, l *ledger) {
	r := load(t, allOf(f.gateways), 4, maxRequests)
	r.answered(t, 20, 30*time.Second)

	f.pg.Stop()
	stopped := time.Now()
	for _, g := range f.gateways {
		eventually(t, g.name+" says its store is degraded", 20*time.Second, func() bool { return storeState(g) == "Degraded" })
	}
	noticed := time.Since(stopped)
	r.answered(t, 20, 30*time.Second)
	acked, durable := l.admin(t, f.gateways[0], "wellbeing", `{"state":"cautious","reason":"wellbeing while PostgreSQL is down"}`)

	f.pg.Restart()
	restarted := time.Now()
	for _, g := range f.gateways {
		eventually(t, g.name+" says its store is ready", 30*time.Second, func() bool { return storeState(g) == "Ready" })
	}
	recovered := time.Since(restarted)
	f.pauseFleet(t, l, f.gateways[1], "paused after PostgreSQL came back")
	f.resumeFleet(t, l, f.gateways[2])
	r.answered(t, 20, 30*time.Second)
	tl := r.stop()
	t.Logf("PostgreSQL stopped: all replicas Degraded within %v; a change made meanwhile acknowledged: %v, durable: %v; restarted: all Ready within %v; load %s",
		noticed.Round(time.Millisecond), acked, durable, recovered.Round(time.Millisecond), tl)
	if tl.failed.Load() > 0 {
		t.Errorf("requests failed while PostgreSQL restarted: %s", tl)
	}
	l.checkNoChangeLost(t, f.gateways[2])
}

// storeState is the state_store subsystem's state in g's readiness gate.
func storeState(g *node) string {
	status, body := get(g, "/status")
	if status != http.StatusOK {
		return ""
	}
	return subsystemState(body, "state_store")
}

// subsystemState reads a subsystem's state out of a /status body.
func subsystemState(body []byte, name string) string {
	var st struct {
		Gate struct {
			Subsystems []struct {
				Name  string `json:"name"`
				State string `json:"state"`
			} `json:"subsystems"`
		} `json:"gate"`
	}
	if json.Unmarshal(body, &st) != nil {
		return ""
	}
	for _, s := range st.Gate.Subsystems {
		if s.Name == name {
			return s.State
		}
	}
	return ""
}
