package quickack

import (
	"net"
	"syscall"
)

// Wrap returns c acknowledging at once what it reads: TCP_QUICKACK is set
// after every read that returned data. A connection that is not TCP is
// returned as it is.
func Wrap(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	// The wrapper embeds net.Conn, not *net.TCPConn, so that io.Copy
	// cannot bypass Read through TCPConn.WriteTo.
	return &conn{Conn: c, rc: rc}
}

type conn struct {
	net.Conn
	rc syscall.RawConn
}

func (c *conn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		// An error here (the connection closed meanwhile) costs at most
		// the delay this avoids; the read's own result stands.
		_ = c.rc.Control(setQuickack)
	}
	return n, err
}

func setQuickack(fd uintptr) {
	_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
}
