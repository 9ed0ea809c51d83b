"""The Django side of the interop tests: a real Django (Debian's
python3-django) configured for one database, answering one JSON command
per line on stdin with one JSON line on stdout.

Run by the Go tests with Debian's interpreter:
    /usr/bin/python3 djangoside.py '{"vendor": "sqlite", "name": "/tmp/x.db"}'
"""
import json
import sys

import django
from django.conf import settings

SECRET = "django-insecure-interop-fixture-secret-0123456789abcdef"


def configure(db):
    if db["vendor"] == "sqlite":
        database = {"ENGINE": "django.db.backends.sqlite3", "NAME": db["name"]}
    elif db["vendor"] == "postgres":
        database = {"ENGINE": "django.db.backends.postgresql", "NAME": db["name"],
                    "USER": "postgres", "HOST": "127.0.0.1", "PORT": "5432"}
    else:
        database = {"ENGINE": "django.db.backends.mysql", "NAME": db["name"],
                    "USER": "root", "PASSWORD": "", "HOST": "127.0.0.1", "PORT": "3306"}
    caches = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    if db.get("cache_prefix"):
        # django-redis with its JSON serializer (its default pickles).
        caches = {"default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/0",
            "KEY_PREFIX": db["cache_prefix"],
            "VERSION": db.get("cache_version", 1),
            "OPTIONS": {"SERIALIZER": "django_redis.serializers.%s" % db.get("serializer", "json.JSONSerializer")},
        }}
        if db.get("compressor"):
            caches["default"]["OPTIONS"]["COMPRESSOR"] = "django_redis.compressors.%s" % db["compressor"]
    extra = {}
    if db.get("use_tz") is False:
        # USE_TZ = False: naive datetimes in TIME_ZONE, which Django makes
        # the process's time zone when it loads a settings module (as a
        # project does; settings.configure alone does not).
        import os
        import time
        extra["TIME_ZONE"] = db.get("time_zone", "America/Chicago")
        os.environ["TZ"] = extra["TIME_ZONE"]
        time.tzset()
    if db.get("redis_sessions_prefix") is not None:
        # django-redis-sessions (SESSION_ENGINE = "redis_sessions.session")
        # on the local Redis, under the test's own prefix.
        extra["SESSION_REDIS"] = {"host": "127.0.0.1", "port": 6379, "db": 0,
                                  "prefix": db["redis_sessions_prefix"]}
    if db.get("sha1"):
        # Django 3.1/3.2's transitional mode: SHA-1 signatures and auth hashes.
        extra["DEFAULT_HASHING_ALGORITHM"] = "sha1"
    if db.get("cookie_age"):
        extra["SESSION_COOKIE_AGE"] = db["cookie_age"]
    if db.get("browser_close"):
        extra["SESSION_EXPIRE_AT_BROWSER_CLOSE"] = True
    if db.get("session_serializer"):
        # e.g. "django.contrib.sessions.serializers.PickleSerializer",
        # which Go must refuse, never decode.
        extra["SESSION_SERIALIZER"] = db["session_serializer"]
    settings.configure(
        SECRET_KEY=db.get("secret", SECRET),
        **extra,
        CACHES=caches,
        USE_TZ=db.get("use_tz", True),
        DATABASES={"default": database},
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "django.contrib.sessions"],
        SESSION_ENGINE=db.get("engine", "django.contrib.sessions.backends.db"),
        # Users are made with the fast MD5 hasher; with "rehash", PBKDF2
        # comes first and Django re-hashes a password at its next login.
        PASSWORD_HASHERS=(["django.contrib.auth.hashers.PBKDF2PasswordHasher"] if db.get("rehash") else [])
        + ["django.contrib.auth.hashers.MD5PasswordHasher"]
        + ([] if db.get("rehash") else ["django.contrib.auth.hashers.PBKDF2PasswordHasher"])
        + ["django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher"],
    )
    django.setup()


# A project's own session store: a subclass of the db backend's under another
# class name, which Django puts in the signing salt
# ("django.contrib.sessions.ProjectSessionStore"). With {"engine":
# "djangoside"} this module is the SESSION_ENGINE; the class is made on first
# use (the backend cannot be imported before settings are configured) with
# type(), so that its __qualname__ is the bare name.
_project_store = None


