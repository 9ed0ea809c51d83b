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
            "OPTIONS": {"SERIALIZER": "django_redis.serializers.%s" % db.get("serializer", "json.JSONSerializer")},
        }}
        if db.get("compressor"):
            caches["default"]["OPTIONS"]["COMPRESSOR"] = "django_redis.compressors.%s" % db["compressor"]
    settings.configure(
        SECRET_KEY=SECRET,
        CACHES=caches,
        USE_TZ=True,
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


def db_engine():
    return settings.SESSION_ENGINE == "django.contrib.sessions.backends.db"


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
        auth.login(request, user, backend="django.contrib.auth.backends.ModelBackend")
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
            exists = request.session.exists(cmd["key"])
        data = dict(request.session.items()) if exists else None
        user = auth.get_user(request)
        if db_engine():  # get_user flushes a session whose login no longer holds
            exists = exists and request.session.exists(cmd["key"])
        return {"exists": exists, "data": data, "user": None if user.is_anonymous else str(user.pk)}
    if op == "set":
        request = request_with(cmd["key"])
        if db_engine() and not request.session.exists(cmd["key"]):
            return {"error": "no such session"}
        request.session[cmd["name"]] = cmd["value"]
        request.session.save()
        return {"key": request.session.session_key}
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
    if op == "age":  # the row expired seconds ago, as Django writes expire_date
        import datetime
        from django.contrib.sessions.models import Session
        from django.utils import timezone
        n = Session.objects.filter(session_key=cmd["key"]).update(
            expire_date=timezone.now() - datetime.timedelta(seconds=cmd["seconds"]))
        return {"updated": n}
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
