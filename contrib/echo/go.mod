module github.com/sessionkit/session/contrib/echo

go 1.26.0

require (
	github.com/labstack/echo/v5 v5.4.4
	github.com/sessionkit/session v0.1.0
)
