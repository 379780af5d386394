package resumable

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// generation is a streaming handler the test drives event by event, standing for a model writing tokens.
type generation struct {
	events  chan string   // each is written and flushed as one SSE event
	ended   chan struct{} // closed when the handler returns
	ctxDone chan struct{} // closed if the handler's context ended before its last event
	sawID   chan string   // the conversation header the handler saw
	once    sync.Once
}

func newGeneration() *generation {
	return &generation{events: make(chan string), ended: make(chan struct{}), ctxDone: make(chan struct{}), sawID: make(chan string, 1)}
}

func (g *generation) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer close(g.ended)
	// A write that fails because the context ended (the store stopped the session) counts as the end too.
	defer func() {
		if r.Context().Err() != nil {
			g.once.Do(func() { close(g.ctxDone) })
		}
	}()
	g.sawID <- r.Header.Get(HeaderName)
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	if rc.Flush() != nil {
		return
	}
	for {
		select {
		case ev, ok := <-g.events:
			if !ok {
				return
			}
			if _, err := fmt.Fprintf(w, "data: %s\n\n", ev); err != nil {
				return
			}
			if rc.Flush() != nil {
				return
			}
		case <-r.Context().Done():
			return
		}
	}
}

func (g *generation) send(t *testing.T, ev string) {
	t.Helper()
	select {
	case g.events <- ev:
	case <-time.After(5 * time.Second):
		t.Fatalf("the handler did not take event %q within 5s: it has stopped", ev)
	}
}

func waitClosed(t *testing.T, c <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: not within 5s", what)
	}
}

// server serves next through the store's Wrap, and the store's routes. Each generation request's own
// context, which ends when its client leaves, is sent on clientContexts when there is room.
func server(t *testing.T, st *Store, next http.Handler) *httptest.Server {
	return serverSeeingClients(t, st, next, nil)
}

func serverSeeingClients(t *testing.T, st *Store, next http.Handler, clientContexts chan context.Context) *httptest.Server {
	t.Helper()
	h := Handlers{Store: st, MaxBodyBytes: 1 << 20, Error: func(w http.ResponseWriter, status int, code, message string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": message, "type": "invalid_request_error", "code": code}})
		_, _ = w.Write(b)
	}}
	mux := http.NewServeMux()
	wrapped := st.Wrap(next)
	mux.HandleFunc("POST /generate", func(w http.ResponseWriter, r *http.Request) {
		select {
		case clientContexts <- r.Context():
		default:
		}
		wrapped.ServeHTTP(w, r)
	})
	mux.HandleFunc("GET /v1/stream", h.Replay)
	mux.HandleFunc("DELETE /v1/stream", h.Stop)
	mux.HandleFunc("POST /v1/streams/lookup", h.Lookup)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// startStream posts a generation with the conversation header and returns its open response.
func startStream(t *testing.T, ctx context.Context, srv *httptest.Server, conv string) *http.Response {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/generate", strings.NewReader("{}"))
	req.Header.Set(HeaderName, conv)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("starting the stream: %v", err)
	}
	return resp
}

func readEvent(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("reading an event: %v", err)
	}
	_, _ = r.ReadString('\n')
	return strings.TrimSpace(line)
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

func TestAStreamGoesOnWhenItsClientLeavesAndIsReadAgain(t *testing.T) {
	st := NewStore()
	g := newGeneration()
	clients := make(chan context.Context, 1)
	srv := serverSeeingClients(t, st, g, clients)
	ctx, leave := context.WithCancel(context.Background())
	resp := startStream(t, ctx, srv, "conv-1")
	g.send(t, "one")
	if ev := readEvent(t, bufio.NewReader(resp.Body)); ev != "data: one" {
		t.Fatalf("first event %q, want data: one", ev)
	}
	leave()
	resp.Body.Close()
	waitClosed(t, (<-clients).Done(), "the server seeing its client leave")
	// The handler must keep writing after its client left.
	g.send(t, "two")
	g.send(t, "three")
	select {
	case <-g.ctxDone:
		t.Fatal("the generation's context ended when the client left")
	default:
	}
	close(g.events)
	waitClosed(t, g.ended, "the generation ending")
	status, body := get(t, srv.URL+"/v1/stream?conv_id=conv-1")
	if want := "data: one\n\ndata: two\n\ndata: three\n\n"; status != http.StatusOK || body != want {
		t.Fatalf("replay: %d %q, want 200 %q", status, body, want)
	}
	from := len("data: one\n\n")
	if status, body := get(t, fmt.Sprintf("%s/v1/stream?conv_id=conv-1&from=%d", srv.URL, from)); body != "data: two\n\ndata: three\n\n" {
		t.Fatalf("replay from %d: %d %q", from, status, body)
	}
}

