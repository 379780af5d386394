package auth

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestAllow(t *testing.T) {
	k := NewKeys("alpha", "", "beta")
	cases := []struct {
		header string
		want   bool
	}{
		{"Bearer alpha", true},
		{"bearer beta", true},
		{"Bearer  beta ", true},
		{"Bearer gamma", false},
		{"Bearer alph", false},
		{"Bearer alphaa", false},
		{"Basic alpha", false},
		{"alpha", false},
		{"Bearer ", false},
		{"", false},
	}
	for _, tc := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		if tc.header != "" {
			r.Header.Set("Authorization", tc.header)
		}
		if got := k.Allow(r); got != tc.want {
			t.Errorf("%q: got %v, want %v", tc.header, got, tc.want)
		}
	}
}

func TestEmpty(t *testing.T) {
	if !NewKeys().Empty() || !NewKeys("").Empty() || NewKeys("x").Empty() {
		t.Fatal("Empty is wrong")
	}
	var nilKeys *Keys
	if !nilKeys.Empty() {
		t.Fatal("nil keys are empty")
	}
}

func TestRequire(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) })
	h := Require(NewKeys("k1"), ok)
	for _, tc := range []struct {
		header string
		status int
	}{{"Bearer k1", 204}, {"Bearer k2", 401}, {"", 401}} {
		r := httptest.NewRequest("POST", "/v1/chat/completions", nil)
		if tc.header != "" {
			r.Header.Set("Authorization", tc.header)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != tc.status {
			t.Errorf("%q: got %d", tc.header, rec.Code)
		}
		if tc.status == 401 {
			var e struct {
				Error struct{ Message, Type, Code string } `json:"error"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code != "invalid_api_key" || strings.Contains(rec.Body.String(), "k1") {
				t.Errorf("401 body: %s", rec.Body)
			}
		}
	}
	rec := httptest.NewRecorder()
	Require(NewKeys(), ok).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 204 {
		t.Fatal("no keys must mean open")
	}
}
