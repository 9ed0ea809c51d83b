package django

import (
	"bytes"
	"compress/zlib"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"
)

const fixtureSecret = "django-insecure-interop-fixture-secret-0123456789abcdef"

var fixtureTime = time.Unix(1767225600, 0)

func sessionSigner() *Signer {
	return &Signer{Secret: fixtureSecret, Salt: SessionSalt("SessionStore")}
}

// SPEC 2.2 worked example: the exact session_data Django writes.
func TestSignMatchesDjango(t *testing.T) {
	d := newDict()
	d.set("cart", []byte("[3,1,4]"))
	d.set("name", []byte(`"Zoë"`)) // raw UTF-8, as encoding/json writes it
	data := encodeSession(d)
	if string(data) != `{"cart":[3,1,4],"name":"Zo\u00eb"}` {
		t.Fatalf("JSON %s", data)
	}
	got := sessionSigner().Sign(data, true, fixtureTime) // 34 bytes: compression does not pay
	want := "eyJjYXJ0IjpbMywxLDRdLCJuYW1lIjoiWm9cdTAwZWIifQ:1vb66i:-1omULnpbfocZB3icCnuoc7ymECGe9C-Etc-o5N2-7M"
	if got != want {
		t.Fatalf("signed\n got %s\nwant %s", got, want)
	}
	// Django's signed_cookies backend: the same payload under its own salt.
	cookie := (&Signer{Secret: fixtureSecret, Salt: "django.contrib.sessions.backends.signed_cookies"}).Sign(data, false, fixtureTime)
	if cookie != "eyJjYXJ0IjpbMywxLDRdLCJuYW1lIjoiWm9cdTAwZWIifQ:1vb66i:HRVMWlA4_k1dj-ruTYDYhd_LqhNDRi_GZdrWzvO472Y" {
		t.Fatalf("signed cookie %s", cookie)
	}
}

// SPEC 2.2: a compressed login session written by Django reads back, with
// its astral character and its login keys.
func TestUnsignCompressedDjangoLogin(t *testing.T) {
	v := ".eJxVjM0KgzAQhF-l5CwhMdEkHnvvC7QW2c2uP21R0HgqffcqePEyAzPfzFdEmJOoHibTmX1mopuZ0zB2ohL3qV6VYrzUa14qsxl5Q5uyUiITDaypb9aF52agDdfnDCG-edwLesHYTTJOY5oHlDsij3aRt4n4cz3Y00EPS7-vOSgPBJiz1iYv0IYCY-AWXfTkQizJg4vWQVloiqhU21LY1OZkPaH4_QFEBUnN:1vb66i:FrctkVHGHVXbXhOcpuHMfjFGkXQ-DnURvLuGHtbxN1E"
	data, err := sessionSigner().Unsign(v, 0, fixtureTime)
	if err != nil {
		t.Fatal(err)
	}
	d, err := decodeSession(data)
	if err != nil {
		t.Fatal(err)
	}
	var greeting, hash string
	if !jsonString(d.vals["greeting"], &greeting) || greeting != "Zoë ☃ 😀" {
		t.Fatalf("greeting %q", greeting)
	}
	if !jsonString(d.vals[KeyUserHash], &hash) || hash != SessionAuthHash(fixtureSecret, "pbkdf2_sha256$260000$interopFixtureSalt0123456789$cvRA6kkz87oCnv/meNlcWjJfnErcVSmZiYta4DrGUBM=") {
		t.Fatalf("auth hash %q", hash)
	}
	if hash != "de908adab2e11325b495bc9efb7c8d79c6d8a7c47a651dcb00ffd900f42d48db" {
		t.Fatalf("auth hash %s", hash)
	}
	// Written back by Go, the same text Django wrote (order kept, ASCII escapes).
	if got := string(encodeSession(d)); got != `{"cart":[3,1,4],"greeting":"Zo\u00eb \u2603 \ud83d\ude00","_auth_user_id":"1","_auth_user_backend":"django.contrib.auth.backends.ModelBackend","_auth_user_hash":"de908adab2e11325b495bc9efb7c8d79c6d8a7c47a651dcb00ffd900f42d48db"}` {
		t.Fatalf("re-encoded %s", got)
	}
}

// SPEC 2.4 pitfall: raw UTF-8 in Django's JSON is read by Django as
// latin-1 mojibake. The writer escapes; the reader refuses such bytes.
func TestDjangoJSONIsASCII(t *testing.T) {
	d := newDict()
	d.set("name", []byte(`"Zoë ☃ 😀 <&>"`))
	got := string(encodeSession(d))
	if got != `{"name":"Zo\u00eb \u2603 \ud83d\ude00 <&>"}` {
		t.Fatalf("encoded %s", got)
	}
	if _, err := decodeSession([]byte(`{"name":"Zoë"}`)); !errors.Is(err, ErrNotASCII) {
		t.Fatalf("raw UTF-8 accepted: %v", err)
	}
}

