// Package django shares sessions with a Django project, byte for byte: a
// Go service behind the same cookie reads and writes the sessions Django
// issues, and Django keeps accepting the sessions the Go service writes or
// ends.
//
// Store keeps sessions in Django's own django_session table (SQLite,
// PostgreSQL, MariaDB/MySQL), never altering its schema; CachedDB adds
// Django's cached_db behaviour on Redis, CacheStore is Django's cache
// backend on Redis (django-redis) or django-redis-sessions' store
// (NewRedisSessionsStore), SignedCookies its signed_cookies
// backend (a session.ClientStore); Keys is the token
// scheme of Django's session keys; Signer is django.core.signing; and
// SessionAuthHash is the hash Django binds a login to. A Django login is
// honoured only after the same checks Django makes (the user exists, is
// active, logged in through an allowed backend, and the session's hash
// matches the user's current password), so a password change in Django
// logs the Go side out; a Go login writes a session Django accepts as that
// user.
//
// Data is JSON only: a session written with Django's PickleSerializer is
// refused with a *PickleError, never decoded.
//
//	db, _ := sql.Open("pgx", "postgres://.../mysite")
//	store, _ := django.NewStore(db, django.Config{Vendor: django.PostgreSQL, Secret: os.Getenv("DJANGO_SECRET_KEY")})
//	sessions, _ := session.New(store, session.WithTokenScheme(django.Keys{}), session.WithCookieName("sessionid"))
package django
