"""A small SOAP service written with spyne, for tests/tests/soap_call.rs.

Serves the same operations in SOAP 1.1 at /soap11 and SOAP 1.2 at /soap12
(namespace urn:medbus:test):

- echo(text) -> text
- join(a, b) -> "a|b"
- patient(id) -> an XML document as a string
- store(record) -> "ok", or "error:10001:..." for a record holding "refuse";
  each stored record is appended as a JSON line to the file in argv[2]
- beds(hospital) -> an XML document naming the hospital, or a Server fault
  for the hospital "down"
- reject(why) -> a Client fault
- crash() -> a Server fault

Usage: python3 spyne_server.py PORT STORE_FILE
"""

import json
import sys
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from spyne import Application, Fault, ServiceBase, Unicode, rpc
from spyne.protocol.soap import Soap11, Soap12
from spyne.server.wsgi import WsgiApplication

NAMESPACE = "urn:medbus:test"
STORE_FILE = sys.argv[2] if len(sys.argv) > 2 else None


class TestService(ServiceBase):
    @rpc(Unicode, _returns=Unicode)
    def echo(ctx, text):
        return text

    @rpc(Unicode, Unicode, _returns=Unicode)
    def join(ctx, a, b):
        return "%s|%s" % (a, b)

    @rpc(Unicode, _returns=Unicode)
    def patient(ctx, id):
        return "<patient><id>%s</id><name>张三</name></patient>" % id

    @rpc(Unicode, _returns=Unicode)
    def store(ctx, record):
        if record and "refuse" in record:
            return "error:10001:the record is refused"
        with open(STORE_FILE, "a", encoding="utf-8") as out:
            out.write(json.dumps({"record": record}, ensure_ascii=False) + "\n")
        return "ok"

    @rpc(Unicode, _returns=Unicode)
    def beds(ctx, hospital):
        if hospital == "down":
            raise Fault(faultcode="Server", faultstring="the bed service of %s is down" % hospital)
        return "<beds><hospital>%s</hospital><free>%d</free></beds>" % (hospital, len(hospital))

    @rpc(Unicode, _returns=Unicode)
    def reject(ctx, why):
        raise Fault(faultcode="Client.Invalid", faultstring="rejected: %s" % why)

    @rpc(_returns=Unicode)
    def crash(ctx):
        raise Fault(faultcode="Server", faultstring="the database is down")


def application(protocol):
    app = Application([TestService], tns=NAMESPACE, in_protocol=protocol(), out_protocol=protocol())
    return WsgiApplication(app)


SOAP11 = application(Soap11)
SOAP12 = application(Soap12)


def dispatch(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path.startswith("/soap11"):
        return SOAP11(environ, start_response)
    if path.startswith("/soap12"):
        return SOAP12(environ, start_response)
    start_response("404 Not Found", [("Content-Type", "text/html")])
    return [b"<html>no such service</html>"]


class ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


if __name__ == "__main__":
    server = make_server(
        "127.0.0.1", int(sys.argv[1]), dispatch, server_class=ThreadingServer, handler_class=QuietHandler
    )
    print("listening", flush=True)
    server.serve_forever()
