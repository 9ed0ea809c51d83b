package echo_test

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/labstack/echo/v5"
	"go.uber.org/goleak"

	"github.com/sessionkit/session"
	sessionecho "github.com/sessionkit/session/contrib/echo"
	"github.com/sessionkit/session/memstore"
	"github.com/sessionkit/session/sessiontest"
	"github.com/sessionkit/session/stores/sqlitestore"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// errConverted is answered by the outer middleware of app itself.
var errConverted = errors.New("answered by the outer middleware")

// app is the FrameworkFlow application, with routes for handler errors
// and an outer middleware before the session middleware that records the
// error coming up the chain (in *seen) and answers errConverted itself.
func app(m *session.Manager, seen *error) *echo.Echo {
	e := echo.New()
	e.GET("/public", func(c *echo.Context) error { return c.String(http.StatusOK, "no session here") })
	outer := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			err := next(c)
			*seen = err
			if errors.Is(err, errConverted) {
				return c.String(http.StatusTeapot, "converted")
			}
			return err
		}
	}
	app := e.Group("/app", outer, sessionecho.Middleware(m))
	app.POST("/login/:user", func(c *echo.Context) error {
		if err := m.Login(c.Request().Context(), c.Param("user")); err != nil {
			return err
		}
		return c.JSON(http.StatusOK, map[string]string{"user": c.Param("user")})
	})
	app.POST("/theme/:theme", func(c *echo.Context) error {
		if err := sessionecho.Session(c).Set("theme", c.Param("theme")); err != nil {
			return err
		}
		return c.NoContent(http.StatusNoContent)
	})
	app.POST("/broken", func(c *echo.Context) error {
		sessionecho.Session(c).Set("theme", "lost")
		return errors.New("something broke")
	})
	app.GET("/me", func(c *echo.Context) error {
		s := sessionecho.Session(c)
		user, err := s.UserID()
		if err != nil {
			return err
		}
		return c.String(http.StatusOK, user+" "+session.GetOr(s, "theme", "light"))
	})
	app.POST("/logout", func(c *echo.Context) error {
		if err := m.Destroy(c.Request().Context()); err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, "/")
	})
	// Sets the theme, then fails with an *echo.HTTPError of the code.
	app.POST("/fail/:code/:theme", func(c *echo.Context) error {
		if err := sessionecho.Session(c).Set("theme", c.Param("theme")); err != nil {
			return err
		}
		code, _ := strconv.Atoi(c.Param("code"))
		return echo.NewHTTPError(code, "refused")
	})
	// Logs in, then fails with an *echo.HTTPError of the code.
	app.POST("/login-fail/:user/:code", func(c *echo.Context) error {
		if err := m.Login(c.Request().Context(), c.Param("user")); err != nil {
			return err
		}
		code, _ := strconv.Atoi(c.Param("code"))
		return echo.NewHTTPError(code, "refused")
	})
	app.POST("/converted/:theme", func(c *echo.Context) error {
		if err := sessionecho.Session(c).Set("theme", c.Param("theme")); err != nil {
			return err
		}
		return errConverted
	})
	return e
}

// Issue 21: the echo middleware on a group, with echo's own responses and
// an error returned by a handler (answered 500, nothing saved), on memory,
// SQLite and Redis.
func TestEchoMiddleware(t *testing.T) {
	stores := realStores(t)
	mem := memstore.New()
	defer mem.Stop()
	stores["memory"] = mem
	for name, st := range stores {
		t.Run(name, func(t *testing.T) {
			m, err := session.New(st)
			if err != nil {
				t.Fatal(err)
			}
			var seen error
			sessiontest.FrameworkFlow(t, app(m, &seen), m.CookieName())
		})
	}
}

