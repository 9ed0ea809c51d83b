// Command release prepares and checks releases of the repository's Go
// modules (see scripts/release.sh and scripts/release-check.sh). It reads
// the modules from the repository's go.work and works on them in
// dependency order.
//
//	release list                              print "DIR MODULE" per module
//	release version                           print the version the modules require their siblings at
//	release check -version V                  fail if a module replaces a sibling or requires one at another version
//	release set-version -version V            make every module require its siblings at V, without replace
//	release proxy -version V -out DIR [-tidy] write every module at V into a file-based module proxy
//	release tidy -version V                   go mod tidy every module without go.work (siblings at V from the tree; their checksums left out)
//	release tidy-check -version V             fail if a module's go.mod/go.sum is not tidy without go.work
//
// With -tidy, proxy first runs `go mod tidy` in each module against the
// proxy built so far (GOWORK=off), so that each go.sum records the
// checksums of its sibling modules as they will be tagged; the modules'
// own go.sum lines for siblings are dropped first, as they change with
// every commit.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/semver"
)

// ownPrefix is the path prefix of this repository's modules.
const ownPrefix = "github.com/sessionkit/session"

func main() {
	stop := handleInterrupts()
	defer stop()
	if err := run(os.Args[1:], os.Stdout); err != nil {
		stop()
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: release list|check|proxy [flags]")
	}
	fs := flag.NewFlagSet("release "+args[0], flag.ContinueOnError)
	root := fs.String("root", ".", "repository root (holding go.work)")
	version := fs.String("version", "", "the version being released, e.g. v0.1.0")
	out := fs.String("out", "", "proxy: directory of the file-based module proxy")
	tidy := fs.Bool("tidy", false, "proxy: run go mod tidy in each module first")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	absRoot, err := filepath.Abs(*root)
	if err != nil {
		return err
	}
	mods, err := readWorkspace(absRoot)
	if err != nil {
		return err
	}
	if args[0] == "version" {
		v, err := requiredVersion(mods)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, v)
		return nil
	}
	if args[0] != "list" && (!semver.IsValid(*version) || semver.Canonical(*version) != *version) {
		return fmt.Errorf("-version %q is not a canonical semantic version (vMAJOR.MINOR.PATCH)", *version)
	}
	switch args[0] {
	case "list":
		for _, m := range mods {
			rel, _ := filepath.Rel(absRoot, m.Dir)
			fmt.Fprintf(stdout, "%s %s\n", filepath.ToSlash(rel), m.Path)
		}
		return nil
	case "check":
		return check(mods, *version)
	case "tidy":
		dir, err := os.MkdirTemp("", "release-tidy")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if err := proxy(mods, *version, dir, true); err != nil {
			return err
		}
		// Between releases the go.sum files carry no checksums of sibling
		// modules: they would change with every commit (release.sh adds
		// them for the release commit).
		for _, m := range mods {
			if err := stripOwnSums(m.Dir); err != nil {
				return err
			}
		}
		return nil
	case "tidy-check":
		return tidyCheck(mods, *version)
	case "set-version":
		if err := setVersion(mods, *version); err != nil {
			return err
		}
		return setWorkReplaces(absRoot, mods, *version)
	case "proxy":
		if *out == "" {
			return errors.New("proxy needs -out")
		}
		return proxy(mods, *version, *out, *tidy)
	}
	return fmt.Errorf("unknown command %q", args[0])
}

// requiredVersion returns the one version at which the modules require
// their siblings (the current or coming release).
func requiredVersion(mods []workspaceModule) (string, error) {
	seen := map[string]bool{}
	var versions []string
	for _, m := range mods {
		for _, v := range m.SiblingVersions {
			if !seen[v] {
				seen[v] = true
				versions = append(versions, v)
			}
		}
	}
	if len(versions) != 1 {
		return "", fmt.Errorf("the modules require their siblings at %d versions (%s), want one", len(versions), strings.Join(versions, ", "))
	}
	return versions[0], nil
}

