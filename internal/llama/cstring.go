package llama

import "unsafe"

// cString returns a NUL-terminated copy of s for C functions that take a const char * without a length.
// The caller keeps the slice alive (runtime.KeepAlive) until the C call returns.
func cString(s string) []byte {
	b := make([]byte, len(s)+1)
	copy(b, s)
	return b
}

// goString copies a NUL-terminated C string into Go memory; nil gives "".
func goString(p *byte) string {
	if p == nil {
		return ""
	}
	n := 0
	for *(*byte)(unsafe.Add(unsafe.Pointer(p), n)) != 0 {
		n++
	}
	return string(unsafe.Slice(p, n))
}
