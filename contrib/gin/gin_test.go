package gin_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"go.uber.org/goleak"

	"github.com/sessionkit/session"
	sessiongin "github.com/sessionkit/session/contrib/gin"
	"github.com/sessionkit/session/memstore"
	"github.com/sessionkit/session/sessiontest"
)

func router(m *session.Manager) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET("/public", func(c *gin.Context) { c.String(http.StatusOK, "no session here") })
	api := r.Group("/app", sessiongin.Middleware(m))
	api.POST("/login/:user", func(c *gin.Context) {
		if err := m.Login(c.Request.Context(), c.Param("user")); err != nil {
			c.String(http.StatusServiceUnavailable, err.Error())
			return
		}
		c.JSON(http.StatusOK, gin.H{"user": c.Param("user")})
	})
	api.POST("/theme/:theme", func(c *gin.Context) {
		if err := sessiongin.Session(c).Set("theme", c.Param("theme")); err != nil {
			c.String(http.StatusServiceUnavailable, err.Error())
			return
		}
		c.Status(http.StatusNoContent)
	})
	api.POST("/broken", func(c *gin.Context) {
		sessiongin.Session(c).Set("theme", "lost")
		c.AbortWithStatus(http.StatusInternalServerError)
	})
	api.GET("/me", func(c *gin.Context) {
		s := sessiongin.Session(c)
		user, err := s.UserID()
		if err != nil {
			c.String(http.StatusServiceUnavailable, err.Error())
			return
		}
		c.String(http.StatusOK, "%s %s", user, session.GetOr(s, "theme", "light"))
	})
	api.POST("/logout", func(c *gin.Context) {
		if err := m.Destroy(c.Request.Context()); err != nil {
			c.String(http.StatusServiceUnavailable, err.Error())
			return
		}
		c.Redirect(http.StatusSeeOther, "/")
	})
	return r
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Issue 21: the gin middleware on a router group, with gin's own writers
// (JSON, String, Status, AbortWithStatus, Redirect), on memory, SQLite and
// Redis.
func TestGinMiddleware(t *testing.T) {
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
			sessiontest.FrameworkFlow(t, router(m), m.CookieName())
		})
	}
}

func ExampleMiddleware() {
	store := memstore.New()
	defer store.Stop()
	m, _ := session.New(store)
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	app := r.Group("/app", sessiongin.Middleware(m))
	app.GET("/visits", func(c *gin.Context) {
		s := sessiongin.Session(c)
		n := session.GetOr(s, "visits", 0) + 1
		s.Set("visits", n)
		c.String(http.StatusOK, "visit %d", n)
	})
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("GET", "https://example.com/app/visits", nil))
	fmt.Println(w.Body.String(), len(w.Result().Cookies()))
	// Output: visit 1 1
}

// gin sends the status a handler set last: a c.Status(200) followed by a
// failure's c.String(500, ...) is a 500, and saves nothing (before, the
// session was saved at the first c.Status, as for a 200).
func TestGinLastStatusDecides(t *testing.T) {
	st := memstore.New()
	defer st.Stop()
	m, err := session.New(st)
	if err != nil {
		t.Fatal(err)
	}
	r := router(m)
	app := r.Group("/more", sessiongin.Middleware(m))
	app.POST("/status-then-fail", func(c *gin.Context) {
		sessiongin.Session(c).Set("theme", "lost")
		c.Status(http.StatusOK)
		c.String(http.StatusInternalServerError, "failed after all")
	})
	app.POST("/status-only", func(c *gin.Context) {
		sessiongin.Session(c).Set("theme", "lost")
		c.Status(http.StatusOK)
		c.Status(http.StatusBadGateway)
	})
	tok := sessiontest.LoginToken(t, m, "alice", map[string]any{"theme": "dark"})
	for _, path := range []string{"/more/status-then-fail", "/more/status-only"} {
		req := httptest.NewRequest("POST", "https://example.com"+path, nil)
		req.AddCookie(&http.Cookie{Name: m.CookieName(), Value: tok})
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		if w.Code < 500 {
			t.Fatalf("%s: %d", path, w.Code)
		}
		s, err := m.Lookup(context.Background(), tok)
		if err != nil {
			t.Fatal(err)
		}
		if theme := session.GetOr(s, "theme", ""); theme != "dark" {
			t.Fatalf("%s: a %d response saved the session (theme %q)", path, w.Code, theme)
		}
	}
}

// A handler that takes the connection over (a WebSocket upgrade) has its
// session saved first, as under the net/http middleware: before, gin's
// own Hijack ran and the save came only when the handler returned.
func TestGinHijackSavesFirst(t *testing.T) {
	st := memstore.New()
	defer st.Stop()
	m, err := session.New(st)
	if err != nil {
		t.Fatal(err)
	}
	tok := sessiontest.LoginToken(t, m, "alice", nil)
	saved := make(chan string, 1)
	r := router(m)
	r.Group("/ws", sessiongin.Middleware(m)).GET("/upgrade", func(c *gin.Context) {
		sessiongin.Session(c).Set("theme", "streamed")
		conn, _, err := c.Writer.Hijack()
		if err != nil {
			saved <- "hijack: " + err.Error()
			return
		}
		defer conn.Close()
		// The connection is the handler's now; the session must already
		// be in the store.
		s, err := m.Lookup(context.Background(), tok)
		if err != nil {
			saved <- "lookup: " + err.Error()
			return
		}
		saved <- session.GetOr(s, "theme", "")
	})
	srv := httptest.NewTLSServer(r)
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/ws/upgrade", nil)
	req.AddCookie(&http.Cookie{Name: m.CookieName(), Value: tok})
	if resp, err := srv.Client().Do(req); err == nil {
		resp.Body.Close()
	}
	if got := <-saved; got != "streamed" {
		t.Fatalf("the session when the handler took the connection over: %q", got)
	}
}
