package config

import (
	"net"
	"os"
	"strings"
)

// validateSecrets reads the admin token and the API keys, and refuses an
// admin API reachable from the network without a token.
func validateSecrets(c *Config, p *problems) {
	c.Admin.Token = readSecret(c, "admin.token_env", c.Admin.TokenEnv, "admin.token_file", c.Admin.TokenFile, p)
	if c.Admin.Token == "" && c.Admin.TokenEnv == "" && c.Admin.TokenFile == "" && !loopbackListen(c.Listen) {
		p.add("admin", "%s %s is not a loopback address: set admin.token_env or admin.token_file, "+
			"or the admin routes would be open to the network", c.listenFrom, c.Listen)
	}
	raw := readSecret(c, "auth.api_keys_env", c.Auth.APIKeysEnv, "auth.api_keys_file", c.Auth.APIKeysFile, p)
	c.Auth.APIKeys = parseKeys(raw)
	if (c.Auth.APIKeysEnv != "" || c.Auth.APIKeysFile != "") && len(c.Auth.APIKeys) == 0 && len(p.list) == 0 {
		p.add("auth", "no API keys found in the configured source")
	}
}

// readSecret reads a value from an environment variable or a file; giving
// both is a mistake, as is a source that is empty.
func readSecret(c *Config, envPath, env, filePath, file string, p *problems) string {
	switch {
	case env != "" && file != "":
		p.add(envPath, "give %s or %s, not both", envPath, filePath)
	case env != "":
		v := strings.TrimSpace(os.Getenv(env))
		if v == "" {
			p.add(envPath, "environment variable %s is not set", env)
		}
		return v
	case file != "":
		data, err := os.ReadFile(resolve(c.Dir, file))
		if err != nil {
			p.add(filePath, "cannot read %s: %v", file, err)
			return ""
		}
		v := strings.TrimSpace(string(data))
		if v == "" {
			p.add(filePath, "%s is empty", file)
		}
		return v
	}
	return ""
}

// parseKeys splits keys on commas, white space and newlines; lines
// starting with # are comments.
func parseKeys(raw string) []string {
	var keys []string
	for _, line := range strings.Split(raw, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		for _, k := range strings.FieldsFunc(line, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\r' }) {
			keys = append(keys, k)
		}
	}
	return keys
}

func loopbackListen(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return true // reported by validateListen
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
