"""A throwaway SMTP server for cutover's notify tests, built on aiosmtpd
(Debian's python3-aiosmtpd, run with /usr/bin/python3).

It listens on 127.0.0.1 on a port the kernel picks, prints
"listening 127.0.0.1:PORT", then one JSON line per message received:
{"mail_from", "rcpt_tos", "data", "tls", "auth_user"}. It exits when its
standard input closes, so it never outlives the test that started it.

Options: --cert/--key enable STARTTLS (or implicit TLS with --implicit),
--user/--password require AUTH with those credentials, --fail-first N
answers the first N messages with a temporary 451 error.
"""
import argparse
import asyncio
import json
import os
import socket
import ssl
import sys
import threading

from aiosmtpd.smtp import SMTP, AuthResult


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--implicit", action="store_true")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--fail-first", type=int, default=0)
    args = p.parse_args()

    tls = None
    if args.cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(args.cert, args.key)

    state = {"failures_left": args.fail_first}

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            if state["failures_left"] > 0:
                state["failures_left"] -= 1
                return "451 4.3.0 try again later"
            user = None
            if session.authenticated and session.auth_data is not None:
                user = session.auth_data.login.decode()
            record = {
                "mail_from": envelope.mail_from,
                "rcpt_tos": envelope.rcpt_tos,
                "data": envelope.original_content.decode("utf-8", "replace"),
                "tls": server.transport.get_extra_info("ssl_object") is not None,
                "auth_user": user,
            }
            print(json.dumps(record), flush=True)
            return "250 2.0.0 OK"

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (args.user is not None
              and auth_data.login.decode() == args.user
              and auth_data.password.decode() == args.password)
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    def factory():
        kw = {"hostname": "smtpsink.test", "loop": loop}
        if args.user:
            kw.update(authenticator=authenticator, auth_required=True,
                      auth_require_tls=tls is not None)
        if tls is not None and not args.implicit:
            kw.update(tls_context=tls)
        return SMTP(Handler(), **kw)

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = loop.run_until_complete(
        loop.create_server(factory, sock=sock, ssl=tls if args.implicit else None))
    print("listening 127.0.0.1:%d" % sock.getsockname()[1], flush=True)

    def watch_stdin():
        sys.stdin.read()
        os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()
    try:
        loop.run_forever()
    finally:
        server.close()


if __name__ == "__main__":
    main()
