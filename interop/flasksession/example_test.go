package flasksession_test

import (
	"errors"
	"log"
	"net/http"
	"os"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/session/interop/flasksession"
)

// A Go logout route beside a Flask app on Flask-Session: it ends the
// Flask session the browser holds (Flask then sees nobody logged in), and
// reads the session only once the app stores JSON.
func Example() {
	st, err := flasksession.New(flasksession.Config{
		Client:    redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"}), // the app's SESSION_REDIS
		Secret:    os.Getenv("FLASK_SECRET_KEY"),                           // SECRET_KEY, never in code
		UseSigner: true,                                                    // SESSION_USE_SIGNER = True
	})
	if err != nil {
		log.Fatal(err)
	}
	http.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie("session"); err == nil {
			if _, err := st.Delete(r.Context(), c.Value); err != nil && !errors.Is(err, flasksession.ErrInvalidCookie) {
				http.Error(w, "logout failed", http.StatusServiceUnavailable)
				return
			}
		}
		http.SetCookie(w, &http.Cookie{Name: "session", Path: "/", MaxAge: -1})
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	http.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie("session")
		if err != nil {
			http.Error(w, "not logged in", http.StatusUnauthorized)
			return
		}
		values, err := st.Load(r.Context(), c.Value)
		var pickled *flasksession.PickleError
		switch {
		case errors.As(err, &pickled):
			http.Error(w, "the Flask app stores pickles: give it the JSON session interface", http.StatusNotImplemented)
		case err != nil || values["user"] == nil:
			http.Error(w, "not logged in", http.StatusUnauthorized)
		default:
			w.Write(values["user"])
		}
	})
}
