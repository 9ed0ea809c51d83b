package urlredact

import (
	"net/url"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	cases := []struct{ in, want string }{
		{"postgres://u:hunter2@db:5432/app?sslmode=disable", "postgres://xxxxx@db:5432/app?sslmode=disable"},
		{"postgres://db:5432/app?user=u&password=hunter2&sslmode=disable", "postgres://db:5432/app?user=u&password=xxxxx"},
		{"redis://:pa/ss@127.0.0.1:6379/0", "redis://xxxxx@127.0.0.1:6379/0"},
		{"redis://u:p@ss@127.0.0.1:bad", "redis://xxxxx@127.0.0.1:bad"},
		{"redis-sentinel://h:26379/m?sentinel_password=s3cret&db=1", "redis-sentinel://h:26379/m?sentinel_password=xxxxx"},
		{"mysql://root:pw@127.0.0.1:3306/test?table=x", "mysql://xxxxx@127.0.0.1:3306/test?table=x"},
		{"root:pw@tcp(127.0.0.1:3306)/test", "xxxxx@tcp(127.0.0.1:3306)/test"},
		{"root:0://@tcp(127.0.0.1:3306)/test", "xxxxx@tcp(127.0.0.1:3306)/test"},
		{"host=db user=u password=hunter2 dbname=app", "host=db user=u password=xxxxx dbname=app"},
		{"host=db password='a b c' dbname=app", "host=db password=xxxxx dbname=app"},
		{`parse "mysql://u:p/ss@h:x/db": invalid port ":x" after host`, `parse "mysql://xxxxx@h:x/db": invalid port ":x" after host`},
		{"sqlite:/var/lib/app/sessions.db?table=s", "sqlite:/var/lib/app/sessions.db?table=s"},
		// Issue 18: an unescaped "&" in a password parameter; an "@" in
		// one does not end the userinfo rule inside it.
		{"redis://127.0.0.1:1/0?password=Zq7&Kw9Xy", "redis://127.0.0.1:1/0?password=xxxxx"},
		{`parse "postgres://db/app?password=Zq7&Kw9Xy": missing "="`, `parse "postgres://db/app?password=xxxxx missing "="`},
		{"redis://h:1/0?password=a@bcdef&db=1", "redis://xxxxx"},
		{"postgres://db/app?password=&user=u", "postgres://db/app?password=xxxxx"},
		{"host=db password= dbname=app", "host=db password= xxxxx"}, // libpq reads the password "dbname=app"
		{"host=db password=Zq7&Kw9Xy dbname=app", "host=db password=xxxxx dbname=app"},
		// A parameter naming where the secret is holds none: the ones
		// after it stay readable.
		{"django+sqlite:/db.sqlite3?secret_key_env=APP_SECRET&table=no_such_table", "django+sqlite:/db.sqlite3?secret_key_env=xxxxx&table=no_such_table"},
		{"django+postgres://db/app?secret_key_env=S&cookie_age=soon", "django+postgres://db/app?secret_key_env=xxxxx&cookie_age=soon"},
		{"redis://h/0?password_file=/run/pw&db=1", "redis://h/0?password_file=xxxxx&db=1"},
		{`opening "postgres://db/app": connect host=db password=hunter2 dbname=app`, `opening "postgres://db/app": connect host=db password=xxxxx dbname=app`},
		{"host=db password=", "host=db password=xxxxx"},
		{"redis://127.0.0.1:6379/0?PASSWORD=x&Token=y", "redis://127.0.0.1:6379/0?PASSWORD=xxxxx"},
		// Names drivers unescape (pgx reads p%61ssword as password), an
		// escaped "=" putting the value in the name, and libpq's
		// backslash escapes inside a quoted value.
		{"postgres://app@db/app?p%61ssword=Hunter2Secret", "postgres://xxxxx@db/app?xxxxx"},
		{"postgres://db/app?sslmode=disable&p%61ssword=Hunter2Secret", "postgres://db/app?sslmode=disable&xxxxx"},
		{"postgres://db/app?password%3DHunter2Secret", "postgres://db/app?xxxxx"},
		{"postgres://db/app?appl%69cation_name=x&sslmode=disable", "postgres://db/app?appl%69cation_name=x&sslmode=disable"},
		{"postgres://u@h/db?x%41=1&p%61ssword=hunter2", "postgres://xxxxx@h/db?x%41=1&xxxxx"},
		{"postgres://h/db?app%20name=x&p%61ssword=hunter2 rest", "postgres://h/db?app%20name=x&xxxxx rest"},
		{`host=db password='ab\'Hunter2 Secret' dbname=app`, "host=db password=xxxxx dbname=app"},
		{`host=db password='ab\\' dbname=app`, "host=db password=xxxxx dbname=app"},
	}
	for _, c := range cases {
		if got := Redact(c.in); got != c.want {
			t.Errorf("Redact(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

// templates place a password (%[1]s raw, %[2]s query-escaped) where store
// URLs and connection strings carry one.
var templates = []string{
	"redis://user:%[1]s@127.0.0.1:6379/0",
	"redis://:%[1]s@127.0.0.1:6379",
	"rediss://user:%[1]s@host:bad/0?prefix=p:",
	"redis-sentinel://u:%[1]s@h1:26379,h2:26379/mymaster?sentinel_password=%[2]s",
	"redis-cluster://u:%[1]s@h1:7000,h2:7001",
	"postgres://u:%[1]s@db:5432/app?sslmode=disable",
	"postgres://db:5432/app?user=u&password=%[2]s&sslmode=disable",
	"postgres://db:5432/app?password=%[1]s&sslmode=disable",
	"postgres://db:5432/app?sslmode=disable&p%61ssword=%[2]s",
	"postgres://db:5432/app?x%41=1&p%61ssword=%[2]s",
	"redis-sentinel://h1:26379/mymaster?sentinel_password=%[1]s&db=1",
	"postgresql:///app?host=/run/postgresql&sslpassword=%[2]s",
	"mysql://root:%[1]s@127.0.0.1:3306/test?table=t",
	"root:%[1]s@tcp(127.0.0.1:3306)/test",
	"host=db user=u password=%[2]s dbname=app",
	`opening "redis://u:%[1]s@h:1": dial tcp: refused`,
}

// No password placed in any of the templates survives Redact, whatever its
// bytes: raw in userinfo (where "/", "@", "?" and ":" break URL parsers),
// query-escaped in a parameter.
func FuzzRedact(f *testing.F) {
	for _, seed := range []string{"hunter2", "pa/ss", "p@ss", "a?b#c", "x:y", "%zz", "s3cr3t&more", "ünïcödé"} {
		f.Add(seed, uint8(0))
	}
	f.Fuzz(func(t *testing.T, pw string, which uint8) {
		tpl := templates[int(which)%len(templates)]
		if len(pw) < 4 || strings.ContainsAny(pw, " \t\n\f\r\x00") {
			return // too short to tell apart from the rest of the URL; whitespace ends a DSN value
		}
		esc := url.QueryEscape(pw)
		u := strings.ReplaceAll(strings.ReplaceAll(tpl, "%[1]s", pw), "%[2]s", esc)
		bare := strings.ReplaceAll(strings.ReplaceAll(tpl, "%[1]s", ""), "%[2]s", "")
		out := Redact(u)
		for _, secret := range []string{pw, esc} {
			if strings.Contains(bare, secret) || strings.Contains(Mask, secret) {
				return // the template itself holds those bytes
			}
			// Bytes that run into a mask ("xxx@" of "xxxxx@") are the
			// mask's.
			if strings.Contains(strings.ReplaceAll(out, Mask, "\x00"), secret) {
				t.Fatalf("Redact(%q) = %q still holds the password %q", u, out, secret)
			}
		}
		// What a parser says about u, quoting any fragment of it, holds
		// no piece of the password (as written or unescaped) once
		// redacted for u.
		said := "opening " + u
		if _, err := url.Parse(u); err != nil {
			said += ": " + err.Error()
		}
		if _, err := url.ParseQuery(u); err != nil {
			said += ": " + err.Error()
		}
		out = RedactFor(u, said)
		// A piece that runs into a mask ("\"xx" of "\"xxxxx\"" for a
		// password holding "\"xx") is the mask's bytes, not the password's.
		unmasked := strings.ReplaceAll(out, Mask, "\x00")
		// The output's pieces, gathered once: a search of the output for
		// each of the password's pieces took quadratic time on the long
		// inputs the fuzzer grows, and stalled it.
		shown := map[string]bool{}
		for i := 0; i+minPiece <= len(unmasked); i++ {
			shown[unmasked[i:i+minPiece]] = true
		}
		for _, secret := range []string{pw, esc} {
			for i := 0; i+minPiece <= len(secret); i++ {
				piece := secret[i : i+minPiece]
				if strings.Contains(bare, piece) || strings.Contains(Mask, piece) || strings.Contains(Withheld, piece) {
					continue
				}
				if shown[piece] {
					t.Fatalf("RedactFor(%q, %q) = %q holds %q, a piece of the password", u, said, out, piece)
				}
			}
		}
	})
}

func TestRedactFor(t *testing.T) {
	cases := []struct{ rawURL, text, want string }{
		{"redis://:Zq7/Kw9@127.0.0.1:6379", `parse "redis://:Zq7/Kw9@127.0.0.1:6379": invalid port ":Zq7" after host`, Withheld},
		{"redis://u:ab/cdefgh@h:6379", `parse "redis://u:ab/cdefgh@h:6379": invalid port ":ab" after host`, Withheld},
		{"redis-sentinel://h:1/m?sentinel_password=Zq7#Kw9&db=1", "dial h:1: fragment #Kw9&db=1", "dial h:1: fragment xxxxx"},
		{"redis://u:Zq7Kw9@h:1", "dial h:1: auth Zq7Kw9 refused", "dial h:1: auth xxxxx refused"},
		{"postgres://u:Zq7%2FKw9@db/app", "password Zq7/Kw9 refused", "password xxxxx refused"},
		{"postgres://u@db/app", "user u refused at db", "user u refused at db"},
		{"postgres://postgres@localhost/sessions", "host=localhost user=postgres database=sessions", "host=localhost user=postgres database=sessions"},
		{"redis://u:ab@h:1", "ab refused", "ab refused"},
		// A MySQL DSN whose password begins with "//" and holds a ":"
		// (read as a URL: a user name and an empty password), and one
		// holding "://".
		{"root://%8!:@tcp(127.0.0.1:3306)/test", `invalid URL escape "%8!"`, Withheld},
		{"root:%8!@tcp(127.0.0.1:3306)/test", `invalid URL escape "%8!"`, `invalid URL escape "xxxxx"`},
		{"root:0://x@tcp(127.0.0.1:3306)/test", `parse "root:0://x@tcp(127.0.0.1:3306)/test": first path segment in URL cannot contain colon`, Withheld},
		{"redis://h:1/0?password=Zq7&Kw9Xy", "redis: unexpected option: Kw9Xy, password", "redis: unexpected option: xxxxx, password"},
		{"postgres://db/app?password=Zq7&Kw9Xy", `missing key/value separator "=": "Kw9Xy"`, `missing key/value separator "=": "xxxxx"`},
		{"postgres://db/app?p%61ssword=Zq7Kw9Xy", `server refused "Zq7Kw9Xy"`, `server refused "xxxxx"`},
		{"postgres://db/app?password%3DZq7Kw9Xy", `unknown parameter "password=Zq7Kw9Xy"`, `unknown parameter "password=xxxxx"`},
	}
	for _, c := range cases {
		if got := RedactFor(c.rawURL, c.text); got != c.want {
			t.Errorf("RedactFor(%q, %q)\n got %q\nwant %q", c.rawURL, c.text, got, c.want)
		}
	}
}
