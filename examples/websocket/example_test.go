package websocket_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"time"

	"github.com/coder/websocket"

	"github.com/sessionkit/session"
	wsexample "github.com/sessionkit/session/examples/websocket"
	"github.com/sessionkit/session/memstore"
)

// A logged-in browser opens a WebSocket; when the user is logged out
// everywhere (RevokeUser, say from an admin page), the connection is
// closed with 1008 within one re-check interval.
func ExampleHandler() {
	store := memstore.New() // or any store of this repository
	defer store.Stop()
	m, err := session.New(store)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		// ... check the password ...
		if err := m.Login(r.Context(), "alice"); err != nil {
			http.Error(w, "try again", http.StatusInternalServerError)
		}
	})
	mux.Handle("GET /ws", wsexample.Handler(m, 100*time.Millisecond, slog.Default()))
	srv := httptest.NewTLSServer(m.Handler(mux)) // the __Host- cookie needs HTTPS
	defer srv.Close()

	// The browser: logs in, keeps the cookie, opens the WebSocket with it.
	client := srv.Client()
	client.Jar, _ = cookiejar.New(nil)
	res, err := client.Post(srv.URL+"/login", "", nil)
	if err != nil {
		log.Fatal(err)
	}
	res.Body.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "wss"+srv.URL[len("https"):]+"/ws", &websocket.DialOptions{HTTPClient: client})
	if err != nil {
		log.Fatal(err)
	}
	defer conn.CloseNow()
	conn.Write(ctx, websocket.MessageText, []byte("hello"))
	_, msg, _ := conn.Read(ctx)
	fmt.Printf("echo: %s\n", msg)

	if _, err := m.RevokeUser(ctx, "alice"); err != nil {
		log.Fatal(err)
	}
	_, _, err = conn.Read(ctx)
	fmt.Println("closed:", websocket.CloseStatus(err))
	// Output:
	// echo: hello
	// closed: StatusPolicyViolation
}
