package main

import (
	"errors"
	"net/http"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/interop/django"
)

type loginData struct {
	Message    string
	Username   string
	NoRemember bool // the store cannot keep a session longer than its usual lifetime (Django's table)
}

func (a *App) loginPage(w http.ResponseWriter, r *http.Request) {
	user, err := a.currentUser(r)
	if err != nil {
		a.fail(w, err)
		return
	}
	if user != "" {
		http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
		return
	}
	a.render(w, http.StatusOK, "login.html", loginData{NoRemember: a.noRemember})
}

// rememberFor is how long "remember me" keeps a user logged in
// (session.WithMaxLifetime allows it).
const rememberFor = 30 * 24 * time.Hour

func (a *App) login(w http.ResponseWriter, r *http.Request) {
	if !a.parseForm(w, r) {
		return
	}
	name, pass := r.PostFormValue("username"), r.PostFormValue("password")
	keys := throttleKeys(r, name)
	if wait := a.logins.Begin(r.Context(), keys...); wait > 0 {
		// Checked before the password: a throttled guesser costs no
		// bcrypt check.
		w.Header().Set("Retry-After", retryAfter(wait))
		a.render(w, http.StatusTooManyRequests, "login.html", loginData{
			Message: "Too many failed logins. Try again in " + wait.Round(time.Second).String() + ".", Username: name, NoRemember: a.noRemember})
		return
	}
	ended := false
	defer func() {
		if !ended { // Authenticate panicked: the attempt counts as failed
			a.logins.Done(true, keys...)
		}
	}()
	userID, err := a.accounts.Authenticate(r.Context(), name, pass)
	if errors.Is(err, django.ErrUnsupportedHasher) {
		// Answered as a wrong password (the answer must not tell how an
		// account's password is stored); the operator needs to know.
		a.logger.Warn("webapp: a Django password hash this demo cannot check", "error", err)
	}
	wrong := errors.Is(err, errWrongPassword) || errors.Is(err, django.ErrBadCredentials) || errors.Is(err, django.ErrUnsupportedHasher)
	ended = true
	a.logins.Done(wrong, keys...)
	if wrong {
		a.render(w, http.StatusUnauthorized, "login.html", loginData{Message: "Wrong user name or password.", Username: name, NoRemember: a.noRemember})
		return
	}
	if err != nil {
		a.fail(w, err)
		return
	}
	// New token (no fixation), user bound, absolute deadline restarted.
	if err := a.sessions.Login(r.Context(), userID); err != nil {
		a.fail(w, err)
		return
	}
	// "Remember me": this session alone lasts 30 days (idle and in all),
	// beyond the 12-hour absolute timeout of the others. Unticked, the
	// manager's timeouts: a login over a remembered session (the same
	// user again) would keep its month otherwise.
	remember, lifetime := r.PostFormValue("remember") == "on" && !a.noRemember, time.Duration(0)
	if remember {
		lifetime = rememberFor
	}
	if err := a.sessions.FromContext(r.Context()).SetLifetime(lifetime, lifetime); err != nil {
		a.fail(w, err)
		return
	}
	http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
}

func (a *App) logout(w http.ResponseWriter, r *http.Request) {
	if err := a.sessions.Destroy(r.Context()); err != nil {
		a.fail(w, err)
		return
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// userSessions returns the logged-in user and their sessions; otherwise it
// answers the request (a redirect to /login, or an error page) and reports
// false.
func (a *App) userSessions(w http.ResponseWriter, r *http.Request) (user string, list []session.SessionInfo, listed, ok bool) {
	user, err := a.currentUser(r)
	if err != nil {
		a.fail(w, err)
		return "", nil, false, false
	}
	if user == "" {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return "", nil, false, false
	}
	list, err = a.sessions.MySessions(r.Context())
	if errors.Is(err, session.ErrUnsupported) {
		return user, nil, false, true // a Django database keeps no list of a user's sessions
	}
	if err != nil {
		a.fail(w, err)
		return "", nil, false, false
	}
	return user, list, true, true
}

type dashboardData struct {
	User     string
	AuthTime time.Time
	Current  *session.SessionInfo
	Sessions int
	Devices  bool // the store lists a user's sessions (not Django's table)
	Prefs    map[string]string
}

func (a *App) dashboard(w http.ResponseWriter, r *http.Request) {
	user, list, listed, ok := a.userSessions(w, r)
	if !ok {
		return
	}
	prefs, err := a.prefs(r)
	if err != nil {
		a.fail(w, err)
		return
	}
	d := dashboardData{User: user, Sessions: len(list), Devices: listed, Prefs: prefs}
	for i := range list {
		if list[i].Current {
			d.Current = &list[i]
			d.AuthTime = list[i].AuthTime
		}
	}
	a.render(w, http.StatusOK, "dashboard.html", d)
}

type sessionsData struct {
	User     string
	Sessions []session.SessionInfo
	Flashes  []session.Flash // messages of the action that redirected here
}

func (a *App) sessionsPage(w http.ResponseWriter, r *http.Request) {
	user, list, listed, ok := a.userSessions(w, r)
	if !ok {
		return
	}
	if !listed {
		a.fail(w, session.ErrUnsupported)
		return
	}
	// The messages of the action that redirected here, shown once. They
	// travel in the session, never in the URL, where anyone could craft a
	// link that shows any words on this site's page.
	flashes, err := a.sessions.FromContext(r.Context()).Flashes()
	if err != nil {
		a.fail(w, err)
		return
	}
	a.render(w, http.StatusOK, "sessions.html", sessionsData{User: user, Sessions: list, Flashes: flashes})
}
