"""The Python side of the Flask and Starlette interop tests: a real app
(Debian's python3-flask or python3-starlette) answering one JSON command per
line on stdin with one JSON line on stdout. Each command is one request
through the framework's test client with the given session cookie; the
answer carries the response body and the session cookie the app set.

    /usr/bin/python3 pyside.py flask|starlette|fastapi SECRET
"""
import datetime
import json
import sys
import uuid

FRAMEWORK, SECRET = sys.argv[1], sys.argv[2]


def view(session):
    """The session as {key: [Python type name, JSON of the value or its repr]}."""
    out = {}
    for k, v in session.items():
        try:
            out[k] = [type(v).__name__, json.loads(json.dumps(v))]
        except TypeError:
            out[k] = [type(v).__name__, repr(v)]
    return out


def typed_values():
    from markupsafe import Markup
    return {
        "pair": ("a", 1),
        "when": datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc),
        "raw": b"\x00\xff",
        "uid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "markup": Markup("<b>x</b>"),
        "onekey": {" t": [1]},
    }


def flask_app():
    from flask import Flask, jsonify, request, session
    app = Flask(__name__)
    app.secret_key = SECRET

    @app.post("/set")
    def set_values():
        for k, v in request.get_json().items():
            session[k] = v
        return jsonify(view(session))

    @app.post("/set-typed")
    def set_typed():
        session.update(typed_values())
        return jsonify(view(session))

    @app.get("/get")
    def get():
        return jsonify(view(session))

    @app.post("/login/<uid>")
    def login(uid):
        session["_user_id"] = uid
        session.permanent = True
        return jsonify(view(session))

    @app.post("/logout")
    def logout():
        session.clear()
        return jsonify({})

    def do(method, path, cookie, body):
        client = app.test_client()
        if cookie is not None:
            client.set_cookie("localhost", "session", cookie)
        return client.open(path, method=method, json=body), lambda r: r.headers.getlist("Set-Cookie"), lambda r: r.get_json()

    return do


def asgi_do(app):
    """The request function of an ASGI app (Starlette, FastAPI) through
    Starlette's test client."""
    from starlette.testclient import TestClient

    def do(method, path, cookie, body):
        client = TestClient(app, raise_server_exceptions=False)
        if cookie is not None:
            client.cookies.set("session", cookie)
        return client.request(method, path, json=body), lambda r: r.headers.get_list("set-cookie"), lambda r: r.json() if r.status_code == 200 else None

    return do


def starlette_app():
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.sessions import SessionMiddleware
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def set_values(request):
        request.session.update(await request.json())
        return JSONResponse(view(request.session))

    async def get(request):
        return JSONResponse(view(request.session))

    async def login(request):
        request.session["_user_id"] = request.path_params["uid"]
        return JSONResponse(view(request.session))

    async def logout(request):
        request.session.clear()
        return JSONResponse({})

    app = Starlette(routes=[
        Route("/set", set_values, methods=["POST"]),
        Route("/get", get),
        Route("/login/{uid}", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
    ], middleware=[Middleware(SessionMiddleware, secret_key=SECRET)])

    return asgi_do(app)


def fastapi_app():
    """The same routes in FastAPI (Debian's python3-fastapi 0.92), whose
    sessions are Starlette's SessionMiddleware."""
    from fastapi import FastAPI, Request
    from starlette.middleware.sessions import SessionMiddleware

    app = FastAPI()
    app.add_middleware(SessionMiddleware, secret_key=SECRET)

    @app.post("/set")
    async def set_values(request: Request):
        request.session.update(await request.json())
        return view(request.session)

    @app.get("/get")
    async def get(request: Request):
        return view(request.session)

    @app.post("/login/{uid}")
    async def login(uid: str, request: Request):
        request.session["_user_id"] = uid
        return view(request.session)

    @app.post("/logout")
    async def logout(request: Request):
        request.session.clear()
        return {}

    return asgi_do(app)


def main():
    do = {"flask": flask_app, "starlette": starlette_app, "fastapi": fastapi_app}[FRAMEWORK]()
    print(json.dumps({"ready": FRAMEWORK}), flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        try:
            resp, set_cookies, body = do(cmd["method"], cmd["path"], cmd.get("cookie"), cmd.get("json"))
            out = {"status": resp.status_code, "body": body(resp), "cookie": None, "deleted": False}
            for header in set_cookies(resp):
                name, _, rest = header.partition("=")
                if name.strip() == "session":
                    value = rest.split(";", 1)[0]
                    lower = header.lower()
                    if "max-age=0" in lower or "expires=thu, 01 jan 1970" in lower:
                        out["deleted"] = True
                    else:
                        out["cookie"] = value
        except Exception as e:  # reported to the Go test, which fails
            out = {"error": "%s: %s" % (type(e).__name__, e)}
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
