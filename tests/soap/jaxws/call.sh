#!/bin/sh
# Calls a medbus SOAP service with a Java client built by JAX-WS RI's wsimport
# (Debian packages `jaxws` and `default-jdk-headless`; .ci/run installs them)
# from the service's WSDL, without edits:
#
#   call.sh WSDL_URL BINDING OPERATION PARAMS_JSON [OPERATION PARAMS_JSON ...]
#
# as tests/soap/zeep_call.py; prints its JSON line. `-extension` lets
# wsimport generate the SOAP 1.2 port too, which JAX-WS counts as an extension.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
runtime=/usr/share/java/jaxws-rt.jar
mkdir -p "$work/classes" "$work/sources"
wsimport -extension -quiet -keep -p medbus.client -d "$work/classes" -s "$work/sources" "$1" >&2
service=$(grep -l 'extends Service' "$work"/sources/medbus/client/*.java | head -n 1)
service=medbus.client.$(basename "$service" .java)
javac -nowarn -cp "$runtime:$work/classes" -d "$work/classes" "$here/Call.java"
java -cp "$runtime:$work/classes" Call "$service" "$@"
