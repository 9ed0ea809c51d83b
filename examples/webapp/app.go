package main

import (
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sessionkit/session"
)

//go:embed templates/*.html
var templateFS embed.FS

// App is the demo application: pages, JSON API and the session middleware.
type App struct {
	sessions *session.Manager
	accounts Accounts
	tmpl     *template.Template
	logger   *slog.Logger
	logins   *Throttle
	// noRemember hides "remember me": on a Django project's database a
	// session lives SESSION_COOKIE_AGE past its last activity, no longer.
	noRemember bool
}

// maxBody bounds every request body (forms of a few fields): a larger one
// is answered with 413 before it is read further.
const maxBody = 64 << 10

// Login throttling: failed attempts allowed per account and per client
// address in the window.
const (
	maxLoginFailures = 5
	loginWindow      = 15 * time.Minute
)

// NewApp builds the application around a session manager.
func NewApp(sessions *session.Manager, accounts Accounts, logger *slog.Logger) (*App, error) {
	tmpl, err := template.New("").Funcs(template.FuncMap{
		"when": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.Local().Format("2 Jan 2006 15:04:05")
		},
		"browser": browserName,
	}).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	return &App{sessions: sessions, accounts: accounts, tmpl: tmpl, logger: logger, logins: NewThrottle(maxLoginFailures, loginWindow)}, nil
}

// Handler returns the application with cross-origin protection on every
// unsafe request (net/http's CrossOriginProtection: no tokens in forms) and
// the session middleware.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /login", a.loginPage)
	mux.HandleFunc("POST /login", a.login)
	mux.HandleFunc("POST /logout", a.logout)
	mux.HandleFunc("GET /dashboard", a.dashboard)
	mux.HandleFunc("GET /sessions", a.sessionsPage)
	mux.HandleFunc("GET /api/me", a.apiMe)
	mux.HandleFunc("GET /api/prefs", a.apiPrefs)
	mux.HandleFunc("POST /api/prefs", a.apiSetPref)
	mux.HandleFunc("GET /api/sessions", a.apiSessions)
	mux.HandleFunc("POST /api/sessions/revoke", a.apiRevoke)
	mux.HandleFunc("POST /api/sessions/revoke-others", a.apiRevokeOthers)
	cop := http.NewCrossOriginProtection()
	return limitBody(cop.Handler(a.sessions.Handler(securityHeaders(mux))))
}

// limitBody caps every request body at maxBody (http.MaxBytesReader):
// reading past it fails, and parseForm answers 413.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		next.ServeHTTP(w, r)
	})
}

// parseForm parses the request's form (URL-encoded or multipart) and
// reports whether the handler may go on; otherwise it has answered: 413
// for a body over maxBody, 400 for a malformed one. (r.PostFormValue
// alone would hide both as empty fields.)
func (a *App) parseForm(w http.ResponseWriter, r *http.Request) bool {
	var err error
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		err = r.ParseMultipartForm(maxBody)
	} else {
		err = r.ParseForm()
	}
	var tooLarge *http.MaxBytesError
	switch {
	case err == nil:
		return true
	case errors.As(err, &tooLarge):
		http.Error(w, "request body too large: the limit is "+strconv.Itoa(maxBody>>10)+" KiB", http.StatusRequestEntityTooLarge)
	default:
		http.Error(w, "malformed form", http.StatusBadRequest)
	}
	return false
}

// securityHeaders sets headers every page of the demo wants.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
		next.ServeHTTP(w, r)
	})
}

// currentUser returns the logged-in user, "" when anonymous. A store error
// is returned, never treated as anonymous.
func (a *App) currentUser(r *http.Request) (string, error) {
	return session.FromContext(r.Context()).UserID()
}

func (a *App) render(w http.ResponseWriter, status int, name string, data any) {
	var b strings.Builder
	if err := a.tmpl.ExecuteTemplate(&b, name, data); err != nil {
		a.logger.Error("webapp: rendering", "template", name, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	// Private pages must not be kept by caches or the back button.
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write([]byte(b.String()))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// fail answers a request whose session call failed: a store failure the
// handler was given is its own to answer (503 here, and nothing is saved);
// the middleware replaces the answer with its error handler's when a
// login, logout or revocation failed, which must never look done, or when
// the save at commit fails.
func (a *App) fail(w http.ResponseWriter, err error) {
	var se *session.StoreError
	if errors.As(err, &se) {
		http.Error(w, "session store unavailable", http.StatusServiceUnavailable)
		return
	}
	if errors.Is(err, session.ErrUnsupported) {
		// A Django database: its session table has no user index.
		http.Error(w, "not available on this store (it keeps no list of a user's sessions)", http.StatusNotImplemented)
		return
	}
	a.logger.Error("webapp: request failed", "error", err)
	http.Error(w, "internal error", http.StatusInternalServerError)
}

// browserName turns a User-Agent header into a short label.
func browserName(ua string) string {
	switch {
	case ua == "":
		return "unknown"
	case strings.Contains(ua, "Edg/"):
		return "Edge"
	case strings.Contains(ua, "HeadlessChrome"):
		return "Headless Chrome"
	case strings.Contains(ua, "Chrome/") || strings.Contains(ua, "Chromium/"):
		return "Chrome"
	case strings.Contains(ua, "Firefox/"):
		return "Firefox"
	case strings.Contains(ua, "Safari/"):
		return "Safari"
	case strings.HasPrefix(ua, "curl/"):
		return "curl"
	case strings.HasPrefix(ua, "Go-http-client"):
		return "Go client"
	}
	return truncate(ua, 30)
}

// truncate cuts s to at most n characters, at a character boundary, and
// marks the cut; invalid UTF-8 and control characters become U+FFFD.
func truncate(s string, n int) string {
	var b strings.Builder
	for _, r := range s {
		if n == 0 {
			b.WriteString("…")
			break
		}
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			r = utf8.RuneError
		}
		b.WriteRune(r)
		n--
	}
	return b.String()
}
