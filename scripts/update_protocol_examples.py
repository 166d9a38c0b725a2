#!/usr/bin/env python3
"""Rewrites the worked examples in hardware/PROTOCOL.md from the independent
implementation (scripts/protocol_examples.py): every block marked
`<!-- example: NAME -->` (or `<!-- plaintext example: NAME -->`) gets the bytes that script computes for NAME, 32 to
a line. Run it after any wire change; ProtocolExampleTests then checks the
Swift implementation against the same bytes.

    python3 scripts/update_protocol_examples.py          # rewrite in place
    python3 scripts/update_protocol_examples.py --check  # exit 1 if stale
"""
import pathlib
import re
import subprocess
import sys

root = pathlib.Path(__file__).resolve().parent.parent
spec = root / "hardware" / "PROTOCOL.md"
output = subprocess.run([sys.executable, str(root / "scripts" / "protocol_examples.py")],
                        check=True, capture_output=True, text=True).stdout
examples = dict(line.split(": ", 1) for line in output.splitlines() if ": " in line)


def block(name: str) -> str:
    data = examples[name].split()
    return "\n".join(" ".join(data[i:i + 32]) for i in range(0, len(data), 32))


text = spec.read_text()
# `<!-- example: NAME -->` marks a whole frame, `<!-- plaintext example:
# NAME -->` a message before sealing (printed by the script as "plaintext NAME").
pattern = re.compile(r"(<!-- (plaintext )?example: ([\w-]+) -->\n```hex\n)(.*?)(\n```)", re.S)


def key(match: re.Match) -> str:
    return (match.group(2) or "") + match.group(3)


missing = [key(m) for m in pattern.finditer(text) if key(m) not in examples]
if missing:
    sys.exit(f"PROTOCOL.md names examples the script does not make: {', '.join(missing)}")
updated = pattern.sub(lambda m: m.group(1) + block(key(m)) + m.group(5), text)
if "--check" in sys.argv:
    sys.exit(0 if updated == text else "PROTOCOL.md's worked examples are stale: run scripts/update_protocol_examples.py")
spec.write_text(updated)
print(f"{len(pattern.findall(text))} examples written")
