package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// change is a control change a replica acknowledged.
type change struct {
	replica, action, reason string
}

// ledger records every control change acknowledged during a test, to
// check against the audit log afterwards.
type ledger struct {
	mu      sync.Mutex
	changes []change
}

// admin sends a control change to a replica; it returns whether the
// replica acknowledged it (200 with changed: true), recording it then,
// and whether it said the change was durable (written to the store).
func (l *ledger) admin(t testing.TB, n *node, action, body string) (acknowledged, durable bool) {
	t.Helper()
	status, answer := post(n, "/admin/"+action, body)
	var res struct {
		Changed bool `json:"changed"`
		Durable bool `json:"durable"`
	}
	if status != http.StatusOK || json.Unmarshal(answer, &res) != nil || !res.Changed {
		t.Logf("%s %s %s: %d %s", n.name, action, body, status, strings.TrimSpace(string(answer)))
		return false, false
	}
	var req struct {
		Reason string `json:"reason"`
	}
	_ = json.Unmarshal([]byte(body), &req)
	l.mu.Lock()
	l.changes = append(l.changes, change{n.name, action, req.Reason})
	l.mu.Unlock()
	return true, res.Durable
}

// pause and resume send a global pause with a reason unique to the test,
// and a resume; both must be acknowledged.
func (l *ledger) pause(t testing.TB, n *node, reason string) {
	t.Helper()
	if ok, _ := l.admin(t, n, "pause", fmt.Sprintf(`{"reason":%q}`, reason)); !ok {
		t.Fatalf("%s did not acknowledge the pause %q", n.name, reason)
	}
}

func (l *ledger) resume(t testing.TB, n *node) {
	t.Helper()
	if ok, _ := l.admin(t, n, "resume", `{}`); !ok {
		t.Fatalf("%s did not acknowledge a resume", n.name)
	}
}

// auditEvent is what the check reads of an audit event.
type auditEvent struct {
	Action  string `json:"action"`
	Reason  string `json:"reason"`
	Replica string `json:"replica"`
}

// checkNoChangeLost reads the fleet's audit log from replica n and fails
// the test for any acknowledged change it lacks: each pause by its
// unique reason and replica, and at least as many resumes from each
// replica as it acknowledged.
func (l *ledger) checkNoChangeLost(t testing.TB, n *node) {
	t.Helper()
	var events []auditEvent
	eventually(t, "the audit log can be read from "+n.name, 20*time.Second, func() bool {
		status, body := get(n, "/admin/audit?limit=10000")
		var page struct {
			Events []auditEvent `json:"events"`
		}
		if status != http.StatusOK || json.Unmarshal(body, &page) != nil {
			return false
		}
		events = page.Events
		return true
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	resumesAcked, resumesLogged := map[string]int{}, map[string]int{}
	for _, e := range events {
		if e.Action == "resume" {
			resumesLogged[e.Replica]++
		}
	}
	lost := 0
	for _, c := range l.changes {
		switch c.action {
		case "resume":
			resumesAcked[c.replica]++
		default:
			found := false
			for _, e := range events {
				if e.Action == c.action && e.Reason == c.reason && e.Replica == c.replica {
					found = true
					break
				}
			}
			if !found {
				lost++
				t.Errorf("acknowledged %s %q on %s is not in the audit log", c.action, c.reason, c.replica)
			}
		}
	}
	for replica, acked := range resumesAcked {
		if resumesLogged[replica] < acked {
			lost += acked - resumesLogged[replica]
			t.Errorf("%s acknowledged %d resumes; the audit log has %d from it", replica, acked, resumesLogged[replica])
		}
	}
	t.Logf("control changes: %d acknowledged, %d lost (audit log of %d events read from %s)", len(l.changes), lost, len(events), n.name)
}

// paused reports whether replica n says inference is paused globally.
func paused(n *node) (bool, error) {
	status, body := get(n, "/admin/intervention")
	if status != http.StatusOK {
		return false, fmt.Errorf("%s /admin/intervention: %d %s", n.name, status, body)
	}
	var st struct {
		Paused bool `json:"paused"`
	}
	if err := json.Unmarshal(body, &st); err != nil {
		return false, err
	}
	return st.Paused, nil
}

func get(n *node, path string) (int, []byte) { return call(n, "GET", path, "") }

func post(n *node, path, body string) (int, []byte) { return call(n, "POST", path, body) }

// call sends an operator request with the admin token.
func call(n *node, method, path, body string) (int, []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, n.url(path), strings.NewReader(body))
	if err != nil {
		return 0, []byte(err.Error())
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	if method == "POST" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := probeClient.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// pauseFleet pauses on replica n and waits until every gateway says it is
// paused, so that a resume sent to another replica next finds a pause to
// lift (one sent sooner, to a replica that has not heard of the pause
// yet, would change nothing).
func (f *fleet) pauseFleet(t testing.TB, l *ledger, n *node, reason string) {
	t.Helper()
	l.pause(t, n, reason)
	f.waitPaused(t, true)
}

// resumeFleet resumes on replica n and waits until no gateway is paused.
func (f *fleet) resumeFleet(t testing.TB, l *ledger, n *node) {
	t.Helper()
	l.resume(t, n)
	f.waitPaused(t, false)
}

func (f *fleet) waitPaused(t testing.TB, want bool) {
	t.Helper()
	for _, g := range f.gateways {
		select {
		case <-g.exited:
			continue // a replica killed by the scenario learns the state when it comes back
		default:
		}
		eventually(t, fmt.Sprintf("%s paused: %v", g.name, want), 10*time.Second, func() bool {
			p, err := paused(g)
			return err == nil && p == want
		})
	}
}
