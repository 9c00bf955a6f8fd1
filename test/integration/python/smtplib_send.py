"""Sends mail to Mailroom with Python's smtplib, and prints what it sent as JSON.

Usage: smtplib_send.py PORT multipart|concurrent
"""
import base64
import json
import smtplib
import sys
import threading
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY

port = int(sys.argv[1])
mode = sys.argv[2]


def multipart():
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["From"] = "Renée Dupont <renee@example.org>"
    msg["To"] = "Łukasz <lukasz@example.org>"
    msg["Subject"] = "Facture n° 42 — ça marche"
    msg["Date"] = "Fri, 20 Nov 2026 09:30:00 +0100"
    msg["Message-ID"] = "<invoice-42@example.org>"
    msg.set_content("Bonjour Łukasz,\nvoici la facture.\n")
    msg.add_alternative("<p>Bonjour <i>Łukasz</i></p>", subtype="html")
    msg.add_attachment(bytes(range(256)) * 8, maintype="application", subtype="octet-stream", filename="données.bin")
    data = msg.as_bytes()
    with smtplib.SMTP("127.0.0.1", port) as client:
        client.ehlo("python.test")
        # The Bcc recipient is only in the envelope: no header names it.
        refused = client.sendmail("billing@example.org", ["lukasz@example.org", "audit@example.org"], data)
    print(json.dumps({"raw": base64.b64encode(data).decode(), "refused": refused}))


def concurrent():
    errors = []

    def send(i):
        try:
            msg = EmailMessage()
            msg["From"] = f"worker{i}@example.org"
            msg["To"] = "pool@example.org"
            msg["Subject"] = f"thread {i}"
            msg.set_content(f"message from thread {i}")
            with smtplib.SMTP("127.0.0.1", port) as client:
                client.send_message(msg)
        except Exception as error:  # reported to the test, which fails on it
            errors.append(repr(error))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({"errors": errors}))


{"multipart": multipart, "concurrent": concurrent}[mode]()
