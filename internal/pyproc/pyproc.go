// Package pyproc runs the Python side of the interop tests: a script under
// Debian's interpreter (/usr/bin/python3, where Debian's python3-django,
// python3-flask and python3-starlette install) that answers one JSON
// command per line on stdin with one JSON line on stdout.
package pyproc

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
)

// Proc is a running script.
type Proc struct {
	t   testing.TB
	in  io.WriteCloser
	out *bufio.Scanner
}

// Start runs /usr/bin/python3 with args and waits for its first line; the
// script stops when the test ends. A missing interpreter or framework
// fails the test (the test command installs them).
func Start(t testing.TB, args ...string) *Proc {
	t.Helper()
	cmd := exec.Command("/usr/bin/python3", args...)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %v (the test command installs Debian's Python frameworks): %v", args, err)
	}
	p := &Proc{t: t, in: in, out: bufio.NewScanner(out)}
	p.out.Buffer(make([]byte, 1<<20), 1<<20)
	t.Cleanup(func() { in.Close(); cmd.Wait() })
	if !p.out.Scan() {
		t.Fatalf("%v did not start: %s", args, stderr.String())
	}
	return p
}

// Call sends one command and returns the answer; an answer with "error"
// fails the test.
func (p *Proc) Call(cmd map[string]any) map[string]any {
	p.t.Helper()
	line, err := json.Marshal(cmd)
	if err != nil {
		p.t.Fatal(err)
	}
	if _, err := fmt.Fprintf(p.in, "%s\n", line); err != nil {
		p.t.Fatal(err)
	}
	if !p.out.Scan() {
		p.t.Fatalf("the Python side stopped: %v", p.out.Err())
	}
	var res map[string]any
	if err := json.Unmarshal(p.out.Bytes(), &res); err != nil {
		p.t.Fatal(err)
	}
	if e, ok := res["error"]; ok {
		p.t.Fatalf("Python: %v (command %s)", e, line)
	}
	return res
}

// Serve sends one POST request for path to h carrying the cookie name=value
// (none when value is empty) and returns the cookie of that name the
// response set ("" for none), whether it deleted it, and the body: the Go
// side of a cookie round trip.
func Serve(t testing.TB, h http.Handler, name, path, value string) (cookie string, deleted bool, body string) {
	t.Helper()
	req := httptest.NewRequest("POST", "https://example.test"+path, nil)
	if value != "" {
		req.AddCookie(&http.Cookie{Name: name, Value: value})
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if c.Name == name {
			if c.MaxAge < 0 {
				return "", true, rec.Body.String()
			}
			return c.Value, false, rec.Body.String()
		}
	}
	return "", false, rec.Body.String()
}
