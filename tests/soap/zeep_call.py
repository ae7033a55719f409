#!/usr/bin/env python3
"""Calls a medbus SOAP service with zeep, a client nobody on the team wrote.

    zeep_call.py WSDL_URL BINDING OPERATION PARAMS_JSON [OPERATION PARAMS_JSON ...]

BINDING is `1.1` or `1.2`: the port of the WSDL's service whose binding is SOAP 1.1 or 1.2.
PARAMS_JSON is an object of parameter names to strings. Prints one JSON line: a list with,
per call, {"operation", "return"} or {"operation", "fault": {"code", "message"}}.
"""

import json
import sys

try:
    import zeep
    from zeep.exceptions import Fault
    from zeep.wsdl.bindings.soap import Soap11Binding, Soap12Binding
except ImportError:
    sys.exit("zeep is not installed; run `python3 -m pip install -r tests/soap/requirements.txt`")


def port_of(client, binding_class):
    for service in client.wsdl.services.values():
        for port in service.ports.values():
            if isinstance(port.binding, binding_class):
                return service.name, port.name
    sys.exit(f"the WSDL has no port with a {binding_class.__name__}")


def main(argv):
    if len(argv) < 4 or len(argv) % 2 != 0:
        sys.exit(__doc__)
    url, binding, calls = argv[0], argv[1], argv[2:]
    binding_class = {"1.1": Soap11Binding, "1.2": Soap12Binding}.get(binding)
    if binding_class is None:
        sys.exit(f"binding `{binding}` is neither 1.1 nor 1.2")
    client = zeep.Client(url)
    proxy = client.bind(*port_of(client, binding_class))
    results = []
    for operation, params in zip(calls[0::2], calls[1::2]):
        try:
            answer = proxy[operation](**json.loads(params))
            results.append({"operation": operation, "return": answer})
        except Fault as fault:
            code = fault.code or ""
            results.append({"operation": operation, "fault": {"code": code, "message": fault.message}})
    print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main(sys.argv[1:])
