package store

import (
	"os"
	"testing"

	"custos/internal/pgtest"
)

// TestMain stops the PostgreSQL server the tests that do not stop it
// share.
func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.StopShared()
	os.Exit(code)
}
