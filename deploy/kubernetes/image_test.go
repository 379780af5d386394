package kubernetes

import (
	"encoding/json"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// dockerfile is what the checks read of the Dockerfile's final stage.
type dockerfile struct {
	user       string
	expose     []int32
	entrypoint []string
	copies     map[string]string // destination → source, of the final stage
	title      string            // LABEL org.opencontainers.image.title
	staticGo   bool              // some stage builds cmd/custos with CGO_ENABLED=0
}

var continuation = regexp.MustCompile(`\\\n`)

func readDockerfile(t *testing.T) dockerfile {
	t.Helper()
	data, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var d dockerfile
	for _, line := range strings.Split(continuation.ReplaceAllString(string(data), " "), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		instr, rest := strings.ToUpper(fields[0]), strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), fields[0]))
		switch instr {
		case "FROM": // a new stage: only the last one's facts count
			d = dockerfile{staticGo: d.staticGo, copies: map[string]string{}}
		case "RUN":
			if strings.Contains(rest, "CGO_ENABLED=0") && strings.Contains(rest, "./cmd/custos") {
				d.staticGo = true
			}
		case "USER":
			d.user = rest
		case "EXPOSE":
			for _, p := range strings.Fields(rest) {
				n, err := strconv.Atoi(strings.TrimSuffix(p, "/tcp"))
				if err != nil {
					t.Fatalf("Dockerfile: EXPOSE %s", p)
				}
				d.expose = append(d.expose, int32(n))
			}
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(rest), &d.entrypoint); err != nil {
				t.Fatalf("Dockerfile: ENTRYPOINT is not an exec-form list: %v", err)
			}
		case "COPY":
			args := slices.DeleteFunc(fields[1:], func(a string) bool { return strings.HasPrefix(a, "--") })
			if len(args) == 2 {
				d.copies[args[1]] = args[0]
			}
		case "LABEL":
			if v, ok := strings.CutPrefix(rest, "org.opencontainers.image.title="); ok {
				d.title = strings.Trim(v, `"`)
			}
		}
	}
	return d
}

// imageRepository is an image reference's name without registry and tag.
func imageRepository(ref string) string {
	ref = path.Base(ref)
	if i := strings.IndexAny(ref, ":@"); i >= 0 {
		ref = ref[:i]
	}
	return ref
}

// TestTheDockerfileBuildsWhatTheManifestsRun: a static binary, a non-root
// user, the llama.cpp libraries where custos looks for them (lib/llama
// beside the binary's folder), and the binary, port and image name the
// manifests use.
func TestTheDockerfileBuildsWhatTheManifestsRun(t *testing.T) {
	d := readDockerfile(t)
	if !d.staticGo {
		t.Error("no stage builds ./cmd/custos with CGO_ENABLED=0")
	}
	uid, _, _ := strings.Cut(d.user, ":")
	if uid == "" || uid == "0" || uid == "root" {
		t.Errorf("the final stage runs as %q; want a non-root user", d.user)
	}
	if len(d.entrypoint) == 0 {
		t.Fatal("no ENTRYPOINT")
	}
	bin := d.entrypoint[0]
	if _, ok := d.copies[bin]; !ok {
		t.Errorf("the ENTRYPOINT %s is not copied into the final stage", bin)
	}
	libs := path.Join(path.Dir(path.Dir(bin)), "lib", "llama")
	if src, ok := d.copies[libs]; !ok || !strings.HasSuffix(src, "lib/llama") {
		t.Errorf("the llama.cpp libraries are not copied to %s, where custos finds them for %s", libs, bin)
	}
	for _, tr := range tiers(t, loadManifests(t)) {
		if got := imageRepository(tr.container.Image); got != d.title {
			t.Errorf("%s: image %s; the Dockerfile builds %s", tr.name, tr.container.Image, d.title)
		}
		if len(tr.container.Command) == 0 || tr.container.Command[0] != bin {
			t.Errorf("%s: runs %q; the image's binary is %s", tr.name, tr.container.Command, bin)
		}
		if port := tr.listenPort(t); !slices.Contains(d.expose, port) {
			t.Errorf("%s: listens on %d; the Dockerfile exposes %v", tr.name, port, d.expose)
		}
		uidNum, err := strconv.ParseInt(uid, 10, 64)
		if sc := tr.template.Spec.SecurityContext; err == nil && sc != nil && sc.RunAsUser != nil && *sc.RunAsUser != uidNum {
			t.Errorf("%s: runAsUser %d; the image's user is %s", tr.name, *sc.RunAsUser, uid)
		}
	}
}
