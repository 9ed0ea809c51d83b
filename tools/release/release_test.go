package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// writeFiles creates files (relative path to content) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// sampleRepo is a workspace shaped like this repository: a core module at
// the root, a store requiring it, a command requiring both.
func sampleRepo(t *testing.T) string {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"go.work": "go 1.26.0\n\nuse (\n\t./cmd/tool\n\t.\n\t./stores/a\n)\n",
		"go.mod":  "module github.com/sessionkit/session\n\ngo 1.26.0\n",
		"core.go": "package session\n\n// Name is the library's name.\nconst Name = \"session\"\n",
		"stores/a/go.mod": "module github.com/sessionkit/session/stores/a\n\ngo 1.26.0\n\n" +
			"require github.com/sessionkit/session v0.3.0\n",
		"stores/a/a.go": "package a\n\nimport \"github.com/sessionkit/session\"\n\n// Name names the store.\nconst Name = session.Name + \"/a\"\n",
		"cmd/tool/go.mod": "module github.com/sessionkit/session/cmd/tool\n\ngo 1.26.0\n\n" +
			"require (\n\tgithub.com/sessionkit/session v0.3.0\n\tgithub.com/sessionkit/session/stores/a v0.3.0\n)\n",
		"cmd/tool/main.go": "package main\n\nimport (\n\t\"fmt\"\n\n\t\"github.com/sessionkit/session\"\n\t\"github.com/sessionkit/session/stores/a\"\n)\n\n" +
			"func main() { fmt.Println(session.Name, a.Name) }\n",
	})
	return root
}

func TestListInDependencyOrder(t *testing.T) {
	root := sampleRepo(t)
	var out bytes.Buffer
	if err := run([]string{"list", "-root", root}, &out); err != nil {
		t.Fatal(err)
	}
	want := ". github.com/sessionkit/session\nstores/a github.com/sessionkit/session/stores/a\ncmd/tool github.com/sessionkit/session/cmd/tool\n"
	if out.String() != want {
		t.Fatalf("list:\n%s\nwant:\n%s", out.String(), want)
	}
	out.Reset()
	if err := run([]string{"version", "-root", root}, &out); err != nil || out.String() != "v0.3.0\n" {
		t.Fatalf("version: %q %v", out.String(), err)
	}
	writeFiles(t, root, map[string]string{"go.mod": "module github.com/sessionkit/session\n\ngo 1.26.0\n\nrequire github.com/sessionkit/session/cmd/tool v0.3.0\n"})
	if err := run([]string{"list", "-root", root}, &out); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Fatalf("a cycle of requirements: %v", err)
	}
}

// The self-check: a replace put back into a module's go.mod, or a sibling
// required at another version, fails the check with the module named.
func TestCheckRefusesReplaceAndStaleVersions(t *testing.T) {
	root := sampleRepo(t)
	if err := run([]string{"check", "-root", root, "-version", "v0.3.0"}, os.Stdout); err != nil {
		t.Fatalf("a releasable workspace: %v", err)
	}
	if err := run([]string{"check", "-root", root, "-version", "v0.4.0"}, os.Stdout); err == nil || !strings.Contains(err.Error(), "not the release v0.4.0") {
		t.Fatalf("siblings at another version: %v", err)
	}
	mod := filepath.Join(root, "stores/a/go.mod")
	data, _ := os.ReadFile(mod)
	writeFiles(t, root, map[string]string{"stores/a/go.mod": string(data) + "\nreplace github.com/sessionkit/session => ../..\n"})
	err := run([]string{"check", "-root", root, "-version", "v0.3.0"}, os.Stdout)
	if err == nil || !strings.Contains(err.Error(), "stores/a/go.mod replaces github.com/sessionkit/session") {
		t.Fatalf("a replace directive: %v", err)
	}
	if err := run([]string{"set-version", "-root", root, "-version", "v0.4.0"}, os.Stdout); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"check", "-root", root, "-version", "v0.4.0"}, os.Stdout); err != nil {
		t.Fatalf("after set-version: %v", err)
	}
	if data, _ := os.ReadFile(mod); strings.Contains(string(data), "replace") || !strings.Contains(string(data), "github.com/sessionkit/session v0.4.0") {
		t.Fatalf("set-version left:\n%s", data)
	}
	// go.work points every module at the version to its directory, so
	// that whole-graph commands do not look the version up.
	if work, _ := os.ReadFile(filepath.Join(root, "go.work")); !strings.Contains(string(work), "github.com/sessionkit/session/stores/a v0.4.0 => ./stores/a") {
		t.Fatalf("go.work after set-version:\n%s", work)
	}
	cmd := exec.Command("go", "list", "-m", "all")
	cmd.Dir, cmd.Env = filepath.Join(root, "cmd/tool"), append(os.Environ(), "GOPROXY=off", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go list -m all in the workspace: %v\n%s", err, out)
	}
	for _, bad := range []string{"", "0.3.0", "v0.3", "v0.3.0+x"} {
		if err := run([]string{"check", "-root", root, "-version", bad}, os.Stdout); err == nil {
			t.Fatalf("version %q accepted", bad)
		}
	}
}