// A handler's error goes up echo's chain (outer middleware sees it, echo's
// error handler answers it), and the session is committed by the status
// echo answers it with: 4xx saves (the cookie goes out with the error's
// response), 5xx saves nothing, on SQLite and Redis.
func TestHandlerErrorsGoUpTheChain(t *testing.T) {
	for name, st := range realStores(t) {
		t.Run(name, func(t *testing.T) {
			m, err := session.New(st)
			if err != nil {
				t.Fatal(err)
			}
			var seen error
			e := app(m, &seen)
			do := func(path string, c *http.Cookie) *httptest.ResponseRecorder {
				t.Helper()
				seen = nil
				method := "POST"
				if path == "/app/me" {
					method = "GET"
				}
				req := httptest.NewRequest(method, "https://example.com"+path, nil)
				if c != nil {
					req.AddCookie(c)
				}
				w := httptest.NewRecorder()
				e.ServeHTTP(w, req)
				return w
			}
			sessionCookie := func(w *httptest.ResponseRecorder) *http.Cookie {
				for _, c := range w.Result().Cookies() {
					if c.Name == m.CookieName() && c.MaxAge >= 0 {
						return c
					}
				}
				return nil
			}
			me := func(c *http.Cookie) string {
				t.Helper()
				w := do("/app/me", c)
				if seen != nil || w.Code != http.StatusOK {
					t.Fatalf("/app/me: %d %q, error %v", w.Code, w.Body.String(), seen)
				}
				return w.Body.String()
			}
			// Seen carries the handler's error with code; the response is
			// echo's answer to it.
			wantError := func(w *httptest.ResponseRecorder, code int) {
				t.Helper()
				var he *echo.HTTPError
				if !errors.As(seen, &he) || he.Code != code {
					t.Fatalf("the outer middleware saw %v, want the handler's *echo.HTTPError %d", seen, code)
				}
				if w.Code != code || !strings.Contains(w.Body.String(), `"message":"refused"`) {
					t.Fatalf("answered %d %q, want echo's error handler's %d", w.Code, w.Body.String(), code)
				}
			}

			login := do("/app/login/alice", nil)
			cookie := sessionCookie(login)
			if login.Code != http.StatusOK || cookie == nil || seen != nil {
				t.Fatalf("login: %d, cookie %v, error %v", login.Code, cookie, seen)
			}
			for _, code := range []int{http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound} {
				theme := "dark" + strconv.Itoa(code)
				wantError(do(fmt.Sprintf("/app/fail/%d/%s", code, theme), cookie), code)
				if got := me(cookie); got != "alice "+theme {
					t.Fatalf("after a %d: %q, want the change saved", code, got)
				}
			}
			for _, code := range []int{http.StatusInternalServerError, http.StatusServiceUnavailable} {
				wantError(do(fmt.Sprintf("/app/fail/%d/lost", code), cookie), code)
				if got := me(cookie); got != "alice dark404" {
					t.Fatalf("after a %d: %q, want nothing saved", code, got)
				}
			}
			// A plain error: echo answers 500, nothing is saved.
			w := do("/app/broken", cookie)
			if seen == nil || seen.Error() != "something broke" || w.Code != http.StatusInternalServerError {
				t.Fatalf("broken: %d, the outer middleware saw %v", w.Code, seen)
			}
			if got := me(cookie); got != "alice dark404" {
				t.Fatalf("after a plain error: %q, want nothing saved", got)
			}
			// The outer middleware answers the error itself: the session
			// middleware wrote nothing for it. The decision to save was
			// taken by the status echo gives the error (500): not saved.
			w = do("/app/converted/lost", cookie)
			if !errors.Is(seen, errConverted) || w.Code != http.StatusTeapot || w.Body.String() != "converted" {
				t.Fatalf("converted: %d %q, the outer middleware saw %v", w.Code, w.Body.String(), seen)
			}
			if got := me(cookie); got != "alice dark404" {
				t.Fatalf("after an error converted by outer middleware: %q, want nothing saved", got)
			}

			// A login answered 4xx is saved, and its cookie goes out with
			// echo's error response (committed before the header).
			w = do("/app/login-fail/bob/403", nil)
			wantError(w, http.StatusForbidden)
			bob := sessionCookie(w)
			if bob == nil {
				t.Fatalf("a login answered 403 sent no session cookie: %v", w.Result().Header)
			}
			if got := me(bob); got != "bob light" {
				t.Fatalf("the session of a login answered 403: %q", got)
			}
			// A login answered 5xx creates nothing and sends no cookie.
			w = do("/app/login-fail/carol/500", nil)
			wantError(w, http.StatusInternalServerError)
			if c := sessionCookie(w); c != nil {
				t.Fatalf("a login answered 500 sent a session cookie: %v", c)
			}
			if n, err := m.UserSessions(t.Context(), "carol"); err != nil || len(n) != 0 {
				t.Fatalf("a login answered 500 left sessions: %v %v", n, err)
			}
		})
	}
}

