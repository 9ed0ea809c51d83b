package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// goEnvAgainst is the environment of a go command that resolves the
// repository's modules from the file-based proxy at dir, without the
// workspace, and everything else as usual. The module index is off: it
// caches the packages of a module cache directory by its path, as if its
// contents could never change, and a copy of the working tree replaced in
// the cache under the same version would be read with an earlier copy's
// packages.
func goEnvAgainst(dir string) []string {
	upstream := os.Getenv("GOPROXY")
	if upstream == "" {
		upstream = "https://proxy.golang.org,direct"
	}
	return append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "GODEBUG=goindex=0",
		"GOPROXY=file://"+filepath.ToSlash(dir)+","+upstream, "GONOSUMDB="+ownPrefix)
}

// purgeOwnModules removes this repository's modules from the module
// cache: versions fetched from a proxy built from the working tree are not
// the published ones, and a later command must not find a stale copy.
func purgeOwnModules() error {
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		return fmt.Errorf("go env GOMODCACHE: %w", err)
	}
	cache := strings.TrimSpace(string(out))
	if cache == "" {
		return nil
	}
	// The core's own cache directory is "github.com/sessionkit/session@v0.1.0",
	// beside the directory of the other modules.
	dirs, _ := filepath.Glob(filepath.Join(cache, ownPrefix+"@*"))
	dirs = append(dirs, filepath.Join(cache, ownPrefix), filepath.Join(cache, "cache", "download", ownPrefix))
	for _, d := range dirs {
		if err := removeReadOnly(d); err != nil {
			return err
		}
	}
	return nil
}

// removeReadOnly removes a tree of the module cache, which Go makes
// read-only.
func removeReadOnly(dir string) error {
	_ = filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err == nil && e.IsDir() {
			_ = os.Chmod(p, 0o755)
		}
		return nil
	})
	return os.RemoveAll(dir)
}

// stripOwnSums drops the lines of this repository's modules from dir's
// go.sum, if it has one (see withoutOwnSums).
func stripOwnSums(dir string) error {
	sum := filepath.Join(dir, "go.sum")
	data, err := os.ReadFile(sum)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	return os.WriteFile(sum, withoutOwnSums(data), 0o644)
}

// withoutOwnSums drops the go.sum lines of this repository's modules: they
// are the checksums of the last release's tags and change with every
// commit of the working tree.
func withoutOwnSums(data []byte) []byte {
	var kept []byte
	for _, line := range bytes.SplitAfter(data, []byte("\n")) {
		if !bytes.HasPrefix(line, []byte(ownPrefix+" ")) && !bytes.HasPrefix(line, []byte(ownPrefix+"/")) {
			kept = append(kept, line...)
		}
	}
	return kept
}

// tidyCheck reports every module whose go.mod, or go.sum apart from the
// lines of sibling modules, go mod tidy would change when the module is
// built on its own (without go.work), as a user fetching it builds it.
func tidyCheck(mods []workspaceModule, version string) error {
	work, err := os.MkdirTemp("", "tidy-check")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	defer onInterrupt(func() { os.RemoveAll(work) })()
	proxyDir := filepath.Join(work, "proxy")
	if err := proxy(mods, version, proxyDir, false); err != nil {
		return err
	}
	if err := purgeOwnModules(); err != nil {
		return err
	}
	defer purgeOwnModules()
	defer onInterrupt(func() { purgeOwnModules() })()
	var untidy []string
	for i, m := range mods {
		mod, err := os.ReadFile(filepath.Join(m.Dir, "go.mod"))
		if err != nil {
			return err
		}
		sum, err := os.ReadFile(filepath.Join(m.Dir, "go.sum"))
		if err != nil && !os.IsNotExist(err) {
			return err
		}
		modCopy := filepath.Join(work, fmt.Sprintf("m%d.mod", i))
		sumCopy := strings.TrimSuffix(modCopy, ".mod") + ".sum"
		if err := os.WriteFile(modCopy, mod, 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(sumCopy, withoutOwnSums(sum), 0o644); err != nil {
			return err
		}
		cmd := exec.Command("go", "mod", "tidy", "-modfile="+modCopy)
		cmd.Dir, cmd.Env = m.Dir, goEnvAgainst(proxyDir)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go mod tidy in %s: %w\n%s", m.Dir, err, out)
		}
		tidyMod, err := os.ReadFile(modCopy)
		if err != nil {
			return err
		}
		tidySum, err := os.ReadFile(sumCopy)
		if err != nil {
			return err
		}
		if !bytes.Equal(tidyMod, mod) || !bytes.Equal(withoutOwnSums(tidySum), withoutOwnSums(sum)) {
			untidy = append(untidy, m.Dir)
		}
	}
	if len(untidy) > 0 {
		return fmt.Errorf("go.mod/go.sum not tidy when built without go.work (fix: go -C tools/release run . tidy -root .. -version %s) in:\n  %s", version, strings.Join(untidy, "\n  "))
	}
	return nil
}