// check reports every module that could not be fetched as published: a
// replace directive (ignored in dependencies, refused by go install
// pkg@version) or a sibling required at a version other than the release.
func check(mods []workspaceModule, version string) error {
	var problems []string
	for _, m := range mods {
		for _, r := range m.Replaces {
			problems = append(problems, fmt.Sprintf("%s/go.mod replaces %s: published modules must not use replace (go.work serves local development)", m.Dir, r))
		}
		data, err := os.ReadFile(filepath.Join(m.Dir, "go.mod"))
		if err != nil {
			return err
		}
		f, err := modfile.Parse(filepath.Join(m.Dir, "go.mod"), data, nil)
		if err != nil {
			return err
		}
		for _, r := range f.Require {
			if strings.HasPrefix(r.Mod.Path, ownPrefix) && r.Mod.Version != version {
				problems = append(problems, fmt.Sprintf("%s/go.mod requires %s@%s, not the release %s", m.Dir, r.Mod.Path, r.Mod.Version, version))
			}
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n"))
	}
	return nil
}

// setVersion rewrites every module's go.mod to require its sibling modules
// at version and drops the replace directives that point at siblings.
func setVersion(mods []workspaceModule, version string) error {
	for _, m := range mods {
		file := filepath.Join(m.Dir, "go.mod")
		data, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		f, err := modfile.Parse(file, data, nil)
		if err != nil {
			return err
		}
		for _, r := range f.Require {
			if strings.HasPrefix(r.Mod.Path, ownPrefix) {
				if err := f.AddRequire(r.Mod.Path, version); err != nil {
					return err
				}
			}
		}
		for _, r := range f.Replace {
			if strings.HasPrefix(r.Old.Path, ownPrefix) {
				if err := f.DropReplace(r.Old.Path, r.Old.Version); err != nil {
					return err
				}
			}
		}
		f.Cleanup()
		out, err := f.Format()
		if err != nil {
			return err
		}
		if err := os.WriteFile(file, out, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// setWorkReplaces points go.work's replace directives at the working tree
// for every module at version. Builds in the workspace use the workspace
// modules anyway, but commands that load the whole module graph (go list
// -m all, go mod graph) would otherwise look the unpublished version up
// in the module proxy.
func setWorkReplaces(root string, mods []workspaceModule, version string) error {
	file := filepath.Join(root, "go.work")
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	w, err := modfile.ParseWork(file, data, nil)
	if err != nil {
		return err
	}
	for _, r := range w.Replace {
		if strings.HasPrefix(r.Old.Path, ownPrefix) {
			if err := w.DropReplace(r.Old.Path, r.Old.Version); err != nil {
				return err
			}
		}
	}
	w.Cleanup()
	var b strings.Builder
	b.Write(bytes.TrimRight(modfile.Format(w.Syntax), "\n"))
	b.WriteString("\n\n// Every module at the release version is this working tree (written by\n// tools/release set-version).\nreplace (\n")
	for _, m := range mods {
		rel, err := filepath.Rel(root, m.Dir)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "\t%s %s => ./%s\n", m.Path, version, filepath.ToSlash(rel))
	}
	b.WriteString(")\n")
	return os.WriteFile(file, []byte(b.String()), 0o644)
}

// proxy writes every module at version into the proxy at out, in
// dependency order, after tidying each if asked.
func proxy(mods []workspaceModule, version, out string, tidy bool) error {
	out, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	at := time.Now()
	if tidy {
		if err := purgeOwnModules(); err != nil {
			return err
		}
		defer purgeOwnModules()
	}
	for _, m := range mods {
		if tidy {
			if err := tidyAgainst(m, out); err != nil {
				return err
			}
		}
		if err := addToProxy(out, m, version, at); err != nil {
			return err
		}
	}
	return nil
}

// tidyAgainst runs go mod tidy in m without the workspace, fetching the
// sibling modules from the proxy at dir and everything else as usual.
func tidyAgainst(m workspaceModule, dir string) error {
	if err := stripOwnSums(m.Dir); err != nil {
		return err
	}
	cmd := exec.Command("go", "mod", "tidy")
	cmd.Dir, cmd.Env = m.Dir, goEnvAgainst(dir)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go mod tidy in %s: %w", m.Dir, err)
	}
	return nil
}
