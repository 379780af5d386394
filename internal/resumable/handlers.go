package resumable

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
)

// ErrorWriter answers a client's mistake in the server's own error shape (the runner's is llama-server's,
// the gateway's custos's); code names the mistake, for servers whose errors carry one.
type ErrorWriter func(w http.ResponseWriter, status int, code, message string)

// The codes of the mistakes the routes answer.
const (
	CodeMissingConversation = "missing_conversation_id"
	CodeStreamNotFound      = "stream_not_found"
	CodeInvalidOffset       = "invalid_offset"
	CodeOffsetLost          = "stream_offset_lost"
	CodeInvalidBody         = "invalid_body"
	CodeBodyTooLarge        = "body_too_large"
)

// Handlers are the routes of resumable streams: GET and DELETE /v1/stream, POST /v1/streams/lookup.
type Handlers struct {
	Store *Store
	Error ErrorWriter
	// MaxBodyBytes bounds a lookup's body.
	MaxBodyBytes int64
}

// Replay serves GET /v1/stream?conv_id=<id>&from=<offset>: the session's bytes from offset, then what
// arrives until the answer ends or the client leaves.
func (h Handlers) Replay(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("conv_id")
	if id == "" {
		h.Error(w, http.StatusBadRequest, CodeMissingConversation, "Missing conversation id: give it as conv_id")
		return
	}
	s := h.Store.get(id)
	if s == nil {
		h.Error(w, http.StatusNotFound, CodeStreamNotFound, "Stream not found or expired")
		return
	}
	from := 0
	if v := r.URL.Query().Get("from"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			h.Error(w, http.StatusBadRequest, CodeInvalidOffset, "Invalid 'from' offset: "+strconv.Quote(v)+" is not a byte offset")
			return
		}
		from = n
	}
	if s.lost(from) {
		h.Error(w, http.StatusBadRequest, CodeOffsetLost, "Stream offset lost, please restart")
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	for offset := from; ; {
		chunk, wait, over, err := s.next(offset)
		switch {
		case err != nil || over:
			// Bytes dropped under a slow reader end its replay; it can look up the total and start again.
			return
		case wait != nil:
			select {
			case <-wait:
			case <-r.Context().Done():
				return
			}
			continue
		}
		if _, err := w.Write(chunk); err != nil {
			return
		}
		if rc.Flush() != nil {
			return
		}
		offset += len(chunk)
	}
}

// Stop serves DELETE /v1/stream?conv_id=<id>: the client's explicit stop. It cancels the generation and
// forgets the session, and answers 204 whether or not there was one.
func (h Handlers) Stop(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("conv_id")
	if id == "" {
		h.Error(w, http.StatusBadRequest, CodeMissingConversation, "Missing conversation id: give it as conv_id")
		return
	}
	h.Store.Cancel(id)
	w.Header().Set("Content-Type", "application/json") // llama-server's, though the answer is empty
	w.WriteHeader(http.StatusNoContent)
}

// lookupEntry is one session in a lookup's answer, in llama-server's field names.
type lookupEntry struct {
	ConversationID string `json:"conversation_id"`
	IsDone         bool   `json:"is_done"`
	TotalBytes     int    `json:"total_bytes"`
	StartedAt      int64  `json:"started_at"`
	CompletedAt    int64  `json:"completed_at"`
}

// Lookup serves POST /v1/streams/lookup {"conversation_ids":[...]}: the sessions of the conversations the
// client names. It never lists others, so a caller cannot find the streams of conversations it does not know.
func (h Handlers) Lookup(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.Error(w, http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "the body is larger than "+strconv.FormatInt(h.MaxBodyBytes, 10)+" bytes")
			return
		}
		h.Error(w, http.StatusBadRequest, CodeInvalidBody, "reading the body failed: "+err.Error())
		return
	}
	var req struct {
		ConversationIDs []json.RawMessage `json:"conversation_ids"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		h.Error(w, http.StatusBadRequest, CodeInvalidBody, "invalid body: "+err.Error())
		return
	}
	var ids []string
	for _, raw := range req.ConversationIDs {
		var id string
		if json.Unmarshal(raw, &id) == nil {
			ids = append(ids, id)
		}
	}
	out := []lookupEntry{}
	for _, s := range h.Store.Lookup(ids) {
		e := lookupEntry{ConversationID: s.ConversationID, IsDone: s.Done, TotalBytes: s.TotalBytes, StartedAt: s.StartedAt.Unix()}
		if !s.CompletedAt.IsZero() {
			e.CompletedAt = s.CompletedAt.Unix()
		}
		out = append(out, e)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	b, _ := json.Marshal(out)
	_, _ = w.Write(append(b, '\n'))
}