func TestReplayFollowsAStreamStillBeingWritten(t *testing.T) {
	st := NewStore()
	g := newGeneration()
	srv := server(t, st, g)
	resp := startStream(t, context.Background(), srv, "live")
	defer resp.Body.Close()
	g.send(t, "a")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v1/stream?conv_id=live", nil)
	replay, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer replay.Body.Close()
	r := bufio.NewReader(replay.Body)
	if ev := readEvent(t, r); ev != "data: a" {
		t.Fatalf("replayed %q, want data: a", ev)
	}
	g.send(t, "b")
	if ev := readEvent(t, r); ev != "data: b" {
		t.Fatalf("followed %q, want data: b", ev)
	}
	close(g.events)
	if rest, err := io.ReadAll(r); err != nil || len(rest) != 0 {
		t.Fatalf("after the end the replay gave %q, %v; want its end", rest, err)
	}
}

func TestStopCancelsTheGenerationAndForgetsTheSession(t *testing.T) {
	st := NewStore()
	g := newGeneration()
	srv := server(t, st, g)
	resp := startStream(t, context.Background(), srv, "c")
	defer resp.Body.Close()
	g.send(t, "x")
	req, _ := http.NewRequest(http.MethodDelete, srv.URL+"/v1/stream?conv_id=c", nil)
	del, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	del.Body.Close()
	if del.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE answered %d, want 204", del.StatusCode)
	}
	waitClosed(t, g.ctxDone, "the generation's context ending on DELETE")
	if status, _ := get(t, srv.URL+"/v1/stream?conv_id=c"); status != http.StatusNotFound {
		t.Fatalf("a stopped stream answered %d, want 404", status)
	}
}

func TestANewRequestOfTheConversationCancelsThePrevious(t *testing.T) {
	st := NewStore()
	first, second := newGeneration(), newGeneration()
	var calls int
	var mu sync.Mutex
	srv := server(t, st, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		g := first
		if calls == 2 {
			g = second
		}
		mu.Unlock()
		g.ServeHTTP(w, r)
	}))
	a := startStream(t, context.Background(), srv, "same")
	defer a.Body.Close()
	first.send(t, "old")
	b := startStream(t, context.Background(), srv, "same")
	defer b.Body.Close()
	waitClosed(t, first.ctxDone, "the superseded generation being cancelled")
	second.send(t, "new")
	close(second.events)
	if _, body := get(t, srv.URL+"/v1/stream?conv_id=same"); body != "data: new\n\n" {
		t.Fatalf("the conversation replays %q, want only the new answer", body)
	}
}

func TestAnAnswerThatIsNotAStreamIsNotKept(t *testing.T) {
	st := NewStore()
	srv := server(t, st, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":{"message":"bad"}}`)
	}))
	resp := startStream(t, context.Background(), srv, "err")
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "bad") {
		t.Fatalf("the client got %d %q, want the handler's 400", resp.StatusCode, b)
	}
	if status, _ := get(t, srv.URL+"/v1/stream?conv_id=err"); status != http.StatusNotFound {
		t.Fatalf("an error answer was kept: replay answered %d, want 404", status)
	}
}