// The proxy serves the modules as if tagged: a consumer outside the
// workspace, with an empty module cache, fetches and builds them, and
// go install pkg@version works.
func TestProxyServesModulesAsTagged(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatal(err)
	}
	root := sampleRepo(t)
	proxyDir := t.TempDir()
	if err := run([]string{"proxy", "-root", root, "-version", "v0.3.0", "-out", proxyDir, "-tidy"}, os.Stdout); err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(root, "cmd/tool/go.sum"))
	if err != nil || !strings.Contains(string(sum), "github.com/sessionkit/session/stores/a v0.3.0 h1:") {
		t.Fatalf("tidy did not record the sibling's checksum: %v\n%s", err, sum)
	}
	if err := run([]string{"tidy-check", "-root", root, "-version", "v0.3.0"}, os.Stdout); err != nil {
		t.Fatalf("tidy-check after tidying: %v", err)
	}
	mod, _ := os.ReadFile(filepath.Join(root, "stores/a/go.mod"))
	writeFiles(t, root, map[string]string{"stores/a/go.mod": string(mod) + "\nrequire golang.org/x/mod v0.42.0\n"})
	if err := run([]string{"tidy-check", "-root", root, "-version", "v0.3.0"}, os.Stdout); err == nil || !strings.Contains(err.Error(), "stores/a") {
		t.Fatalf("tidy-check with an unused requirement: %v", err)
	}
	writeFiles(t, root, map[string]string{"stores/a/go.mod": string(mod)})
	consumer := t.TempDir()
	writeFiles(t, consumer, map[string]string{
		"go.mod":  "module example.com/consumer\n\ngo 1.26.0\n",
		"main.go": "package main\n\nimport \"github.com/sessionkit/session/stores/a\"\n\nfunc main() { println(a.Name) }\n",
	})
	env := append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "GOPROXY=file://"+filepath.ToSlash(proxyDir),
		"GONOSUMDB=github.com/sessionkit", "GOMODCACHE="+t.TempDir(), "GOBIN="+filepath.Join(consumer, "bin"))
	goCmd := func(dir string, args ...string) string {
		t.Helper()
		cmd := exec.Command("go", args...)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	goCmd(consumer, "get", "github.com/sessionkit/session/stores/a@v0.3.0")
	goCmd(consumer, "build", "-o", os.DevNull, ".")
	goCmd(consumer, "install", "github.com/sessionkit/session/cmd/tool@v0.3.0")
	out, err := exec.Command(filepath.Join(consumer, "bin", "tool")).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "session session/a" {
		t.Fatalf("installed tool: %v %q", err, out)
	}
	// The module cache is read-only; let t.TempDir remove it.
	goCmd(consumer, "clean", "-modcache")
}
