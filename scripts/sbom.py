#!/usr/bin/env python3
"""Writes the software bill of materials of PumpWand as CycloneDX 1.6 JSON.

What goes in:
- every Swift package pinned in Package.resolved, with its version, the
  git revision it was built from and its licence, read from the checkout
  SwiftPM made in .build/checkouts (an unknown licence text is an error,
  never a guess);
- the system libraries the package links (libusb-1.0, libudev, SQLite)
  with the Debian package version installed on this machine (dpkg-query);
- the dependency graph: the root's direct dependencies from Package.swift,
  each package's from its own manifest.

Package.resolved is kept out of git; when it is missing, `swift package
resolve` makes it first. Otherwise swift is not run, so the script can run
while a build or test holds the .build lock.

Usage: scripts/sbom.py [--output FILE] [--package-root DIR]
Standard library only: runs on Debian's python3 as on any other.
"""

import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import uuid

SPEC_VERSION = "1.6"

# The system libraries the targets link (Package.swift systemLibrary targets
# and GRDB's SQLite), each by the Debian runtime package that provides it.
# Licences are the upstream projects' declared ones: Debian's copyright files
# for these packages are not all machine-readable.
SYSTEM_LIBRARIES = [
    {"name": "libusb-1.0", "debian": "libusb-1.0-0", "licence": {"id": "LGPL-2.1-or-later"},
     "purpose": "USB transport to the programmer wand (CLibUSB)"},
    {"name": "libudev", "debian": "libudev1", "licence": {"id": "LGPL-2.1-or-later"},
     "purpose": "wand discovery and hotplug (CUdev)"},
    {"name": "sqlite", "debian": "libsqlite3-0", "licence": {"name": "public-domain"},
     "purpose": "the audit log (through GRDB)"},
]

# Recognised licence texts: (SPDX id, phrases that must all be present).
# Order matters: the first match wins.
LICENCE_TEXTS = [
    ("Apache-2.0", ["Apache License", "Version 2.0"]),
    ("MIT", ["Permission is hereby granted, free of charge", "THE SOFTWARE IS PROVIDED \"AS IS\""]),
    ("BSD-3-Clause", ["Redistribution and use in source and binary forms", "Neither the name"]),
    ("BSD-2-Clause", ["Redistribution and use in source and binary forms"]),
    ("ISC", ["Permission to use, copy, modify, and/or distribute this software for any purpose"]),
]
# Packages only the test targets use: listed, but not part of what ships.
TEST_ONLY = {"swift-property-based"}
LICENCE_FILES = ["LICENSE", "LICENSE.txt", "LICENSE.md", "LICENCE", "COPYING"]
# Bytes read from a licence or manifest file: these are inputs from the
# network, and no real one is near this size.
READ_LIMIT = 1 << 20


class SBOMError(Exception):
    pass


def read_text(path):
    with open(path, "rb") as handle:
        data = handle.read(READ_LIMIT + 1)
    if len(data) > READ_LIMIT:
        raise SBOMError(f"{path} is larger than {READ_LIMIT} bytes")
    return data.decode("utf-8", errors="replace")


def normalised_url(url):
    url = url.strip().lower()
    if url.endswith("/"):
        url = url[:-1]
    if url.endswith(".git"):
        url = url[:-4]
    return url


def without_comments(swift_source):
    """The manifest with // and /* */ comments removed, so a commented-out
    dependency is not listed."""
    swift_source = re.sub(r"/\*.*?\*/", "", swift_source, flags=re.S)
    # A `//` not preceded by `:` starts a comment (`https://` does not).
    return "\n".join(re.sub(r"(?<!:)//.*$", "", line) for line in swift_source.splitlines())


def manifest_urls(manifest_path):
    """The normalised URLs of `.package(url: ...)` declarations in a manifest."""
    if not os.path.isfile(manifest_path):
        return set()
    text = without_comments(read_text(manifest_path))
    return {normalised_url(url) for url in re.findall(r"\.package\(\s*(?:name:\s*\"[^\"]*\"\s*,\s*)?url:\s*\"([^\"]+)\"", text)}


def resolved_pins(root):
    resolved = os.path.join(root, "Package.resolved")
    if not os.path.exists(resolved):
        # Not kept in git: let SwiftPM pin the versions Package.swift allows.
        print("Package.resolved is missing; running swift package resolve", file=sys.stderr)
        subprocess.run(["swift", "package", "resolve"], cwd=root, check=True)
    document = json.loads(read_text(resolved))
    if document.get("version") not in (2, 3):
        raise SBOMError(f"Package.resolved version {document.get('version')!r} is not one this script reads (2 or 3)")
    pins = document.get("pins")
    if not isinstance(pins, list):
        raise SBOMError("Package.resolved has no pins")
    return pins


def licence_of(checkout):
    for name in LICENCE_FILES:
        path = os.path.join(checkout, name)
        if os.path.isfile(path):
            text = read_text(path)
            for spdx, phrases in LICENCE_TEXTS:
                if all(phrase.lower() in text.lower() for phrase in phrases):
                    return spdx, name
            raise SBOMError(f"{path}: licence text not recognised; add it to LICENCE_TEXTS after reading it")
    raise SBOMError(f"{checkout}: no licence file ({', '.join(LICENCE_FILES)})")