func TestTheHeaderIsNotPassedOn(t *testing.T) {
	g := newGeneration()
	srv := server(t, NewStore(), g)
	resp := startStream(t, context.Background(), srv, "h")
	defer resp.Body.Close()
	select {
	case id := <-g.sawID:
		if id != "" {
			t.Fatalf("the handler saw %s: %q; a backend behind would keep a second copy", HeaderName, id)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the handler did not start within 5s")
	}
	close(g.events)
}

func TestAnOffsetBeforeTheKeptBytesIsLost(t *testing.T) {
	st := NewStore()
	st.SessionBytes = 16
	g := newGeneration()
	srv := server(t, st, g)
	resp := startStream(t, context.Background(), srv, "big")
	defer resp.Body.Close()
	g.send(t, "0123456789") // 18 bytes with its framing: 2 dropped
	close(g.events)
	waitClosed(t, g.ended, "the generation ending")
	if status, body := get(t, srv.URL+"/v1/stream?conv_id=big&from=0"); status != http.StatusBadRequest || !strings.Contains(body, "offset lost") {
		t.Fatalf("from 0: %d %q, want 400 offset lost", status, body)
	}
	if status, body := get(t, srv.URL+"/v1/stream?conv_id=big&from=2"); status != http.StatusOK || body != "ta: 0123456789\n\n" {
		t.Fatalf("from 2: %d %q", status, body)
	}
}

func TestFinishedSessionsExpireAndTheOldestGoFirstPastTheBudget(t *testing.T) {
	st := NewStore()
	now := time.Unix(1_000_000, 0)
	st.Now = func() time.Time { return now }
	finished := func(id string, n int) {
		s := st.start(id, func() {})
		_, _ = s.Write(make([]byte, n))
		s.finish(now)
	}
	st.BudgetBytes = 250
	finished("old", 100)
	now = now.Add(time.Second)
	finished("mid", 100)
	now = now.Add(time.Second)
	finished("new", 100) // 300 bytes finished: "old" must go
	if st.get("old") != nil || st.get("mid") == nil || st.get("new") == nil {
		t.Fatalf("past the budget the store kept old=%v mid=%v new=%v, want only mid and new",
			st.get("old") != nil, st.get("mid") != nil, st.get("new") != nil)
	}
	live := st.start("live", func() {})
	now = now.Add(DefaultTTL)
	if st.get("mid") != nil || st.get("new") != nil {
		t.Fatal("finished sessions outlived their TTL")
	}
	if st.get("live") != live {
		t.Fatal("a live session was dropped by the TTL of finished ones")
	}
}

func TestLookupAnswersOnlyTheNamedConversations(t *testing.T) {
	st := NewStore()
	srv := server(t, st, newGeneration())
	st.start("mine", func() {})
	st.start("mine::model-b", func() {})
	st.start("someone-else", func() {}).finish(time.Now())
	post := func(body string) (int, string) {
		resp, err := http.Post(srv.URL+"/v1/streams/lookup", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	status, body := post(`{"conversation_ids":["mine", 7, ""]}`)
	var got []map[string]any
	if err := json.Unmarshal([]byte(body), &got); status != http.StatusOK || err != nil {
		t.Fatalf("lookup: %d %q (%v)", status, body, err)
	}
	ids := map[string]bool{}
	for _, e := range got {
		ids[e["conversation_id"].(string)] = true
		for _, k := range []string{"is_done", "total_bytes", "started_at", "completed_at"} {
			if _, ok := e[k]; !ok {
				t.Errorf("lookup entry lacks %s: %v", k, e)
			}
		}
	}
	if len(got) != 2 || !ids["mine"] || !ids["mine::model-b"] {
		t.Fatalf("lookup of mine gave %v, want mine and mine::model-b only", ids)
	}
	if status, body := post(`{"conversation_ids":[]}`); status != http.StatusOK || strings.TrimSpace(body) != "[]" {
		t.Fatalf("an empty lookup: %d %q, want 200 []", status, body)
	}
	if status, body := post(`{"conversation_ids":`); status != http.StatusBadRequest || !strings.Contains(body, "invalid body") {
		t.Fatalf("a broken body: %d %q, want 400 invalid body", status, body)
	}
}

func TestBadReplayAndStopRequestsAreRefused(t *testing.T) {
	st := NewStore()
	srv := server(t, st, newGeneration())
	st.start("x", func() {})
	for _, c := range []struct {
		url    string
		status int
		says   string
	}{
		{"/v1/stream", http.StatusBadRequest, "conv_id"},
		{"/v1/stream?conv_id=nobody", http.StatusNotFound, "not found"},
		{"/v1/stream?conv_id=x&from=abc", http.StatusBadRequest, "from"},
		{"/v1/stream?conv_id=x&from=-1", http.StatusBadRequest, "from"},
	} {
		if status, body := get(t, srv.URL+c.url); status != c.status || !strings.Contains(body, c.says) {
			t.Errorf("GET %s: %d %q, want %d naming %q", c.url, status, body, c.status, c.says)
		}
	}
	req, _ := http.NewRequest(http.MethodDelete, srv.URL+"/v1/stream", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("DELETE without conv_id: %d, want 400", resp.StatusCode)
	}
}
