//go:build !linux

package quickack

import "net"

// Wrap returns c as it is: TCP_QUICKACK is Linux's, and other systems'
// delayed acknowledgements have no portable counterpart.
func Wrap(c net.Conn) net.Conn { return c }
