module github.com/sessionkit/session/stores/sqlstore

go 1.26

require github.com/sessionkit/session v0.0.0-00010101000000-000000000000

replace github.com/sessionkit/session => ../..
