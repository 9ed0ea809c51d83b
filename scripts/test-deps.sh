#!/usr/bin/env bash
# Makes sure what the test suite talks to is here, on a fresh machine of
# this project's kind (Debian, root, services installed): starts
# PostgreSQL, MariaDB and Redis when they are not running, and installs
# Debian's Chromium (the demo's browser test), memcached and the Python
# frameworks (the interop tests) when they are missing. test.sh
# runs it first; tests that need a server fail (never skip) when it is
# missing.
#
# With an argument it does one half: "services" (start what is not
# running: seconds) or "packages" (install what is missing: on a fresh
# machine about a minute of downloads and dpkg, which test.sh runs in the
# background while the static checks compile).
set -euo pipefail
part=${1:-all}
case $part in
all | services | packages) ;;
*)
	echo "usage: $0 [services|packages]" >&2
	exit 2
	;;
esac

log() { printf '==> %s\n' "$*"; }

wait_for() { # name, command...
	local name=$1; shift
	for _ in $(seq 1 60); do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 1
	done
	echo "service $name did not come up" >&2
	return 1
}

# apt-get install as root, or through sudo.
install_packages() {
	local sudo=""
	if [ "$(id -u)" != 0 ]; then sudo=sudo; fi
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -q || true
	$sudo apt-get install -y -q "$@"
}

services() {
# PostgreSQL on 127.0.0.1:5432 (trust auth, database test).
if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then
	log "starting PostgreSQL"
	pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
	wait_for postgresql pg_isready -q -h 127.0.0.1 -p 5432
fi

# MariaDB on 127.0.0.1:3306 (root, empty password, database test).
if command -v mariadb >/dev/null && ! mariadb -uroot -h127.0.0.1 -e 'select 1' >/dev/null 2>&1; then
	log "starting MariaDB"
	start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
	wait_for mariadb mariadb -uroot -h127.0.0.1 -e 'select 1'
fi

# Redis on 127.0.0.1:6379.
if command -v redis-cli >/dev/null && ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
	log "starting Redis"
	mkdir -p /var/lib/redis /var/log/redis
	redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
		--dir /var/lib/redis --logfile /var/log/redis/ci.log
	wait_for redis redis-cli -h 127.0.0.1 -p 6379 ping
fi

}

packages() {
# What a fresh machine lacks, installed in one apt-get run (one package
# index update): Django (with django-redis and its PostgreSQL and MariaDB
# drivers), Flask (with Flask-Session), Starlette and FastAPI for the
# interop tests, as Debian's packages, which install into Debian's own
# interpreter; memcached for the Memcached store's tests, which start
# their own servers on free loopback ports; Chromium for the demo's
# end-to-end browser test.
missing=()
if ! /usr/bin/python3 -c 'import django, django_redis, redis_sessions, msgpack, psycopg2, MySQLdb, flask, flask_session, redis, starlette, fastapi, itsdangerous, httpx' >/dev/null 2>&1; then
	log "to install: Django (with django-redis and django-redis-sessions), Flask, Flask-Session, Starlette and FastAPI (Debian packages)"
	missing+=(python3-django python3-django-redis python3-django-redis-sessions python3-msgpack python3-psycopg2 python3-mysqldb python3-flask python3-flask-session python3-redis python3-starlette python3-fastapi python3-itsdangerous python3-httpx)
fi
if ! command -v memcached >/dev/null 2>&1; then
	log "to install: memcached (Debian package)"
	missing+=(memcached)
fi
if ! command -v chromium >/dev/null 2>&1; then
	log "to install: chromium (Debian package)"
	missing+=(chromium)
fi
if [ ${#missing[@]} -gt 0 ]; then
	install_packages "${missing[@]}"
fi
}

if [ "$part" != packages ]; then services; fi
if [ "$part" != services ]; then packages; fi
