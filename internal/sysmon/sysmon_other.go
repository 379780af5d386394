//go:build !linux

package sysmon

import "errors"

// Lower is only implemented on Linux, where a thread's priority can be set by its id.
func Lower() (tid int, err error) {
	return 0, errors.ErrUnsupported
}