def __getattr__(name):
    global _project_store
    if name != "SessionStore":
        raise AttributeError(name)
    if _project_store is None:
        from django.contrib.sessions.backends import db as db_backend
        _project_store = type("ProjectSessionStore", (db_backend.SessionStore,), {})
    return _project_store


def db_engine():
    return settings.SESSION_ENGINE in ("django.contrib.sessions.backends.db", "djangoside")


def request_with(key):
    from django.test import RequestFactory
    from importlib import import_module
    engine = import_module(settings.SESSION_ENGINE)
    request = RequestFactory().get("/")
    request.session = engine.SessionStore(session_key=key)
    return request


def handle(cmd):
    from django.contrib import auth
    from django.contrib.auth.models import User
    op = cmd["op"]
    if op == "setup":
        from django.core.management import call_command
        call_command("migrate", verbosity=0, interactive=False)
        from django.contrib.sessions.models import Session
        Session.objects.all().delete()
        User.objects.all().delete()
        ids = {}
        for name in cmd["users"]:
            from django.contrib.auth.hashers import make_password
            # "hashers": the hasher of each user (md5, fast, by default).
            hasher = cmd.get("hashers", {}).get(name, "md5")
            password = "!unusable" if hasher == "unusable" else make_password("pw-" + name, hasher=hasher)
            user = User.objects.create(username=name, password=password, is_active=name not in cmd.get("inactive", []))
            ids[name] = str(user.pk)
        return {"users": ids}
    if op == "login":
        request = request_with(cmd.get("key"))
        user = User.objects.get(username=cmd["user"])
        # "backend": a login through another backend, which get_user
        # honours only if it is in AUTHENTICATION_BACKENDS.
        auth.login(request, user, backend=cmd.get("backend", "django.contrib.auth.backends.ModelBackend"))
        request.session.save()
        return {"key": request.session.session_key}
    if op == "get":
        # "exists": Django loads it (db backend: the row is there and not
        # expired; SessionStore.exists ignores expiry).
        request = request_with(cmd["key"])
        if db_engine():
            exists = request.session._get_session_from_db() is not None
        elif settings.SESSION_ENGINE.endswith("signed_cookies"):
            # the cookie verifies and is not too old
            exists = bool(request.session.load())
        else:  # cache, cached_db: the key is in the cache (or the row is there)
            exists = bool(request.session.exists(cmd["key"]))  # redis_sessions answers an int
        data = dict(request.session.items()) if exists else None
        expiry = None
        if exists:  # what Django's SessionMiddleware puts in the cookie
            expiry = {"age": request.session.get_expiry_age(),
                      "browser_close": request.session.get_expire_at_browser_close()}
        user = auth.get_user(request)
        if db_engine():  # get_user flushes a session whose login no longer holds
            exists = exists and request.session.exists(cmd["key"])
        return {"exists": exists, "data": data, "expiry": expiry, "user": None if user.is_anonymous else str(user.pk)}
    if op == "set":
        request = request_with(cmd["key"])
        if db_engine() and not request.session.exists(cmd["key"]):
            return {"error": "no such session"}
        request.session[cmd["name"]] = cmd["value"]
        request.session.save()
        return {"key": request.session.session_key}
    if op == "anon":  # a new anonymous session holding one value
        request = request_with(None)
        request.session[cmd["name"]] = cmd["value"]
        request.session.save()
        return {"key": request.session.session_key}
    if op == "expiry":
        # request.session.set_expiry(value) then save, as a view does:
        # an int (seconds of inactivity; 0 = until the browser closes) or
        # {"in": seconds} for a datetime that far ahead. Django 3.2's
        # JSONSerializer cannot store a datetime (the db and cached_db
        # backends): the TypeError is answered as "raised", not as an
        # error; django-redis' JSONSerializer stores its ISO string.
        import datetime
        from django.utils import timezone
        request = request_with(cmd["key"])
        value = cmd["value"]
        if isinstance(value, dict):
            value = timezone.now() + datetime.timedelta(seconds=value["in"])
        request.session.set_expiry(value)
        try:
            request.session.save()
        except TypeError as e:
            return {"raised": "TypeError: %s" % e}
        return {"key": request.session.session_key}
    if op == "iso_expiry":
        # A session as Django versions that store set_expiry(datetime) as
        # an ISO 8601 string write it (3.2, installed here, cannot: see
        # "expiry"): _session_expiry = the datetime's isoformat(), the row's
        # expire_date that datetime (or "row_in" seconds from now), the data
        # signed by this Django's own SessionStore.encode.
        import datetime
        from django.contrib.sessions.models import Session
        from django.utils import timezone
        at = timezone.now() + datetime.timedelta(seconds=cmd["in"])
        store = request_with(None).session
        key = store._get_new_session_key()
        if cmd.get("min"):  # datetime.min, in UTC
            at = datetime.datetime.min.replace(tzinfo=datetime.timezone.utc)
        data = {"cart": [3, 1, 4], "_session_expiry": at.isoformat()}
        row_at = timezone.now() + datetime.timedelta(seconds=cmd.get("row_in", cmd["in"]))
        Session.objects.create(session_key=key, session_data=store.encode(data), expire_date=row_at)
        return {"key": key, "at": at.isoformat()}
    if op == "logout":
        request = request_with(cmd["key"])
        request.user = auth.get_user(request)
        auth.logout(request)
        return {}
    if op == "authenticate":
        before = User.objects.get(username=cmd["user"]).password
        user = auth.authenticate(username=cmd["user"], password=cmd["password"])
        after = User.objects.get(username=cmd["user"]).password
        return {"ok": user is not None, "rehashed": before != after}
    if op == "passwd":
        user = User.objects.get(username=cmd["user"])
        user.set_password(cmd["password"])
        user.save()
        return {}
    if op == "deactivate":  # Django's own get_user no longer honours the user's logins
        n = User.objects.filter(username=cmd["user"]).update(is_active=False)
        return {"updated": n}
    if op == "age":  # the row expired seconds ago, as Django writes expire_date
        import datetime
        from django.contrib.sessions.models import Session
        from django.utils import timezone
        n = Session.objects.filter(session_key=cmd["key"]).update(
            expire_date=timezone.now() - datetime.timedelta(seconds=cmd["seconds"]))
        return {"updated": n}
    if op == "expire_in":  # the row expires in seconds, as a save that long ago would date it
        import datetime
        from django.contrib.sessions.models import Session
        from django.utils import timezone
        n = Session.objects.filter(session_key=cmd["key"]).update(
            expire_date=timezone.now() + datetime.timedelta(seconds=cmd["seconds"]))
        return {"updated": n}
    if op == "middleware_cookie":  # the Set-Cookie Django's SessionMiddleware sends with a login
        from django.contrib.sessions.middleware import SessionMiddleware
        from django.http import HttpResponse
        from django.test import RequestFactory
        user = User.objects.get(username=cmd["user"])

        def view(request):
            auth.login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return HttpResponse("ok")
        response = SessionMiddleware(view)(RequestFactory().get("/"))
        return {"set_cookie": response.cookies[settings.SESSION_COOKIE_NAME].output(header="").strip()}
    if op == "cache_reserialize":  # django-redis' own bytes for the value it reads under a session key
        from django.core.cache import cache
        from django_redis import get_redis_connection
        full = cache.make_key("django.contrib.sessions.cache" + cmd["key"])
        raw = get_redis_connection("default").get(full)
        if raw is None:
            return {"error": "no such cache key"}
        again = cache.client.encode(cache.client.decode(raw))
        return {"raw": raw.decode("latin-1"), "again": again.decode("latin-1")}
    if op == "raw":
        from django.contrib.sessions.models import Session
        row = Session.objects.filter(session_key=cmd["key"]).values_list("session_data", "expire_date").first()
        return {"row": None if row is None else [row[0], row[1].isoformat()]}
    return {"error": "unknown op " + op}


def main():
    configure(json.loads(sys.argv[1]))
    print(json.dumps({"ready": django.get_version()}), flush=True)
    for line in sys.stdin:
        try:
            out = handle(json.loads(line))
        except Exception as e:  # reported to the Go test, which fails
            out = {"error": "%s: %s" % (type(e).__name__, e)}
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