// When saving the session fails while a handler's error is answered (here
// the SQLite store is closed by the handler after its change), the
// manager's error handler answers, not echo's, and the outer middleware
// still sees the handler's error: with the default error handler (503 and
// a body) and with one that writes a status only.
func TestSaveFailureForAHandlerError(t *testing.T) {
	for name, errorHandler := range map[string]func(http.ResponseWriter, *http.Request, error){
		"default":     nil,
		"status only": func(w http.ResponseWriter, _ *http.Request, _ error) { w.WriteHeader(http.StatusInsufficientStorage) },
	} {
		t.Run(name, func(t *testing.T) {
			st, err := sqlitestore.Open(t.Context(), filepath.Join(t.TempDir(), "s.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			opts := []session.Option{session.WithLogger(slog.New(slog.DiscardHandler))}
			want := http.StatusServiceUnavailable
			if errorHandler != nil {
				opts = append(opts, session.WithErrorHandler(errorHandler))
				want = http.StatusInsufficientStorage
			}
			m, err := session.New(st, opts...)
			if err != nil {
				t.Fatal(err)
			}
			var seen error
			e := app(m, &seen)
			e.POST("/app/close-and-fail", func(c *echo.Context) error {
				if err := sessionecho.Session(c).Set("theme", "lost"); err != nil {
					return err
				}
				st.Close()
				return echo.NewHTTPError(http.StatusForbidden, "refused")
			}, func(next echo.HandlerFunc) echo.HandlerFunc {
				return func(c *echo.Context) error { err := next(c); seen = err; return err }
			}, sessionecho.Middleware(m))
			req := httptest.NewRequest("POST", "https://example.com/app/close-and-fail", nil)
			req.AddCookie(sessiontest.LoginCookie(t, m, "alice", nil))
			w := httptest.NewRecorder()
			e.ServeHTTP(w, req)
			var he *echo.HTTPError
			if !errors.As(seen, &he) || he.Code != http.StatusForbidden {
				t.Fatalf("the outer middleware saw %v, want the handler's 403", seen)
			}
			if w.Code != want || strings.Contains(w.Body.String(), "refused") {
				t.Fatalf("answered %d %q, want the manager's error handler's %d", w.Code, w.Body.String(), want)
			}
			for _, c := range w.Result().Cookies() {
				if c.Name == m.CookieName() {
					t.Fatalf("a failed save sent a session cookie: %v", c)
				}
			}
		})
	}
}

func ExampleMiddleware() {
	store := memstore.New()
	defer store.Stop()
	m, _ := session.New(store)
	e := echo.New()
	app := e.Group("/app", sessionecho.Middleware(m))
	app.GET("/visits", func(c *echo.Context) error {
		s := sessionecho.Session(c)
		n := session.GetOr(s, "visits", 0) + 1
		s.Set("visits", n)
		return c.String(http.StatusOK, fmt.Sprint("visit ", n))
	})
	w := httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest("GET", "https://example.com/app/visits", nil))
	fmt.Println(w.Body.String(), len(w.Result().Cookies()))
	// Output: visit 1 1
}
