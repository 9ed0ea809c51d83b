package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"
)

// addToProxy writes module m at version into the file-based module proxy
// rooted at dir (the layout GOPROXY=file://dir reads): @v/list,
// VERSION.info, VERSION.mod and VERSION.zip, the zip made from m's
// directory as the module proxy would make it from a tag.
func addToProxy(dir string, m workspaceModule, version string, at time.Time) error {
	escaped, err := module.EscapePath(m.Path)
	if err != nil {
		return err
	}
	vdir := filepath.Join(dir, filepath.FromSlash(escaped), "@v")
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		return err
	}
	mod, err := os.ReadFile(filepath.Join(m.Dir, "go.mod"))
	if err != nil {
		return err
	}
	info, err := json.Marshal(struct {
		Version string
		Time    time.Time
	}{version, at.UTC()})
	if err != nil {
		return err
	}
	zipFile := filepath.Join(vdir, version+".zip")
	z, err := os.Create(zipFile)
	if err != nil {
		return err
	}
	if err := modzip.CreateFromDir(z, module.Version{Path: m.Path, Version: version}, m.Dir); err != nil {
		z.Close()
		return fmt.Errorf("zipping %s: %w", m.Path, err)
	}
	if err := z.Close(); err != nil {
		return err
	}
	for name, data := range map[string][]byte{
		"list":            []byte(version + "\n"),
		version + ".info": info,
		version + ".mod":  mod,
	} {
		if err := os.WriteFile(filepath.Join(vdir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
