package django

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"
)

// djangoHash builds a pbkdf2_sha256 hash as Django's PBKDF2PasswordHasher
// encodes it.
func djangoHash(t testing.TB, password, salt string, iterations int) string {
	key, err := pbkdf2.Key(sha256.New, password, []byte(salt), iterations, 32)
	if err != nil {
		t.Fatal(err)
	}
	return "pbkdf2_sha256$" + strconv.Itoa(iterations) + "$" + salt + "$" + base64.StdEncoding.EncodeToString(key)
}

// checkPassword on hashes in Django's encoding: the password verifies,
// anything else does not, nor do hashes out of bounds or unusable
// passwords (hashes a real Django wrote: TestAuthenticate).
func TestCheckPassword(t *testing.T) {
	hash := djangoHash(t, "pw-ann", "aSaltOfDjango123", 1000)
	for _, tc := range []struct {
		encoded, password string
		want              bool
	}{
		{hash, "pw-ann", true},
		{hash, "pw-an", false},
		{hash[:len(hash)-2] + "A=", "pw-ann", false},
		{"pbkdf2_sha256$0$s$" + base64.StdEncoding.EncodeToString(make([]byte, 32)), "", false},
		{"pbkdf2_sha256$" + strconv.Itoa(maxIterations+1) + "$s$" + base64.StdEncoding.EncodeToString(make([]byte, 32)), "", false},
		{"!unusable", "", false},
		{"", "", false},
	} {
		if got, _, err := checkPassword(tc.encoded, tc.password); got != tc.want || err != nil {
			t.Errorf("checkPassword(%q, %q) = %v, %v; want %v", tc.encoded, tc.password, got, err, tc.want)
		}
	}
}

// A hash of a hasher this package does not verify is named by its
// algorithm, never quoted: a legacy unsalted MD5 hash or a password stored
// in clear has no "$", and the whole of it was in the error (which the
// demo logs).
func TestUnsupportedHasherNotQuoted(t *testing.T) {
	for encoded, name := range map[string]string{
		"md5$salt$5f4dcc3b5aa765d61d8327deb882cf99":   `"md5"`,
		"argon2$argon2id$v=19$m=102400$c2FsdA$aGFzaA": `"argon2"`,
		"5f4dcc3b5aa765d61d8327deb882cf99":            "no format",
		"Hunter2 in clear":                            "no format",
		"Hunter2$clear with a dollar":                 "no format",
	} {
		ok, _, err := checkPassword(encoded, "pw")
		if ok || !errors.Is(err, ErrUnsupportedHasher) || !strings.Contains(err.Error(), name) {
			t.Fatalf("checkPassword(%q) = %v, %v; want ErrUnsupportedHasher naming %s", encoded, ok, err, name)
		}
		rest := encoded
		if name != "no format" {
			_, rest, _ = strings.Cut(encoded, "$")
		}
		if strings.Contains(err.Error(), rest) {
			t.Fatalf("the error for %q quotes the hash: %v", encoded, err)
		}
	}
}

// FuzzCheckPassword: the hash parser never panics, refuses iteration
// counts beyond the cap without computing them, and a hash built the
// way Django builds it verifies its password and no other.
func FuzzCheckPassword(f *testing.F) {
	f.Add("pbkdf2_sha256$1000$salt$"+base64.StdEncoding.EncodeToString(make([]byte, 32)), "pw", "salt", uint16(1))
	f.Add("pbkdf2_sha1$1$s$AAAAAAAAAAAAAAAAAAAAAAAAAAA=", "", "s", uint16(2))
	f.Add("md5$salt$0123", "pw", "", uint16(3))
	f.Add("$$$", "", "$", uint16(0))
	f.Fuzz(func(t *testing.T, encoded, password, salt string, iterations uint16) {
		if parts := strings.Split(encoded, "$"); len(parts) > 1 {
			if n, err := strconv.Atoi(parts[1]); err == nil && n > 10_000 {
				return // valid but slow by design; the cap is TestCheckPassword's
			}
		}
		checkPassword(encoded, password)
		if iterations == 0 || len(salt) == 0 || containsDollar(salt) {
			return
		}
		hash := djangoHash(t, password, salt, int(iterations%64)+1)
		if ok, _, err := checkPassword(hash, password); !ok || err != nil {
			t.Fatalf("own hash of %q refused: %v", password, err)
		}
		if ok, _, _ := checkPassword(hash, password+"x"); ok {
			t.Fatalf("hash of %q accepted %q", password, password+"x")
		}
	})
}

func containsDollar(s string) bool { return strings.Contains(s, "$") }
