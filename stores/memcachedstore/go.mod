module github.com/sessionkit/session/stores/memcachedstore

go 1.26.0

require (
	github.com/bradfitz/gomemcache v0.0.0-20260422231931-4d751bb6e37c
	github.com/sessionkit/session v0.1.0
	go.uber.org/goleak v1.3.0
)
