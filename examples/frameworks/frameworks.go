// Package frameworks shows the session middleware unchanged in front of
// chi, gorilla/mux, gin and echo: each router is an http.Handler, so
// Manager.Handler wraps it (or is installed as the router's own middleware)
// and handlers reach the session from the request context.
package frameworks

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/go-chi/chi/v5"
	"github.com/gorilla/mux"
	"github.com/labstack/echo/v5"

	"github.com/sessionkit/session"
)

// Chi installs the middleware with chi's Use.
func Chi(m *session.Manager) http.Handler {
	r := chi.NewRouter()
	r.Use(m.Handler)
	r.Post("/login/{user}", func(w http.ResponseWriter, r *http.Request) {
		if err := m.Login(r.Context(), chi.URLParam(r, "user")); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	r.Get("/me", func(w http.ResponseWriter, r *http.Request) { writeUser(w, r) })
	r.Post("/logout", func(w http.ResponseWriter, r *http.Request) { logout(m, w, r) })
	return r
}

// GorillaMux installs the middleware with mux's Use.
func GorillaMux(m *session.Manager) http.Handler {
	r := mux.NewRouter()
	r.Use(m.Handler)
	r.HandleFunc("/login/{user}", func(w http.ResponseWriter, r *http.Request) {
		if err := m.Login(r.Context(), mux.Vars(r)["user"]); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	}).Methods(http.MethodPost)
	r.HandleFunc("/me", writeUser).Methods(http.MethodGet)
	r.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) { logout(m, w, r) }).Methods(http.MethodPost)
	return r
}

// Gin wraps the engine (an http.Handler) with the middleware; gin handlers
// reach the session through c.Request.Context().
func Gin(m *session.Manager) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.POST("/login/:user", func(c *gin.Context) {
		if err := m.Login(c.Request.Context(), c.Param("user")); err != nil {
			c.String(http.StatusInternalServerError, err.Error())
			return
		}
		c.Status(http.StatusOK)
	})
	r.GET("/me", func(c *gin.Context) { writeUser(c.Writer, c.Request) })
	r.POST("/logout", func(c *gin.Context) { logout(m, c.Writer, c.Request) })
	return m.Handler(r)
}

// Echo wraps the echo instance (an http.Handler) with the middleware.
func Echo(m *session.Manager) http.Handler {
	e := echo.New()
	e.POST("/login/:user", func(c *echo.Context) error {
		if err := m.Login(c.Request().Context(), c.Param("user")); err != nil {
			return err
		}
		return c.NoContent(http.StatusOK)
	})
	e.GET("/me", func(c *echo.Context) error { writeUser(c.Response(), c.Request()); return nil })
	e.POST("/logout", func(c *echo.Context) error { logout(m, c.Response(), c.Request()); return nil })
	return m.Handler(e)
}

func writeUser(w http.ResponseWriter, r *http.Request) {
	user, err := session.FromContext(r.Context()).UserID()
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	if user == "" {
		http.Error(w, "anonymous", http.StatusUnauthorized)
		return
	}
	w.Write([]byte(user))
}

func logout(m *session.Manager, w http.ResponseWriter, r *http.Request) {
	if err := m.Destroy(r.Context()); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}
