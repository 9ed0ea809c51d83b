package django

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// pre31 is SPEC 3.3's example: what Django 3.2 in DEFAULT_HASHING_ALGORITHM
// = "sha1" wrote for SPEC 2.2's dict under fixtureSecret.
const pre31 = "OWY3ZmIwZDg0MWIxNmNjNzg3MmQwN2UxNmQ4YjJhNTlhN2RhMTY3MTp7ImNhcnQiOlszLDEsNF0sIm5hbWUiOiJab1x1MDBlYiJ9"

// pre31Of encodes payload in the pre-3.1 format under secret.
func pre31Of(secret string, payload []byte) string {
	k := sha1.Sum([]byte(legacySessionSalt("SessionStore") + secret))
	mac := hmac.New(sha1.New, k[:])
	mac.Write(payload)
	return base64.StdEncoding.EncodeToString(append([]byte(hex.EncodeToString(mac.Sum(nil))+":"), payload...))
}

// SPEC 3.3.2: the pre-3.1 format is read (with AcceptSHA1, see the db
// store), its digest keyed with "django.contrib.sessions" + the class name
// (no dot: the signing salt's dot makes every digest fail), under the
// secret or a fallback; anything else is a bad signature.
func TestDecodePre31(t *testing.T) {
	s := sessionSigner()
	got, err := s.decodePre31(pre31, legacySessionSalt("SessionStore"))
	if err != nil || string(got) != `{"cart":[3,1,4],"name":"Zo\u00eb"}` {
		t.Fatalf("SPEC's example: %q, %v", got, err)
	}
	if _, err := s.decodePre31(pre31, SessionSalt("SessionStore")); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("keyed with the signing salt: %v", err)
	}
	rotated := *s
	rotated.Secret, rotated.Fallbacks = "a new secret", []string{fixtureSecret}
	if _, err := rotated.decodePre31(pre31, legacySessionSalt("SessionStore")); err != nil {
		t.Fatalf("under a fallback secret: %v", err)
	}
	raw, _ := base64.StdEncoding.DecodeString(pre31)
	upper := base64.StdEncoding.EncodeToString(append([]byte(strings.ToUpper(string(raw[:40]))), raw[40:]...))
	tampered := base64.StdEncoding.EncodeToString(append(raw[:len(raw)-2:len(raw)-2], []byte("0}")...))
	for name, data := range map[string]string{
		"tampered JSON":      tampered,
		"upper-case digest":  upper, // Django compares the lower-case hexdigest
		"another secret":     pre31Of("another secret", []byte(`{"a":1}`)),
		"no digest":          base64.StdEncoding.EncodeToString([]byte(`{"a":1}`)),
		"not base64":         "not base64!",
		"unpadded base64":    strings.TrimRight(pre31Of(fixtureSecret, []byte(`{"a":12}`)), "="),
		"a digest too short": base64.StdEncoding.EncodeToString([]byte("abc:{}")),
	} {
		if _, err := s.decodePre31(data, legacySessionSalt("SessionStore")); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: %v, want ErrBadSignature", name, err)
		}
	}
	small := *s
	small.MaxPayload = 10
	if _, err := small.decodePre31(pre31Of(fixtureSecret, []byte(`{"a":"0123456789"}`)), legacySessionSalt("SessionStore")); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("over MaxPayload: %v", err)
	}
}

func FuzzDecodePre31(f *testing.F) {
	s := sessionSigner()
	f.Add(pre31)
	f.Add(`{"a":1}`)
	f.Add("")
	f.Fuzz(func(t *testing.T, v string) {
		// As it comes, and as the payload of a valid digest, so that what
		// follows the digest check is fuzzed too.
		for _, data := range []string{v, pre31Of(fixtureSecret, []byte(v))} {
			out, err := s.decodePre31(data, legacySessionSalt("SessionStore"))
			if err != nil {
				if !errors.Is(err, ErrBadSignature) && !errors.Is(err, ErrTooLarge) {
					t.Fatalf("decodePre31(%q): error of no class: %v", data, err)
				}
				continue
			}
			if len(out) > DefaultMaxPayload {
				t.Fatalf("%d bytes", len(out))
			}
			if data != v && string(out) != v {
				t.Fatalf("decoded %q from a digest of %q", out, v)
			}
			decodeSession(out)
		}
	})
}
