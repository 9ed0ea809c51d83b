package sessiontest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/sessionkit/session"
)

// HeaderTokens checks header tokens (session.WithHeaderToken) on st: a
// login answers with the token in the Session-Token header and in the
// handler's JSON (Session.IssuedToken), never a Set-Cookie; the token
// works as "Authorization: Bearer"; a renewal issues a new token and ends
// the old one; a logout and a revocation end it, and the response tells
// the client to drop it (an empty Session-Token); a cookie carrying the
// token is ignored; and outside HTTP, Manager.Lookup and Save read and
// write the session and refuse it once revoked.
func HeaderTokens(t *testing.T, st session.Store) {
	t.Helper()
	m, err := session.New(st, session.WithHeaderToken(""))
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.FromContext(r.Context())
		var err error
		switch r.URL.Path {
		case "/login":
			err = m.Login(r.Context(), r.FormValue("u"))
		case "/renew":
			err = m.Renew(r.Context())
		case "/logout":
			err = m.Destroy(r.Context())
		case "/whoami":
			var u string
			if u, err = s.UserID(); err == nil {
				w.Header().Set("Content-Type", "application/json")
				json.NewEncoder(w).Encode(map[string]string{"user": u})
				return
			}
		}
		if err != nil {
			writeError(w, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK) // commits: the token exists from here
		json.NewEncoder(w).Encode(map[string]string{"token": s.IssuedToken()})
	}))
	do := func(path, token string) (*httptest.ResponseRecorder, map[string]string) {
		t.Helper()
		r := httptest.NewRequest(http.MethodPost, "https://api.example.com"+path, nil)
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if len(w.Result().Cookies()) != 0 {
			t.Fatalf("%s: a header-token manager set a cookie: %v", path, w.Header().Values("Set-Cookie"))
		}
		var body map[string]string
		json.Unmarshal(w.Body.Bytes(), &body)
		return w, body
	}
	user := uniqueUser("header")
	w, body := do("/login?u="+url.QueryEscape(user), "")
	tok := w.Header().Get(session.SessionTokenHeader)
	if w.Code != http.StatusOK || tok == "" || body["token"] != tok {
		t.Fatalf("login: %d, header %q, body %v", w.Code, tok, body)
	}
	if _, body := do("/whoami", tok); body["user"] != user {
		t.Fatalf("whoami with the bearer token: %v", body)
	}
	// A cookie carrying the token is not a transport of this manager.
	r := httptest.NewRequest(http.MethodGet, "https://api.example.com/whoami", nil)
	r.AddCookie(&http.Cookie{Name: m.CookieName(), Value: tok})
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var anon map[string]string
	json.Unmarshal(w.Body.Bytes(), &anon)
	if anon["user"] != "" {
		t.Fatalf("a header-token manager accepted the token in a cookie: %v", anon)
	}
	w, body = do("/renew", tok)
	renewed := w.Header().Get(session.SessionTokenHeader)
	if renewed == "" || renewed == tok || body["token"] != renewed {
		t.Fatalf("renew: header %q, body %v", renewed, body)
	}
	if w, body := do("/whoami", tok); body["user"] != "" || w.Header().Values(session.SessionTokenHeader) == nil || w.Header().Get(session.SessionTokenHeader) != "" {
		t.Fatalf("the renewed-away token: %v, Session-Token %q", body, w.Header().Values(session.SessionTokenHeader))
	}
	if _, body := do("/whoami", renewed); body["user"] != user {
		t.Fatalf("the renewed token: %v", body)
	}
	w, _ = do("/logout", renewed)
	if v := w.Header().Values(session.SessionTokenHeader); len(v) != 1 || v[0] != "" {
		t.Fatalf("logout did not tell the client to drop its token: %q", v)
	}
	if _, body := do("/whoami", renewed); body["user"] != "" {
		t.Fatalf("the token after logout: %v", body)
	}
	// Revocation ends a header token like a cookie one.
	w, _ = do("/login?u="+url.QueryEscape(user), "")
	tok = w.Header().Get(session.SessionTokenHeader)
	if _, err := m.RevokeUser(context.Background(), user); err != nil {
		t.Fatal(err)
	}
	if w, body := do("/whoami", tok); body["user"] != "" || w.Header().Values(session.SessionTokenHeader) == nil || w.Header().Get(session.SessionTokenHeader) != "" {
		t.Fatalf("a revoked header token: %v, Session-Token %q (want one empty)", body, w.Header().Values(session.SessionTokenHeader))
	}
	// So does the revocation of one session by its handle, when the
	// store lists a user's sessions.
	if _, ok := m.Store().(session.UserIndex); ok {
		w, _ = do("/login?u="+url.QueryEscape(user), "")
		tok = w.Header().Get(session.SessionTokenHeader)
		d, _ := session.DigestOf(tok)
		if existed, err := m.AdminRevokeSession(context.Background(), d.Handle()); err != nil || !existed {
			t.Fatalf("AdminRevokeSession: %v, %v", existed, err)
		}
		if w, body := do("/whoami", tok); body["user"] != "" || w.Header().Get(session.SessionTokenHeader) != "" || w.Header().Values(session.SessionTokenHeader) == nil {
			t.Fatalf("a header token revoked by its handle: %v, Session-Token %q", body, w.Header().Values(session.SessionTokenHeader))
		}
	}

	// Outside HTTP (Manager.Lookup and Save) on the same store.
	ctx := context.Background()
	w, _ = do("/login?u="+url.QueryEscape(user), "")
	tok = w.Header().Get(session.SessionTokenHeader)
	s, err := m.Lookup(ctx, tok)
	if err != nil {
		t.Fatalf("Lookup of a live token: %v", err)
	}
	if u, err := s.UserID(); err != nil || u != user {
		t.Fatalf("Lookup: user %q, %v", u, err)
	}
	if err := s.Set("job", "done"); err != nil {
		t.Fatal(err)
	}
	if got, err := m.Save(s); err != nil || got != tok {
		t.Fatalf("Save = %q, %v", got, err)
	}
	s, err = m.Lookup(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok, err := session.Get[string](s, "job"); err != nil || !ok || v != "done" {
		t.Fatalf("the value Save wrote: %q %v %v", v, ok, err)
	}
	if _, err := m.RevokeUser(ctx, user); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Lookup(ctx, tok); !errors.Is(err, session.ErrInvalidToken) {
		t.Fatalf("Lookup of a revoked token: %v", err)
	}
}