// SPEC 3.2 pitfall: the salt comes from the store's class name; data of
// one store class does not verify under another.
func TestSaltFromStoreClass(t *testing.T) {
	v := sessionSigner().Sign([]byte(`{}`), false, fixtureTime)
	other := &Signer{Secret: fixtureSecret, Salt: SessionSalt("MySessionStore")}
	if _, err := other.Unsign(v, 0, fixtureTime); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("another store class verified: %v", err)
	}
}

func TestUnsignRefuses(t *testing.T) {
	s := sessionSigner()
	good := s.Sign([]byte(`{"a":1}`), false, fixtureTime)
	for name, v := range map[string]string{
		"wrong secret":    (&Signer{Secret: "x", Salt: s.Salt}).Sign([]byte(`{"a":1}`), false, fixtureTime),
		"tampered":        strings.Replace(good, "eyJ", "eyK", 1),
		"no separator":    "abc",
		"empty signature": good[:strings.LastIndexByte(good, ':')+1],
		"sha1 signature":  sha1Signed(s, []byte(`{"a":1}`)),
	} {
		if _, err := s.Unsign(v, 0, fixtureTime); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// SHA-1 only when asked for (Django 3.1/3.2 legacy data).
	legacy := *s
	legacy.AcceptSHA1 = true
	if _, err := legacy.Unsign(sha1Signed(s, []byte(`{"a":1}`)), 0, fixtureTime); err != nil {
		t.Errorf("SHA-1 with AcceptSHA1: %v", err)
	}
	// A fallback secret verifies (SECRET_KEY_FALLBACKS).
	rotated := &Signer{Secret: "new-secret", Fallbacks: []string{fixtureSecret}, Salt: s.Salt}
	if _, err := rotated.Unsign(good, 0, fixtureTime); err != nil {
		t.Errorf("fallback secret: %v", err)
	}
	// Expiry by timestamp (signed_cookies' max age).
	if _, err := s.Unsign(good, time.Hour, fixtureTime.Add(time.Hour+time.Second)); !errors.Is(err, ErrExpired) {
		t.Errorf("expired: %v", err)
	}
	if _, err := s.Unsign(good, time.Hour, fixtureTime.Add(time.Hour)); err != nil {
		t.Errorf("at max age: %v", err)
	}
}

func sha1Signed(s *Signer, data []byte) string {
	value := base64.RawURLEncoding.EncodeToString(data) + ":" + encodeBase62(fixtureTime.Unix())
	return value + ":" + s.signature(sha1.New, s.Secret, value)
}

// A compressed payload cannot inflate beyond the bound.
func TestDecompressionBomb(t *testing.T) {
	var b bytes.Buffer
	w := zlib.NewWriter(&b)
	w.Write([]byte(`{"a":"`))
	w.Write(bytes.Repeat([]byte("A"), 50<<20))
	w.Write([]byte(`"}`))
	w.Close()
	s := sessionSigner()
	value := "." + base64.RawURLEncoding.EncodeToString(b.Bytes()) + ":" + encodeBase62(fixtureTime.Unix())
	signed := value + ":" + s.signature(sha256.New, s.Secret, value)
	if _, err := s.Unsign(signed, 0, fixtureTime); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("bomb: %v", err)
	}
}

// SPEC 7.3: pickle and Python's float specials are refused with typed errors.
func TestRefusals(t *testing.T) {
	var pe *PickleError
	if _, err := decodeSession([]byte("\x80\x04\x95\x10\x00")); !errors.As(err, &pe) || !strings.Contains(err.Error(), "SESSION_SERIALIZER") {
		t.Fatalf("pickle: %v", err)
	}
	for _, v := range []string{`{"a":NaN}`, `{"a":Infinity}`, `{"a":-Infinity}`} {
		if _, err := decodeSession([]byte(v)); !errors.Is(err, ErrNonStandardJSON) {
			t.Errorf("%s: %v", v, err)
		}
	}
	d, err := decodeSession([]byte(`{"n":9007199254740993,"a":1,"a":2}`))
	if err != nil || string(d.vals["n"]) != "9007199254740993" || string(d.vals["a"]) != "2" || len(d.keys) != 2 {
		t.Fatalf("numbers and repeated keys: %v %v", d, err)
	}
}

func TestBase62(t *testing.T) {
	if got := encodeBase62(1767225600); got != "1vb66i" {
		t.Fatal(got)
	}
	for _, n := range []int64{0, 1, 61, 62, 1767225600, 1 << 40} {
		if got, ok := decodeBase62(encodeBase62(n)); !ok || got != n {
			t.Errorf("%d: %d %v", n, got, ok)
		}
	}
	for _, s := range []string{"", "-1", "zzzzzzzzzzz", "1vb6 i"} {
		if _, ok := decodeBase62(s); ok {
			t.Errorf("%q accepted", s)
		}
	}
}

