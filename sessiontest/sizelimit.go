package sessiontest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/sessionkit/session"
)

// ConcurrentSizeLimit checks that the size limit holds on the stored,
// merged session: writers requests run at once on one session, each
// setting a key of its own to a value of valueSize bytes, with a manager
// limiting sessions to limit bytes (WithMaxSize) over st. Each request sees
// its own key added to the session as it was when it read it (a request
// that reads a session already full is refused by its Set); the store,
// which merges the changes, must refuse (ErrTooLarge, and no other error)
// every change that would take the
// stored record over the limit, and apply the others whole. Afterwards the
// stored record is within the limit and holds exactly the keys of the
// requests that succeeded.
func ConcurrentSizeLimit(t *testing.T, st session.Store, writers, valueSize, limit int) {
	t.Helper()
	// A refusal for size is told apart from any other failure: 413 for
	// ErrTooLarge, 500 for the rest.
	tooLarge := func(w http.ResponseWriter, r *http.Request, err error) {
		if errors.Is(err, session.ErrTooLarge) {
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
	m, err := session.New(st, session.WithMaxSize(limit), session.WithLogger(slog.New(slog.DiscardHandler)), session.WithErrorHandler(tooLarge))
	if err != nil {
		t.Fatal(err)
	}
	h := raceHandler(m)
	name := m.CookieName()
	cookie, status := raceRequest(h, name, "", "/write")
	if status != http.StatusOK || cookie == "" || cookie == "-" {
		t.Fatalf("starting a session: status %d", status)
	}
	value := strings.Repeat("x", valueSize)
	codes := make([]int, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			_, codes[i] = raceRequest(h, name, cookie, fmt.Sprintf("/set?k=k%03d&v=%s", i, value))
		})
	}
	wg.Wait()
	d, valid := session.DigestOf(cookie)
	if !valid {
		t.Fatalf("malformed session cookie %q", cookie)
	}
	rec, err := st.Load(context.Background(), d)
	if err != nil {
		t.Fatalf("loading the session: %v", err)
	}
	if n := rec.Size(); n > limit {
		t.Fatalf("%d concurrent writes stored a %d-byte session; the limit is %d", writers, n, limit)
	}
	ok, refused := 0, 0
	for i, code := range codes {
		_, stored := rec.Values[fmt.Sprintf("k%03d", i)]
		switch {
		case code == http.StatusOK && stored:
			ok++
		case code == http.StatusRequestEntityTooLarge && !stored:
			refused++
		default:
			t.Fatalf("write %d: status %d, key stored %v", i, code, stored)
		}
	}
	if ok == 0 || refused == 0 {
		t.Fatalf("%d writes stored and %d refused; the test needs both (check writers, valueSize and limit)", ok, refused)
	}
	t.Logf("%d writes stored, %d refused; stored size %d of %d", ok, refused, rec.Size(), limit)
}
