"""An HL7 v2 receiver over MLLP for tests/tests/mllp_destination.rs, built on hl7apy's MLLPServer.

Usage: mllp_server.py PORT RECEIVED_FILE

Each ADT message is answered with an ACK built by hl7apy: AA, AE when PID-3 contains FAIL,
AR when it contains REJECT (with MSA-3 and an ERR segment saying why). Every message received
is appended to RECEIVED_FILE as a JSON line {"control_id", "code", "message"}, the answer's
code included. hl7apy's server reads one message per connection and then closes it.
"""

import json
import sys
import threading

from hl7apy.core import Message
from hl7apy.mllp import AbstractErrorHandler, AbstractHandler, MLLPServer
from hl7apy.parser import parse_message

WRITE_LOCK = threading.Lock()


def answer_for(message):
    """The ACK code and its reason for a message, chosen by what PID-3 holds."""
    patient = message.pid.pid_3.value
    if "REJECT" in patient:
        return "AR", "207^Application internal error^HL70357", "patient %s is not known here" % patient.split("^")[0]
    if "FAIL" in patient:
        return "AE", "206^Application record locked^HL70357", "the record of %s is locked" % patient.split("^")[0]
    return "AA", None, None


def build_ack(message, code, error_code, text):
    msh = message.msh
    ack = Message("ACK", version=msh.msh_12.value)
    ack.msh.msh_3 = msh.msh_5.to_er7()
    ack.msh.msh_4 = msh.msh_6.to_er7()
    ack.msh.msh_5 = msh.msh_3.to_er7()
    ack.msh.msh_6 = msh.msh_4.to_er7()
    ack.msh.msh_9 = "ACK^%s^ACK" % msh.msh_9.msg_2.value
    ack.msh.msh_10 = "ACK-" + msh.msh_10.value
    ack.msh.msh_11 = msh.msh_11.to_er7()
    ack.msh.msh_18 = msh.msh_18.to_er7()
    ack.msa.msa_1 = code
    ack.msa.msa_2 = msh.msh_10.value
    if text:
        ack.msa.msa_3 = text
        err = ack.add_segment("ERR")
        err.err_3 = error_code
        err.err_4 = "E"
        err.err_8 = text
    return ack


def record(path, control_id, code, er7):
    line = json.dumps({"control_id": control_id, "code": code, "message": er7}, ensure_ascii=False)
    with WRITE_LOCK, open(path, "a", encoding="utf-8") as received:
        received.write(line + "\n")


class AdtHandler(AbstractHandler):
    def __init__(self, message, received_path):
        super().__init__(message)
        self.received_path = received_path

    def reply(self):
        message = parse_message(self.incoming_message, find_groups=False)
        code, error_code, text = answer_for(message)
        record(self.received_path, message.msh.msh_10.value, code, self.incoming_message)
        return build_ack(message, code, error_code, text).to_mllp()


class ErrorHandler(AbstractErrorHandler):
    def reply(self):
        print("cannot handle a message: %r" % (self.exc,), file=sys.stderr, flush=True)
        return ""


class Handlers(dict):
    """hl7apy looks handlers up by the whole MSH-9 (`ADT^A01^ADT_A01`): any ADT goes to AdtHandler."""

    def __missing__(self, message_type):
        if message_type.split("^")[0] == "ADT":
            return self["ADT"]
        raise KeyError(message_type)


def main():
    port, received_path = int(sys.argv[1]), sys.argv[2]
    handlers = Handlers({"ADT": (AdtHandler, received_path), "ERR": (ErrorHandler,)})
    server = MLLPServer("127.0.0.1", port, handlers)
    print("listening on 127.0.0.1:%d" % port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
