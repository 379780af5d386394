package llama

import (
	"errors"
	"fmt"
	"runtime"
)

// SeqSaveFile writes sequence seq's KV cache to path, with tokens (the tokens it holds, or any record the
// caller wants back on load), in llama.cpp's session file format. It returns the bytes written.
func (c *Context) SeqSaveFile(path string, seq int32, tokens []Token) (int, error) {
	c.checkSeq("SeqSaveFile", seq)
	var first *Token
	if len(tokens) > 0 {
		first = &tokens[0]
	}
	n := llamaStateSeqSaveFile(c.ptr, path, seq, first, uintptr(len(tokens)))
	runtime.KeepAlive(tokens)
	if n == 0 {
		return 0, fmt.Errorf("llama: saving sequence %d to %s failed", seq, path)
	}
	return int(n), nil
}

// SeqLoadFile replaces sequence seq's KV cache with the one saved in path, and returns the tokens saved
// with it (at most capacity of them) and the bytes read. It fails, leaving the sequence empty, on a file
// that is not a session file of this model and context, one with more than capacity tokens, or a cache
// that does not fit.
func (c *Context) SeqLoadFile(path string, seq int32, capacity int) ([]Token, int, error) {
	c.checkSeq("SeqLoadFile", seq)
	if err := checkSeqFile(path, capacity, c.NCtxSeq(), c.recurrent); err != nil {
		llamaMemorySeqRm(c.mem, seq, 0, -1)
		return nil, 0, err
	}
	tokens := make([]Token, max(capacity, 1))
	var n uintptr
	read := llamaStateSeqLoadFile(c.ptr, path, seq, &tokens[0], uintptr(len(tokens)), &n)
	if read == 0 {
		llamaMemorySeqRm(c.mem, seq, 0, -1)
		return nil, 0, errors.New("not a session file of this model, more tokens than a slot holds, or no room in the KV cache")
	}
	return tokens[:n], int(read), nil
}
