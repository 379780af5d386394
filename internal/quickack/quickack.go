// Package quickack keeps custos's connections to backends from waiting on
// delayed acknowledgements.
//
// A backend that writes a response's head and body in two writes without
// setting TCP_NODELAY (Python's http.server does so) sends the body only
// once the head is acknowledged: Nagle's algorithm holds a small segment
// back while an earlier one is unacknowledged. Linux, on custos's side,
// delays that acknowledgement by 40 ms or more, hoping to send it with
// data, and custos has nothing to send before the body arrives. Every
// answer then waits for the delayed-ACK timer. custos cannot change the
// backend's socket options, but it can acknowledge at once: Linux's
// TCP_QUICKACK sends a pending acknowledgement immediately and leaves
// delayed-ACK mode, though only until the kernel enters it again by itself
// (tcp(7)), so it is set again after every read that returned data.
package quickack

import (
	"context"
	"net"
)

// Dialer is a net.Dialer whose TCP connections acknowledge what they read
// at once (see Wrap).
type Dialer struct {
	net.Dialer
}

// DialContext dials as net.Dialer.DialContext does and wraps the
// connection with Wrap.
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	c, err := d.Dialer.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	return Wrap(c), nil
}
