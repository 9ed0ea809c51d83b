package django

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
)

// Keys of the session dictionary that django.contrib.auth.login writes.
const (
	KeyUserID      = "_auth_user_id"
	KeyUserBackend = "_auth_user_backend"
	KeyUserHash    = "_auth_user_hash"
)

// KeyCSRFToken is the key under which Django keeps a session's CSRF
// secret when CSRF_USE_SESSIONS is set (django.middleware.csrf.
// CSRF_SESSION_KEY). A Go login removes it, as Django's login rotates it.
const KeyCSRFToken = "_csrftoken"

// ModelBackend is Django's default authentication backend.
const ModelBackend = "django.contrib.auth.backends.ModelBackend"

// SessionAuthHash returns what Django stores as _auth_user_hash for a user
// whose auth_user.password is password (AbstractBaseUser.
// get_session_auth_hash: HMAC-SHA256 keyed with the SHA-256 of its salt and
// SECRET_KEY, hexadecimal). A password change changes it, which logs out
// every session holding the old one.
func SessionAuthHash(secret, password string) string {
	k := sha256.Sum256([]byte("django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash" + secret))
	mac := hmac.New(sha256.New, k[:])
	mac.Write([]byte(password))
	return hex.EncodeToString(mac.Sum(nil))
}

// hmacEqual compares two hashes in constant time.
func hmacEqual(a, b string) bool { return hmac.Equal([]byte(a), []byte(b)) }

// sessionAuthHashSHA1 is SessionAuthHash with SHA-1, as Django 3.1 and 3.2
// also accept (DEFAULT_HASHING_ALGORITHM = "sha1").
func sessionAuthHashSHA1(secret, password string) string {
	k := sha1.Sum([]byte("django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash" + secret))
	mac := hmac.New(sha1.New, k[:])
	mac.Write([]byte(password))
	return hex.EncodeToString(mac.Sum(nil))
}
