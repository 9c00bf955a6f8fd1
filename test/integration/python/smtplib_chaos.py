"""Holds one SMTP conversation with Mailroom through Python's smtplib and prints, as JSON, each
step's reply [step, code, text] up to the first that fails, or ["disconnected", message] when the
server hangs up.

Usage: smtplib_chaos.py PORT login|nologin
"""
import json
import smtplib
import sys

port = int(sys.argv[1])
login = sys.argv[2] == "login"
steps = []


def record(step, reply):
    code, text = reply
    steps.append([step, code, text.decode() if isinstance(text, bytes) else text])
    return code < 400


def converse():
    client = smtplib.SMTP(timeout=10)
    if not record("connect", client.connect("127.0.0.1", port)):
        return
    code, _ = client.ehlo("python.test")
    steps.append(["ehlo", code])
    if login:
        try:
            record("auth", client.login("ann", "secret"))
        except smtplib.SMTPAuthenticationError as error:
            record("auth", (error.smtp_code, error.smtp_error))
            return
    if not record("mail", client.mail("app@example.com")):
        return
    if not record("rcpt", client.rcpt("user@example.com")):
        return
    record("data", client.data(b"Subject: python chaos\r\n\r\nhello\r\n"))
    client.quit()


try:
    converse()
except smtplib.SMTPServerDisconnected as error:
    steps.append(["disconnected", str(error)])
print(json.dumps(steps))
