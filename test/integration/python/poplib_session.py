"""Drives Mailroom's POP3 server with Python's poplib and prints what it answered as JSON.

Usage: poplib_session.py PORT MODE [USER] [SECRET]
"""
import base64
import json
import poplib
import sys

port = int(sys.argv[1])
mode = sys.argv[2]
user = sys.argv[3] if len(sys.argv) > 3 else "tester"
secret = sys.argv[4] if len(sys.argv) > 4 else "anything"


def text(value):
    return value.decode("latin-1") if isinstance(value, bytes) else value


def lines(response):
    return [text(line) for line in response[1]]


out = {}
if mode == "pop3s":
    import ssl

    client = poplib.POP3_SSL("127.0.0.1", port, timeout=10, context=ssl._create_unverified_context())
else:
    client = poplib.POP3("127.0.0.1", port, timeout=10)
out["welcome"] = text(client.getwelcome())

if mode == "walk":
    out["capa"] = {k: v for k, v in client.capa().items()}
    out["user"] = text(client.user(user))
    out["pass"] = text(client.pass_(secret))
    out["stat"] = list(client.stat())
    out["list"] = lines(client.list())
    out["uidl"] = lines(client.uidl())
    out["uidl1"] = text(client.uidl(1))
    out["retr1"] = lines(client.retr(1))
    out["top1"] = lines(client.top(1, 1))
    out["dele1"] = text(client.dele(1))
    out["rset"] = text(client.rset())
    out["dele2"] = text(client.dele(2))
    out["list_after_dele"] = lines(client.list())
    out["noop"] = text(client.noop())
    out["quit"] = text(client.quit())
elif mode == "apop":
    out["apop"] = text(client.apop(user, secret))
    out["stat"] = list(client.stat())
    out["quit"] = text(client.quit())
elif mode == "plain":
    token = base64.b64encode(f"\0{user}\0{secret}".encode()).decode()
    out["auth"] = text(client._shortcmd("AUTH PLAIN " + token))
    out["stat"] = list(client.stat())
    out["quit"] = text(client.quit())
elif mode == "lock":
    client.user(user)
    client.pass_(secret)
    second = poplib.POP3("127.0.0.1", port, timeout=10)
    second.user(user)
    try:
        second.pass_(secret)
        out["second"] = "logged in"
    except poplib.error_proto as error:
        out["second"] = text(error.args[0])
    second.quit()
    client.quit()
    third = poplib.POP3("127.0.0.1", port, timeout=10)
    third.user(user)
    out["after_quit"] = text(third.pass_(secret))
    third.quit()
elif mode == "pop3s":
    out["capa"] = sorted(client.capa().keys())
    client.user(user)
    out["pass"] = text(client.pass_(secret))
    out["retr1"] = lines(client.retr(1))
    client.quit()
elif mode == "stls":
    out["stls"] = text(client.stls(context=__import__("ssl")._create_unverified_context()))
    out["capa_after"] = sorted(client.capa().keys())
    client.user(user)
    out["pass"] = text(client.pass_(secret))
    client.quit()
print(json.dumps(out))