def swift_component(pin, root):
    identity = pin.get("identity")
    location = pin.get("location", "")
    state = pin.get("state") or {}
    version = state.get("version")
    revision = state.get("revision")
    if not identity or not location or not revision:
        raise SBOMError(f"pin {pin!r} lacks identity, location or revision")
    if not version:
        raise SBOMError(f"{identity} is pinned to a branch or revision, not a version: an SBOM needs a version")
    # SwiftPM names the checkout after the URL's last component.
    checkout_name = location.rstrip("/").rsplit("/", 1)[-1]
    if checkout_name.endswith(".git"):
        checkout_name = checkout_name[:-4]
    checkout = os.path.join(root, ".build", "checkouts", checkout_name)
    if not os.path.isdir(checkout):
        raise SBOMError(f"{checkout} is missing: run swift package resolve")
    spdx, licence_file = licence_of(checkout)
    match = re.match(r"https?://([^/]+)/(.+?)(?:\.git)?/?$", location)
    purl = f"pkg:swift/{match.group(1)}/{match.group(2)}@{version}" if match else None
    component = {
        "type": "library",
        "bom-ref": f"swift:{identity}",
        "name": identity,
        "version": version,
        "scope": "excluded" if identity in TEST_ONLY else "required",
        "licenses": [{"license": {"id": spdx}}],
        "externalReferences": [{"type": "vcs", "url": location, "comment": f"revision {revision}"}],
        "properties": [
            {"name": "swift:revision", "value": revision},
            {"name": "swift:licence-file", "value": licence_file},
        ],
    }
    if purl:
        component["purl"] = purl
    return component, normalised_url(location), os.path.join(checkout, "Package.swift")


def debian_component(library):
    try:
        run = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}\t${Architecture}\t${source:Package}\t${Homepage}", library["debian"]],
            capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise SBOMError("dpkg-query is not available: the system library versions come from Debian's package database")
    if run.returncode != 0 or not run.stdout:
        raise SBOMError(f"{library['debian']} is not installed (scripts/install-deps.sh): {run.stderr.strip()}")
    version, architecture, source, homepage = (run.stdout.split("\t") + ["", "", "", ""])[:4]
    component = {
        "type": "library",
        "bom-ref": f"deb:{library['debian']}",
        "name": library["name"],
        "version": version,
        "description": library["purpose"],
        "licenses": [{"license": library["licence"]}],
        # The epoch's colon is percent-encoded, as purl requires.
        "purl": f"pkg:deb/debian/{library['debian']}@{version.replace(':', '%3A')}?arch={architecture}",
        "properties": [
            {"name": "debian:package", "value": library["debian"]},
            {"name": "debian:source", "value": source},
        ],
    }
    if homepage:
        component["externalReferences"] = [{"type": "website", "url": homepage}]
    return component


def package_version(root):
    text = read_text(os.path.join(root, "Sources", "PumpProgrammer", "Report", "SoftwareVersion.swift"))
    match = re.search(r"static let version = \"([^\"]+)\"", text)
    if not match:
        raise SBOMError("the software version (PumpWandSoftware.version) was not found")
    return match.group(1)


def timestamp():
    # SOURCE_DATE_EPOCH makes two runs byte-identical (reproducible builds).
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = (datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc) if epoch
              else datetime.datetime.now(datetime.timezone.utc))
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def build(root):
    version = package_version(root)
    pins = resolved_pins(root)
    components, by_url, manifests = [], {}, {}
    for pin in sorted(pins, key=lambda pin: pin.get("identity", "")):
        component, url, manifest = swift_component(pin, root)
        components.append(component)
        by_url[url] = component["bom-ref"]
        manifests[component["bom-ref"]] = manifest
    system = [debian_component(library) for library in SYSTEM_LIBRARIES]
    root_ref = "pumpwand"
    dependencies = []
    direct = sorted(by_url[url] for url in manifest_urls(os.path.join(root, "Package.swift")) if url in by_url)
    dependencies.append({"ref": root_ref, "dependsOn": direct + [c["bom-ref"] for c in system]})
    for ref, manifest in manifests.items():
        used = sorted(by_url[url] for url in manifest_urls(manifest) if url in by_url and by_url[url] != ref)
        if ref == "swift:grdb.swift":
            used.append("deb:libsqlite3-0")
        dependencies.append({"ref": ref, "dependsOn": used})
    for component in system:
        dependencies.append({"ref": component["bom-ref"], "dependsOn": []})
    # Same inputs, same serial number: a regenerated SBOM of an unchanged
    # package is recognisably the same document.
    fingerprint = json.dumps([version, components, system], sort_keys=True)
    return {
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": uuid.uuid5(uuid.NAMESPACE_URL, "pumpwand-sbom:" + fingerprint).urn,
        "version": 1,
        "metadata": {
            "timestamp": timestamp(),
            "tools": {"components": [{"type": "application", "name": "scripts/sbom.py"}]},
            "component": {
                "type": "application",
                "bom-ref": root_ref,
                "name": "pumpwand",
                "version": version,
                "description": "pumpctl and wandsim: programmer for an implanted intrathecal drug pump",
            },
        },
        "components": components + system,
        "dependencies": dependencies,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", "-o", help="file to write (default: standard output)")
    parser.add_argument("--package-root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."),
                        help="the folder holding Package.swift (default: this script's repository)")
    arguments = parser.parse_args()
    root = os.path.abspath(arguments.package_root)
    try:
        document = build(root)
    except (SBOMError, OSError, ValueError, subprocess.CalledProcessError) as error:
        print(f"sbom.py: {error}", file=sys.stderr)
        return 1
    text = json.dumps(document, indent=2, sort_keys=False) + "\n"
    if arguments.output:
        with open(arguments.output, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
