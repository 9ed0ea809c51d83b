package django

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
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