func FuzzUnsign(f *testing.F) {
	s := sessionSigner()
	f.Add(s.Sign([]byte(`{"a":1}`), false, fixtureTime))
	f.Add(s.Sign(bytes.Repeat([]byte(`{"a":1}`), 20), true, fixtureTime))
	f.Add("a:b:c")
	f.Add(".eJwrzs9NVcjMKygtUcgvSy1SSMsvyklRBABbTQi5:1vb6i0")
	f.Fuzz(func(t *testing.T, v string) {
		// As it comes (almost always refused at the signature), and
		// signed, so that what follows the signature check (the
		// timestamp, base64, zlib, the size limit, the JSON) is fuzzed
		// too.
		for _, signed := range []string{v, v + ":" + s.signature(sha256.New, s.Secret, v)} {
			data, err := s.Unsign(signed, 0, fixtureTime)
			if err != nil {
				if !errors.Is(err, ErrBadSignature) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrLegacyFormat) && !errors.Is(err, ErrExpired) {
					t.Fatalf("Unsign(%q): error of no class: %v", signed, err)
				}
				continue
			}
			if len(data) > DefaultMaxPayload {
				t.Fatalf("%d bytes", len(data))
			}
			decodeSession(data)
		}
	})
}

// SPEC 7.2: the signature is verified before anything is decoded: a
// compressed payload that would inflate far beyond the limit, unsigned or
// badly signed, is refused as a bad signature without being inflated
// (properly signed, it is refused by size: TestDecompressionBomb). The
// inflation limit is raised out of the way, so that only the order of the
// checks can keep the allocations under 1 MiB (the default limit, 1 MiB,
// would nearly hide a decoder that inflated first).
func TestUnsignedBombNotInflated(t *testing.T) {
	s := sessionSigner()
	s.MaxPayload = 1 << 30
	var b bytes.Buffer
	w := zlib.NewWriter(&b)
	w.Write(bytes.Repeat([]byte(" "), 64<<20))
	w.Close()
	value := "." + base64.RawURLEncoding.EncodeToString(b.Bytes()) + ":" + encodeBase62(fixtureTime.Unix())
	good := s.signature(sha256.New, s.Secret, value)
	for name, signed := range map[string]string{
		"unsigned":       value,
		"bad signature":  value + ":" + strings.Repeat("A", len(good)),
		"other secret":   value + ":" + s.signature(sha256.New, "another secret", value),
		"empty":          value + ":",
		"signature only": ":" + good,
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := s.Unsign(signed, 0, fixtureTime)
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrBadSignature) {
			t.Fatalf("%s: %v, want ErrBadSignature", name, err)
		}
		if grown := after.TotalAlloc - before.TotalAlloc; grown > 1<<20 {
			t.Fatalf("%s: refusing it allocated %d bytes: the payload was inflated", name, grown)
		}
	}
}

// FuzzDecodeSession: any payload decodes or fails cleanly; what decodes
// re-encodes to ASCII that decodes to the same dictionary.
func FuzzDecodeSession(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":[1,{"b":"\u00eb"}]}`, `{"a":NaN}`, "\x80\x04", `{"a":1,"a":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := decodeSession(data)
		if err != nil {
			return
		}
		out := encodeSession(d)
		d2, err := decodeSession(out)
		if err != nil {
			t.Fatalf("re-encoded %s: %v", out, err)
		}
		if len(d2.keys) != len(d.keys) {
			t.Fatalf("keys %v vs %v", d.keys, d2.keys)
		}
		for _, k := range d.keys {
			if !bytes.Equal(d.vals[k], d2.vals[k]) {
				t.Fatalf("%q: %s vs %s", k, d.vals[k], d2.vals[k])
			}
		}
	})
}

// FuzzDecodeMsgpack: any value decodes or fails cleanly, and what decodes
// encodes back to msgpack that decodes to the same JSON values.
func FuzzDecodeMsgpack(f *testing.F) {
	d := newDict()
	d.set("cart", []byte(`[3,1.5,"Zo\u00eb"]`))
	d.set("n", []byte(`{"a":null,"b":true}`))
	seed, _ := encodeMsgpack(d)
	f.Add(seed)
	f.Add([]byte{0x80})
	f.Add([]byte{0x81, 0xa1, 'a', 0xc4, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := decodeMsgpack(data)
		if err != nil {
			return
		}
		out, err := encodeMsgpack(d)
		if err != nil {
			t.Fatalf("re-encoding: %v", err)
		}
		d2, err := decodeMsgpack(out)
		if err != nil || len(d2.keys) != len(d.keys) {
			t.Fatalf("round trip: %v %v", d2, err)
		}
	})
}

