package llama

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"custos/internal/llama/llamatest"
)

// fakeLibDir makes a folder holding empty files with the given names.
func fakeLibDir(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// assertFixHint checks that a library-folder error says what to do about it.
func assertFixHint(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	if !errors.Is(err, ErrLibrariesNotFound) {
		t.Errorf("error %q does not wrap ErrLibrariesNotFound", err)
	}
	for _, want := range []string{"make deps", LibDirEnv, "--lib-dir", Release} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestResolveLibDirFlagComesFirst(t *testing.T) {
	flagDir := fakeLibDir(t, libGGMLBase, libGGML, libLlama)
	t.Setenv(LibDirEnv, fakeLibDir(t, libGGMLBase, libGGML, libLlama))
	got, err := ResolveLibDir(flagDir)
	if err != nil || got != flagDir {
		t.Fatalf("ResolveLibDir(flag) = %q, %v; want %q", got, err, flagDir)
	}
}

func TestResolveLibDirEnvComesBeforeDefaults(t *testing.T) {
	envDir := fakeLibDir(t, libGGMLBase, libGGML, libLlama)
	t.Setenv(LibDirEnv, envDir)
	got, err := ResolveLibDir("")
	if err != nil || got != envDir {
		t.Fatalf("ResolveLibDir with %s set = %q, %v; want %q", LibDirEnv, got, err, envDir)
	}
}

func TestResolveLibDirFindsRepositoryLibrariesByDefault(t *testing.T) {
	want := llamatest.LibDir(t)
	if os.Getenv(LibDirEnv) != "" {
		t.Skip(LibDirEnv + " is set, so the default folders are not consulted")
	}
	got, err := ResolveLibDir("")
	if err != nil {
		t.Fatal(err)
	}
	if got != filepath.Clean(want) {
		t.Fatalf("ResolveLibDir(\"\") = %q, want the repository's %q", got, want)
	}
}

func TestResolveLibDirExplicitEmptyFolderSaysWhatToRun(t *testing.T) {
	_, err := ResolveLibDir(t.TempDir())
	assertFixHint(t, err)
	if !strings.Contains(err.Error(), libLlama) {
		t.Errorf("error %q does not name the missing %s", err, libLlama)
	}
}

func TestResolveLibDirExplicitMissingFolderSaysWhatToRun(t *testing.T) {
	t.Setenv(LibDirEnv, filepath.Join(t.TempDir(), "absent"))
	_, err := ResolveLibDir("")
	assertFixHint(t, err)
}

func TestResolveLibDirWrongReleaseNamesBothVersions(t *testing.T) {
	dir := fakeLibDir(t, libGGMLBase, "libggml.v0.4.2.so", "libllama.v0.4.2.so")
	_, err := ResolveLibDir(dir)
	assertFixHint(t, err)
	if !strings.Contains(err.Error(), "libllama.v0.4.2.so") || !strings.Contains(err.Error(), libLlama) {
		t.Errorf("error %q should name the release found and the one needed", err)
	}
}

func TestInitRejectsASecondLibraryFolder(t *testing.T) {
	initLibraries(t)
	other := fakeLibDir(t, libGGMLBase, libGGML, libLlama)
	if err := Init(other); err == nil || !strings.Contains(err.Error(), "already loaded") {
		t.Fatalf("Init(another folder) after Init = %v; want an 'already loaded' error", err)
	}
	if err := Init(llamatest.LibDir(t)); err != nil {
		t.Fatalf("Init(same folder) again = %v; want nil (idempotent)", err)
	}
}
