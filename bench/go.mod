module github.com/sessionkit/session/bench

go 1.26.0

require (
	github.com/sessionkit/session v0.0.0-00010101000000-000000000000
	github.com/sessionkit/session/stores/pgstore v0.0.0-00010101000000-000000000000
	github.com/sessionkit/session/stores/redisstore v0.0.0-00010101000000-000000000000
)

require (
	github.com/alexedwards/scs/postgresstore v0.0.0-20251002162104-209de6e426de // indirect
	github.com/alexedwards/scs/redisstore v0.0.0-20251002162104-209de6e426de // indirect
	github.com/alexedwards/scs/v2 v2.9.0 // indirect
	github.com/gomodule/redigo v1.9.3 // indirect
	github.com/gorilla/securecookie v1.1.2 // indirect
	github.com/gorilla/sessions v1.4.0 // indirect
	github.com/lib/pq v1.12.3 // indirect
)

replace (
	github.com/sessionkit/session => ..
	github.com/sessionkit/session/stores/pgstore => ../stores/pgstore
	github.com/sessionkit/session/stores/redisstore => ../stores/redisstore
)
