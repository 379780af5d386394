package intervention

import "context"

// Adopt takes a control state another replica committed to the journal
// they share: it is published and its max_pause deadlines armed, and not
// journaled again. A state no newer than the newest this replica knows to
// be in the journal is ignored (its own commit, or an older read). While
// the controller is restoring, the state is the one read back. events are
// the audit events committed since the last state adopted, for the log.
func (c *Controller) Adopt(st State, events []Event) {
	_ = c.lock(context.Background())
	defer c.unlock()
	if c.closed {
		return
	}
	if c.current.Load().restoring {
		c.restoreLocked(st)
		return
	}
	if st.Version <= c.fleetVersion {
		return
	}
	c.adoptLocked(st)
	for _, ev := range events {
		c.log.Info("intervention on another replica", "replica", ev.Replica, "action", ev.Action, "scope", ev.Scope,
			"old", ev.Old, "new", ev.New, "reason", ev.Reason, "by", ev.Actor)
	}
}

// adoptLocked publishes st as the fleet's state. Callers hold the change
// lock.
func (c *Controller) adoptLocked(st State) {
	st = st.clone()
	c.fleetVersion = st.Version
	c.publish(st, false)
	c.reconcileTimers(st)
}
