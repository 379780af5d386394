package auth

import (
	"net/http/httptest"
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
