package echo_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v5"

	"github.com/sessionkit/session"
	sessionecho "github.com/sessionkit/session/contrib/echo"
	"github.com/sessionkit/session/memstore"
	"github.com/sessionkit/session/sessiontest"
)

// Issue 21: the echo middleware on a group, with echo's own responses and
// an error returned by a handler (answered 500, nothing saved).
func TestEchoMiddleware(t *testing.T) {
	st := memstore.New()
	defer st.Stop()
	m, _ := session.New(st)
	e := echo.New()
	e.GET("/public", func(c *echo.Context) error { return c.String(http.StatusOK, "no session here") })
	app := e.Group("/app", sessionecho.Middleware(m))
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
	sessiontest.FrameworkFlow(t, e, m.CookieName())
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
