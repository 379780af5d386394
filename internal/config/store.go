package config

import (
	"os"
	"strings"
)

// validateStore checks the store's keys against its driver, resolves the
// SQLite path and reads the PostgreSQL connection string: a key of the
// other driver is a mistake, never ignored.
func validateStore(c *Config, p *problems) {
	switch c.Store.Driver {
	case StoreSQLite:
		if c.Store.DSNEnv != "" {
			p.add("store.dsn_env", "is for driver postgres, not sqlite")
		}
		if c.Store.Replica != "" {
			p.add("store.replica", "is for driver postgres, not sqlite: a SQLite store has one replica")
		}
		c.Store.Path = resolve(c.Dir, c.Store.Path)
	case StorePostgres:
		if c.Store.Path != "" {
			p.add("store.path", "is for driver sqlite, not postgres")
		}
		if c.Store.DSNEnv == "" {
			p.add("store.dsn_env", "required with driver postgres: the environment variable holding the connection string")
			break
		}
		c.Store.DSN = strings.TrimSpace(os.Getenv(c.Store.DSNEnv))
		if c.Store.DSN == "" {
			p.add("store.dsn_env", "environment variable %s is not set", c.Store.DSNEnv)
		}
		if strings.TrimSpace(c.Store.Replica) == "" {
			p.add("store.replica", "must not be empty")
		}
	default:
		p.add("store.driver", "%q is not one of sqlite, postgres", c.Store.Driver)
	}
}
