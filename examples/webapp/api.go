package main

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sessionkit/session"
)

const prefPrefix = "pref:"

// Limits of a preference set through the API.
const (
	maxPrefKey   = 64
	maxPrefValue = 1024
	maxPrefs     = 50
)

func (a *App) apiMe(w http.ResponseWriter, r *http.Request) {
	user, err := a.currentUser(r)
	if err != nil {
		a.fail(w, err)
		return
	}
	if user == "" {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "not logged in"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"user": user})
}

// prefs returns the preferences kept in the session, one session key per
// preference, so concurrent requests setting different preferences merge.
func (a *App) prefs(r *http.Request) (map[string]string, error) {
	s := session.FromContext(r.Context())
	keys, err := s.Keys()
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, k := range keys {
		name, ok := strings.CutPrefix(k, prefPrefix)
		if !ok {
			continue
		}
		v, _, err := session.Get[string](s, k)
		if err != nil {
			return nil, err
		}
		out[name] = v
	}
	return out, nil
}

func (a *App) apiPrefs(w http.ResponseWriter, r *http.Request) {
	prefs, err := a.prefs(r)
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, prefs)
}

// apiSetPref stores one preference; it works for anonymous visitors too and
// creates their session on first use.
func (a *App) apiSetPref(w http.ResponseWriter, r *http.Request) {
	if !a.parseForm(w, r) {
		return
	}
	key, value := r.PostFormValue("key"), r.PostFormValue("value")
	if key == "" || len(key) > maxPrefKey || len(value) > maxPrefValue || !utf8.ValidString(key) || !utf8.ValidString(value) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "key must be 1-" + strconv.Itoa(maxPrefKey) + " bytes and value at most " + strconv.Itoa(maxPrefValue) + " bytes of UTF-8"})
		return
	}
	s := session.FromContext(r.Context())
	prefs, err := a.prefs(r)
	if err != nil {
		a.fail(w, err)
		return
	}
	if _, exists := prefs[key]; !exists && len(prefs) >= maxPrefs {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "too many preferences"})
		return
	}
	if err := s.Set(prefPrefix+key, value); err != nil {
		if errors.Is(err, session.ErrTooLarge) {
			writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": err.Error()})
			return
		}
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{key: value})
}

type apiSession struct {
	ID        string    `json:"id"`
	Created   time.Time `json:"created"`
	LastSeen  time.Time `json:"last_seen"`
	IP        string    `json:"ip"`
	UserAgent string    `json:"user_agent"`
	Current   bool      `json:"current"`
}

// requireUser answers 401 for anonymous callers and reports whether the
// request may go on.
func (a *App) requireUser(w http.ResponseWriter, r *http.Request) bool {
	user, err := a.currentUser(r)
	if err != nil {
		a.fail(w, err)
		return false
	}
	if user == "" {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "not logged in"})
		return false
	}
	return true
}

func (a *App) apiSessions(w http.ResponseWriter, r *http.Request) {
	if !a.requireUser(w, r) {
		return
	}
	list, err := a.sessions.MySessions(r.Context())
	if err != nil {
		a.fail(w, err)
		return
	}
	out := make([]apiSession, 0, len(list))
	for _, s := range list {
		out = append(out, apiSession{ID: s.Handle, Created: s.Created, LastSeen: s.LastSeen, IP: s.IP, UserAgent: s.UserAgent, Current: s.Current})
	}
	writeJSON(w, http.StatusOK, out)
}

// flashAndReturn queues a message for the devices page and sends the
// browser back to it.
func (a *App) flashAndReturn(w http.ResponseWriter, r *http.Request, msg string) {
	if err := a.sessions.FromContext(r.Context()).AddFlash("ok", msg); err != nil {
		a.fail(w, err)
		return
	}
	http.Redirect(w, r, "/sessions", http.StatusSeeOther)
}

// wantsHTML reports a form submitted by a browser page (the "your devices"
// buttons): such requests are answered with a redirect back to the page.
func wantsHTML(r *http.Request) bool { return strings.Contains(r.Header.Get("Accept"), "text/html") }

func (a *App) apiRevoke(w http.ResponseWriter, r *http.Request) {
	if !a.parseForm(w, r) || !a.requireUser(w, r) {
		return
	}
	err := a.sessions.RevokeSession(r.Context(), r.PostFormValue("id"))
	switch {
	case errors.Is(err, session.ErrNotFound):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such session"})
	case err != nil:
		a.fail(w, err)
	case wantsHTML(r):
		a.flashAndReturn(w, r, "Session ended.")
	default:
		writeJSON(w, http.StatusOK, map[string]bool{"revoked": true})
	}
}

func (a *App) apiRevokeOthers(w http.ResponseWriter, r *http.Request) {
	if !a.requireUser(w, r) {
		return
	}
	n, err := a.sessions.RevokeOtherSessions(r.Context())
	switch {
	case err != nil:
		a.fail(w, err)
	case wantsHTML(r):
		msg := "Logged out of " + strconv.Itoa(n) + " other sessions."
		if n == 1 {
			msg = "Logged out of 1 other session."
		}
		a.flashAndReturn(w, r, msg)
	default:
		writeJSON(w, http.StatusOK, map[string]int{"revoked": n})
	}
}
