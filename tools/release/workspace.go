package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/mod/modfile"
)

// A workspaceModule is one module of the repository's go.work.
type workspaceModule struct {
	Path     string   // module path
	Dir      string   // absolute directory
	Siblings []string // paths of the other workspace modules it requires
	Replaces []string // paths its go.mod replaces (published modules have none)
	// SiblingVersions are the versions at which it requires this
	// repository's modules.
	SiblingVersions []string
}

// readWorkspace returns the modules of root/go.work in dependency order:
// every module comes after the sibling modules it requires.
func readWorkspace(root string) ([]workspaceModule, error) {
	workFile := filepath.Join(root, "go.work")
	data, err := os.ReadFile(workFile)
	if err != nil {
		return nil, err
	}
	work, err := modfile.ParseWork(workFile, data, nil)
	if err != nil {
		return nil, err
	}
	byPath := map[string]*workspaceModule{}
	var paths []string
	for _, u := range work.Use {
		dir := filepath.Join(root, filepath.FromSlash(u.Path))
		m, err := readModule(dir)
		if err != nil {
			return nil, err
		}
		if _, dup := byPath[m.Path]; dup {
			return nil, fmt.Errorf("module %s is used twice in %s", m.Path, workFile)
		}
		byPath[m.Path] = m
		paths = append(paths, m.Path)
	}
	for _, m := range byPath {
		m.Siblings = slices.DeleteFunc(m.Siblings, func(p string) bool { return byPath[p] == nil })
	}
	return dependencyOrder(byPath, paths)
}

// readModule parses dir/go.mod.
func readModule(dir string) (*workspaceModule, error) {
	file := filepath.Join(dir, "go.mod")
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	f, err := modfile.Parse(file, data, nil)
	if err != nil {
		return nil, err
	}
	if f.Module == nil {
		return nil, fmt.Errorf("%s has no module line", file)
	}
	m := &workspaceModule{Path: f.Module.Mod.Path, Dir: dir}
	for _, r := range f.Require {
		m.Siblings = append(m.Siblings, r.Mod.Path)
		if strings.HasPrefix(r.Mod.Path, ownPrefix) {
			m.SiblingVersions = append(m.SiblingVersions, r.Mod.Version)
		}
	}
	for _, r := range f.Replace {
		m.Replaces = append(m.Replaces, r.Old.Path)
	}
	return m, nil
}

// dependencyOrder sorts the modules so that each follows its siblings,
// keeping go.work's order otherwise; a cycle is an error.
func dependencyOrder(byPath map[string]*workspaceModule, paths []string) ([]workspaceModule, error) {
	const (
		unvisited = iota
		visiting
		done
	)
	state := map[string]int{}
	var out []workspaceModule
	var visit func(p string, chain []string) error
	visit = func(p string, chain []string) error {
		switch state[p] {
		case visiting:
			return fmt.Errorf("the workspace modules require each other in a cycle: %s", strings.Join(append(chain, p), " -> "))
		case done:
			return nil
		}
		state[p] = visiting
		for _, s := range byPath[p].Siblings {
			if err := visit(s, append(chain, p)); err != nil {
				return err
			}
		}
		state[p] = done
		out = append(out, *byPath[p])
		return nil
	}
	for _, p := range paths {
		if err := visit(p, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}
