"""The Python side of the Flask-Session interop tests: a real Flask app with
Debian's python3-flask-session 0.3.2 (SESSION_TYPE = "redis") answering one
JSON command per line on stdin with one JSON line on stdout. Each command is
one request through Flask's test client with the given session cookie.

    /usr/bin/python3 flasksessionside.py '{"secret": ..., "signer": true, "prefix": "...", "json": false}'
"""
import json
import sys

import redis
from flask import Flask, jsonify, session
from flask_session import Session
from flask_session.sessions import RedisSessionInterface

CFG = json.loads(sys.argv[1])


class JSONSerializer:
    """The serializer package flasksession's documentation proposes."""

    def dumps(self, d):
        return json.dumps(d)

    def loads(self, b):
        return json.loads(b)


class JSONRedisSessionInterface(RedisSessionInterface):
    serializer = JSONSerializer()


def make_app():
    app = Flask(__name__)
    app.secret_key = CFG["secret"]
    client = redis.Redis(host="127.0.0.1", port=6379, db=0)
    app.config.update(SESSION_TYPE="redis", SESSION_REDIS=client, SESSION_KEY_PREFIX=CFG["prefix"],
                      SESSION_USE_SIGNER=CFG["signer"])
    Session(app)
    if CFG["json"]:
        app.session_interface = JSONRedisSessionInterface(client, CFG["prefix"], CFG["signer"])

    @app.post("/login/<user>")
    def login(user):
        session["user"] = user
        session["roles"] = ["reader", "Zoë"]
        return jsonify({})

    @app.get("/whoami")
    def whoami():
        return jsonify({"user": session.get("user")})

    @app.post("/logout")
    def logout():
        session.clear()
        return jsonify({})

    return app


def main():
    app = make_app()
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        try:
            cmd = json.loads(line)
            client = app.test_client()  # each request carries exactly the cookie given
            if cmd.get("cookie"):
                client.set_cookie("localhost", "session", cmd["cookie"])
            resp = client.open(cmd["path"], method=cmd["method"])
            cookie = ""
            for header in resp.headers.getlist("Set-Cookie"):
                name, _, rest = header.partition("=")
                if name == "session":
                    cookie = rest.split(";", 1)[0]
            out = {"status": resp.status_code, "body": resp.get_json(), "cookie": cookie}
        except Exception as e:  # reported to the Go test, which fails
            out = {"error": "%s: %s" % (type(e).__name__, e)}
        print(json.dumps(out), flush=True)


main()
