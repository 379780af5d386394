package config

import (
	"os"
	"testing"
)

func TestStoreDefaultsToSQLiteOnThisHost(t *testing.T) {
	cfg, err := parse(t, "models:\n  tiny: {model: tiny.gguf}\n")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Store.Driver != StoreSQLite || cfg.Store.Path == "" || cfg.Store.Replica != "" {
		t.Fatalf("store: %+v, want sqlite with a path", cfg.Store)
	}
}

func TestStorePostgresReadsItsDSNFromTheEnvironment(t *testing.T) {
	t.Setenv("CUSTOS_TEST_PG", " postgres://custos@db:5432/custos \n")
	cfg, err := parse(t, "models:\n  tiny: {model: tiny.gguf}\nstore: {driver: postgres, dsn_env: CUSTOS_TEST_PG, replica: gw-1}\n")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Store.DSN != "postgres://custos@db:5432/custos" || cfg.Store.Replica != "gw-1" || cfg.Store.Path != "" {
		t.Fatalf("store: %+v", cfg.Store)
	}
}

func TestStorePostgresReplicaDefaultsToTheHostName(t *testing.T) {
	t.Setenv("CUSTOS_TEST_PG", "postgres://db/custos")
	cfg, err := parse(t, "models:\n  tiny: {model: tiny.gguf}\nstore: {driver: postgres, dsn_env: CUSTOS_TEST_PG}\n")
	if err != nil {
		t.Fatal(err)
	}
	if host, _ := os.Hostname(); cfg.Store.Replica != host {
		t.Fatalf("replica %q, want the host name %q", cfg.Store.Replica, host)
	}
}

func TestStorePostgresWithoutItsDSNRefused(t *testing.T) {
	_, err := parse(t, "models:\n  tiny: {model: tiny.gguf}\nstore: {driver: postgres}\n")
	wantProblem(t, err, "store.dsn_env", "required")
	t.Setenv("CUSTOS_TEST_PG_EMPTY", "")
	_, err = parse(t, "models:\n  tiny: {model: tiny.gguf}\nstore: {driver: postgres, dsn_env: CUSTOS_TEST_PG_EMPTY}\n")
	wantProblem(t, err, "store.dsn_env", "CUSTOS_TEST_PG_EMPTY is not set")
}

func TestStoreKeysOfTheOtherDriverRefused(t *testing.T) {
	t.Setenv("CUSTOS_TEST_PG", "postgres://db/custos")
	_, err := parse(t, "models:\n  tiny: {model: tiny.gguf}\nstore: {driver: postgres, dsn_env: CUSTOS_TEST_PG, path: x.db}\n")
	wantProblem(t, err, "store.path", "for driver sqlite")
	_, err = parse(t, "models:\n  tiny: {model: tiny.gguf}\nstore: {dsn_env: CUSTOS_TEST_PG}\n")
	wantProblem(t, err, "store.dsn_env", "for driver postgres")
	_, err = parse(t, "models:\n  tiny: {model: tiny.gguf}\nstore: {path: x.db, replica: gw-1}\n")
	wantProblem(t, err, "store.replica", "for driver postgres")
}

func TestStoreUnknownDriverRefused(t *testing.T) {
	_, err := parse(t, "models:\n  tiny: {model: tiny.gguf}\nstore: {driver: redis}\n")
	wantProblem(t, err, "store.driver", `"redis" is not one of sqlite, postgres`)
}
