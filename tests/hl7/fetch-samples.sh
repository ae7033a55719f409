#!/usr/bin/env bash
# Downloads HL7 v2 sample messages from the test data of public HL7 libraries (PyPI sdists and
# npm tarballs, pinned) into adapters/tests/fixtures/hl7-public/, one file per message or batch,
# named <package>@<version>/<path in the package>[#<n>]. Nothing here is committed (.gitignore).
# Idempotent: does nothing when the stamp of this exact list is already there.
set -euo pipefail
cd "$(dirname "$0")/../.."

OUT=adapters/tests/fixtures/hl7-public
# Bump when the list below changes, so that the samples are fetched again.
STAMP_VALUE="v1 hl7@0.4.5 hl7apy@1.3.5 hl7types@0.9.5 hl7lw@0.1.2 npm:hl7@1.1.1 hl7-standard@1.0.4 nodehl7@2.0.0 simple-hl7@3.3.0"
if [[ -f "$OUT/.stamp" && "$(cat "$OUT/.stamp")" == "$STAMP_VALUE" ]]; then
  exit 0
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/pypi" "$WORK/npm" "$WORK/out"

for spec in hl7==0.4.5 hl7apy==1.3.5 hl7types==0.9.5 hl7lw==0.1.2; do
  python3 -m pip download -q --no-deps --no-binary :all: -d "$WORK/pypi" "$spec"
done
for spec in hl7@1.1.1 hl7-standard@1.0.4 nodehl7@2.0.0 simple-hl7@3.3.0; do
  (cd "$WORK/npm" && npm pack --silent "$spec" >/dev/null)
done
for archive in "$WORK"/pypi/*.tar.gz; do tar -xzf "$archive" -C "$WORK/pypi"; done
for archive in "$WORK"/npm/*.tgz; do
  name=$(basename "$archive" .tgz)
  mkdir -p "$WORK/npm/$name" && tar -xzf "$archive" -C "$WORK/npm/$name"
done

python3 - "$WORK" "$WORK/out" <<'PY'
"""Extracts sample messages: sample files as they are, and message strings from Python tests
(read with ast, never run)."""
import ast, os, re, sys

work, out = sys.argv[1], sys.argv[2]

def save(origin, data):
    path = os.path.join(out, origin)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)

# Sample files shipped in npm and PyPI packages: (package@version, directory in the archive, files).
files = [
    ("hl7@1.1.1", "npm/hl7-1.1.1/package", ["test/fixtures/sample.txt", "test/fixtures/sample2.txt",
        "test/fixtures/sample3.txt", "test/fixtures/sample4.txt", "test/fixtures/sample5.txt",
        "test/fixtures/sample6.txt", "test/fixtures/isabella_jones_lipid_panel.txt",
        "test/fixtures/isabella_jones_multiple_tests.txt"]),
    ("hl7-standard@1.0.4", "npm/hl7-standard-1.0.4/package", ["tests/data/message.hl7",
        "tests/data/message2.hl7", "tests/data/message3.hl7", "tests/data/batch.hl7",
        "examples/data/input.hl7"]),
    ("nodehl7@2.0.0", "npm/nodehl7-2.0.0/package", ["test/testfiles/ADTA01.adm",
        "test/testfiles/bicp_ORUR01.adm", "test/testfiles/birp_ORUR01.adm"]),
    ("simple-hl7@3.3.0", "npm/simple-hl7-3.3.0/package", ["test/samples/adt.hl7", "test/samples/orm.hl7",
        "test/samples/oru.hl7", "test/samples/oru-imm.hl7"]),
    ("hl7lw@0.1.2", "pypi/hl7lw-0.1.2", ["tests/samples/empty_orm.hl7", "tests/samples/trivial_a08.hl7",
        "tests/samples/full_orm.hl7", "tests/samples/expected_ack.hl7"]),
]
for origin, base, names in files:
    for name in names:
        with open(os.path.join(work, base, name), "rb") as f:
            save(f"{origin}/{name}", f.read())

# hl7@1.1.1's samples.txt mixes prose with messages: keep the runs of segment lines that start
# with MSH.
with open(os.path.join(work, "npm/hl7-1.1.1/package/test/fixtures/samples.txt"), "rb") as f:
    lines = f.read().split(b"\n")
runs, current = [], None
for line in lines:
    line = line.rstrip(b"\r")
    if re.match(rb"^[A-Z][A-Z0-9]{2}\|", line):
        if line.startswith(b"MSH|") or current is None:
            current = []
            runs.append(current)
        current.append(line)
    else:
        current = None
for n, run in enumerate((r for r in runs if r[0].startswith(b"MSH|")), 1):
    save(f"hl7@1.1.1/test/fixtures/samples.txt#{n}", b"\r".join(run) + b"\r")

# Message strings in Python test modules: string constants starting with a header segment and
# holding at least one segment break.
def strings(path):
    tree = ast.parse(open(path, encoding="utf-8").read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value
        # samples.py builds messages as "\r".join([...]).
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "join"
                and isinstance(node.func.value, ast.Constant) and node.func.value.value == "\r"
                and node.args and isinstance(node.args[0], ast.List)
                and all(isinstance(e, ast.Constant) for e in node.args[0].elts)):
            yield node.lineno, "\r".join(e.value for e in node.args[0].elts)

python_tests = [
    ("hl7@0.4.5", "pypi/hl7-0.4.5", "tests"),
    ("hl7apy@1.3.5", "pypi/hl7apy-1.3.5", "tests"),
    ("hl7types@0.9.5", "pypi/hl7types-0.9.5", "tests"),
]
for origin, base, directory in python_tests:
    root = os.path.join(work, base)
    for dirpath, _, names in sorted(os.walk(os.path.join(root, directory))):
        for name in sorted(names):
            if not name.endswith(".py"):
                continue
            path = os.path.join(dirpath, name)
            seen = set()
            for lineno, value in strings(path):
                if not re.match(r"(MSH|FHS|BHS)\|", value) or not re.search(r"[\r\n]", value) or value in seen:
                    continue
                seen.add(value)
                relative = os.path.relpath(path, root)
                save(f"{origin}/{relative}#L{lineno}", value.encode("utf-8"))
PY

rm -rf "$OUT"
mkdir -p "$(dirname "$OUT")"
mv "$WORK/out" "$OUT"
echo "$STAMP_VALUE" > "$OUT/.stamp"
echo "fetch-samples: $(find "$OUT" -type f ! -name .stamp | wc -l) sample files in $OUT"
