"""Drives Mailroom's IMAP server with Python's imaplib, every command in turn, and prints what it answered as JSON.

Usage: imaplib_session.py PORT MODE [USER] [SECRET]
Each entry is [type, data] as imaplib returned it, bytes decoded as latin-1; literals inside data come as [header, body] pairs.
"""
import json
import sys
import imaplib

port = int(sys.argv[1])
mode = sys.argv[2]
user = sys.argv[3] if len(sys.argv) > 3 else "tester"
secret = sys.argv[4] if len(sys.argv) > 4 else "anything"


def plain(value):
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


out = {}


def record(name, call):
    try:
        typ, data = call()
        out[name] = [typ, plain(data)]
    except imaplib.IMAP4.error as error:
        out[name] = ["error", str(error)]


if mode == "imaps":
    import ssl

    client = imaplib.IMAP4_SSL("127.0.0.1", port, timeout=10, ssl_context=ssl._create_unverified_context())
else:
    client = imaplib.IMAP4("127.0.0.1", port, timeout=10)
out["welcome"] = plain(client.welcome)
out["capabilities"] = sorted(plain(list(client.capabilities)))

if mode == "walk":
    record("login", lambda: client.login(user, secret))
    record("capability", lambda: client.capability())
    record("namespace", lambda: client.namespace())
    record("list", lambda: client.list())
    record("create", lambda: client.create("Projects/Alpha"))
    record("create_again", lambda: client.create("Projects/Alpha"))
    record("list_projects", lambda: client.list("Projects", "*"))
    record("rename", lambda: client.rename("Projects/Alpha", "Projects/Beta"))
    record("subscribe", lambda: client.subscribe("Projects/Beta"))
    record("lsub", lambda: client.lsub('""', "Projects/*"))
    record("unsubscribe", lambda: client.unsubscribe("Projects/Beta"))
    record("lsub_after", lambda: client.lsub('""', "Projects/*"))
    record("status", lambda: client.status("INBOX", "(MESSAGES UNSEEN)"))
    record("select", lambda: client.select("INBOX"))
    record("search_all", lambda: client.search(None, "ALL"))
    record("search_subject", lambda: client.search("UTF-8", "SUBJECT", '"second"'))
    record("uid_search", lambda: client.uid("SEARCH", "FROM", "alice"))
    record("fetch_flags", lambda: client.fetch("1:*", "(FLAGS RFC822.SIZE)"))
    record("fetch_header", lambda: client.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))
    record("fetch_body", lambda: client.fetch("2", "(RFC822)"))
    record("fetch_flags_after", lambda: client.fetch("2", "(FLAGS)"))
    record("store", lambda: client.store("1", "+FLAGS", "(\\Flagged $Important)"))
    record("store_silent", lambda: client.store("1", "-FLAGS.SILENT", "(\\Flagged)"))
    record("copy", lambda: client.copy("1:2", "Projects/Beta"))
    record("uid_move", lambda: client.uid("MOVE", "3", "Trash"))
    record("sort", lambda: client.sort("(REVERSE SUBJECT)", "UTF-8", "ALL"))
    record("thread", lambda: client.thread("REFERENCES", "UTF-8", "ALL"))
    record("check", lambda: client.check())
    record("store_deleted", lambda: client.store("1", "+FLAGS", "(\\Deleted)"))
    record("expunge", lambda: client.expunge())
    record("append", lambda: client.append("Projects/Beta", "(\\Seen)", imaplib.Time2Internaldate(1700000000), b"Subject: appended\r\n\r\nhello\r\n"))
    record("examine", lambda: client.select("Projects/Beta", readonly=True))
    record("fetch_copied", lambda: client.fetch("1:*", "(UID FLAGS INTERNALDATE BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))
    record("store_readonly", lambda: client.store("1", "+FLAGS", "(\\Seen)"))
    record("unselect", lambda: client.unselect())
    record("delete_nonempty_parent", lambda: client.delete("Projects"))
    record("delete", lambda: client.delete("Projects/Beta"))
    record("select_trash", lambda: client.select("Trash"))
    record("close", lambda: client.close())
    record("enable", lambda: client.enable("CONDSTORE"))
    record("logout", lambda: client.logout())
elif mode == "plain":
    record("authenticate", lambda: client.authenticate("PLAIN", lambda _: ("\0%s\0%s" % (user, secret)).encode()))
    record("select", lambda: client.select("INBOX", readonly=True))
    record("logout", lambda: client.logout())
elif mode == "starttls":
    import ssl

    record("starttls", lambda: client.starttls(ssl._create_unverified_context()))
    out["capabilities_tls"] = sorted(plain(list(client.capabilities)))
    record("login", lambda: client.login(user, secret))
    record("uid_expunge_setup", lambda: client.select("INBOX"))
    record("store", lambda: client.store("1:2", "+FLAGS.SILENT", "(\\Deleted)"))
    record("uid_expunge", lambda: client.uid("EXPUNGE", "1:*"))
    out["expunged"] = plain(client.untagged_responses.pop("EXPUNGE", []))
    record("id", lambda: client.xatom("ID", '("name" "imaplib")'))
    out["id_untagged"] = plain(client.untagged_responses.get("ID", []))
    record("logout", lambda: client.logout())
elif mode in ("login", "imaps"):
    record("login", lambda: client.login(user, secret))
    record("logout", lambda: client.logout())

print(json.dumps(out))
