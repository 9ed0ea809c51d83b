package gin_test

import (
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
