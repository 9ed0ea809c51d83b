module github.com/sessionkit/session/stores/sqlstore

go 1.26

require github.com/sessionkit/session v0.1.0