// Data in a legacy format is refused by a Signer with ErrLegacyFormat,
// which says what to change, and never decoded: SHA-1 signatures unless
// AcceptSHA1, and the pre-3.1 session format always, as it is no
// signing.dumps value (SPEC 3.3; the db store reads it with AcceptSHA1:
// TestDecodePre31, TestDjangoSHA1ModeRows).
func TestLegacyFormats(t *testing.T) {
	s := &Signer{Secret: fixtureSecret, Salt: SessionSalt("SessionStore")}
	withSHA1 := *s
	withSHA1.AcceptSHA1 = true
	for name, tc := range map[string]struct {
		signer *Signer
		data   string
	}{
		"sha1 signature":            {s, sha1Signed(s, []byte(`{"a":1}`))},
		"pre-3.1 format":            {s, pre31},
		"pre-3.1 format, with SHA1": {&withSHA1, pre31},
	} {
		_, err := tc.signer.Unsign(tc.data, 0, fixtureTime)
		if !errors.Is(err, ErrLegacyFormat) || !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: %v, want ErrLegacyFormat", name, err)
		}
	}
	other := &Signer{Secret: "another secret", Salt: s.Salt}
	for name, data := range map[string]string{
		"sha1 signature of another secret": sha1Signed(other, []byte(`{"a":1}`)),
		"base64 without a digest":          base64.StdEncoding.EncodeToString([]byte(`{"cart":[3,1,4],"name":"Zo\u00eb","padding":"........"}`)),
		"not base64":                       "not base64 at all",
	} {
		if _, err := s.Unsign(data, 0, fixtureTime); !errors.Is(err, ErrBadSignature) || errors.Is(err, ErrLegacyFormat) {
			t.Errorf("%s: %v, want ErrBadSignature only", name, err)
		}
	}
}

// cacheDecoders decode as each django-redis serializer does, with a small
// bound on inflated values.
func cacheDecoders() []cacheValue {
	return []cacheValue{{max: 1 << 16}, {max: 1 << 16, msgpack: true}}
}

func zlibOf(data []byte) []byte {
	var b bytes.Buffer
	w := zlib.NewWriter(&b)
	w.Write(data)
	w.Close()
	return b.Bytes()
}

// FuzzDecodeCacheValue: any django-redis value (JSON or msgpack, zlib or
// not, a pickle, garbage) decodes or fails with an error, never a panic,
// and nothing decodes beyond the bound (a zlib bomb is ErrTooLarge); what
// decodes encodes back to a value that decodes to the same keys.
func FuzzDecodeCacheValue(f *testing.F) {
	d := newDict()
	d.set("cart", []byte(`[3,1.5,"Zo\u00eb"]`))
	d.set(KeyUserID, []byte(`"1"`))
	js := encodeSpaced(d)
	mp, _ := encodeMsgpack(d)
	for _, seed := range [][]byte{js, mp, zlibOf(js), zlibOf(mp), {0x80}, []byte("\x80\x04\x95\x0b\x00\x00\x00\x00\x00\x00\x00}\x94."),
		zlibOf(bytes.Repeat([]byte{' '}, 1<<17)), zlibOf([]byte{0x80, 0x04}), []byte("x\x9c"), []byte(`{"a": NaN}`)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		for _, c := range cacheDecoders() {
			d, err := c.decode(raw)
			if err != nil {
				continue
			}
			size := 0
			for _, k := range d.keys {
				size += len(k) + len(d.vals[k])
			}
			// A decoded value is at most the inflated (bounded) or raw
			// bytes re-encoded as JSON: \u escapes make six bytes of one.
			if size > 8*max(c.max, len(raw)) {
				t.Fatalf("%d bytes decoded from %d (bound %d)", size, len(raw), c.max)
			}
			out, err := c.encode(d)
			if err != nil {
				// JSON values msgpack cannot hold exactly are refused, not mangled.
				continue
			}
			d2, err := c.decode(out)
			if err != nil || len(d2.keys) != len(d.keys) {
				t.Fatalf("round trip of %q: %v, %v", raw, d2, err)
			}
		}
	})
}

// A zlib bomb in a django-redis value is refused before it is inflated
// beyond the bound, for either serializer.
func TestCacheValueBomb(t *testing.T) {
	bomb := zlibOf(append([]byte(`{"a": "`), append(bytes.Repeat([]byte{'a'}, 1<<20), `"}`...)...))
	for _, c := range cacheDecoders() {
		if _, err := c.decode(bomb); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("msgpack=%v: %v, want ErrTooLarge", c.msgpack, err)
		}
	}
}
