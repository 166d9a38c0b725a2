#!/usr/bin/env python3
"""Writes the software bill of materials of PumpWand as CycloneDX 1.6 JSON.

What goes in:
- every Swift package pinned in Package.resolved, with its version, the
  git revision it was built from and its licence, read from the checkout
  SwiftPM made in .build/checkouts (an unknown licence text is an error,
  never a guess);
- the system libraries the package links (libusb-1.0, libudev, SQLite)
  with the Debian package version installed on this machine (dpkg-query);
- every shared library the built binaries (.build/debug/pumpctl,
  wandsim and pumpwand-fhir-post) actually link, from `ldd`: each Debian package that provides
  one (`dpkg -S`, version from dpkg-query), and the Swift runtime libraries
  from the toolchain as one component at the version `swift --version`
  reports, with the toolchain's licence (Apache-2.0 WITH Swift-exception
  when its LICENSE.txt holds the runtime library exception);
- the dependency graph: the root's direct dependencies from Package.swift,
  each package's from its own manifest.

Licences are SPDX expressions from every licence text a file holds: one
licence, `A OR B` for a file that offers a choice, `A AND B` for one that
applies both, and `Apache-2.0 WITH Swift-exception` with the runtime
library exception.

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
# Every match counts (a file may hold two); a BSD-2-Clause match inside a
# BSD-3-Clause text is the same licence.
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


# The Swift project's runtime library exception to Apache-2.0 (SPDX
# exception Swift-exception).
SWIFT_EXCEPTION = ["Runtime Library Exception", "As an exception, if you use this Software to compile your source code"]
# A file that holds two licences and offers a choice says so.
CHOICE_PHRASES = ["at your option", "dual licensed", "dual-licensed", "either of"]


def licence_expression(text, path):
    """The SPDX licence expression of a licence file's text: every
    recognised licence in it, never the first match only."""
    lower = text.lower()
    found = [spdx for spdx, phrases in LICENCE_TEXTS if all(phrase.lower() in lower for phrase in phrases)]
    if "BSD-3-Clause" in found and "BSD-2-Clause" in found:
        found.remove("BSD-2-Clause")
    if not found:
        raise SBOMError(f"{path}: licence text not recognised; add it to LICENCE_TEXTS after reading it")
    if "Apache-2.0" in found and all(phrase.lower() in lower for phrase in SWIFT_EXCEPTION):
        found[found.index("Apache-2.0")] = "Apache-2.0 WITH Swift-exception"
    if len(found) == 1:
        return found[0]
    joiner = " OR " if any(phrase in lower for phrase in CHOICE_PHRASES) else " AND "
    return joiner.join(f"({item})" if " WITH " in item else item for item in sorted(found))


def licence_entry(expression):
    """A CycloneDX licences entry: an id alone, or an SPDX expression."""
    if re.fullmatch(r"[A-Za-z0-9.+-]+", expression):
        return {"license": {"id": expression}}
    return {"expression": expression}


def licence_of(checkout):
    for name in LICENCE_FILES:
        path = os.path.join(checkout, name)
        if os.path.isfile(path):
            return licence_expression(read_text(path), path), name
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
        "licenses": [licence_entry(spdx)],
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
        # Debian's copyright files are not all machine-readable: a linked
        # package found by dpkg -S has no licence claimed here.
        **({"licenses": [{"license": library["licence"]}]} if library["licence"] else {}),
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


# The binaries that ship, as `swift build` leaves them.
BINARIES = ["pumpctl", "wandsim", "pumpwand-fhir-post"]
SWIFT_RUNTIME_PREFIX = "/opt/swift/"


def run_tool(arguments, what):
    try:
        return subprocess.run(arguments, capture_output=True, text=True, check=False, timeout=60)
    except FileNotFoundError:
        raise SBOMError(f"{arguments[0]} is not available: {what}")


def linked_libraries(root):
    """The resolved paths of every shared library the built binaries load
    (ldd: the NEEDED entries and theirs)."""
    paths = set()
    for name in BINARIES:
        binary = os.path.join(root, ".build", "debug", name)
        if not os.path.isfile(binary):
            raise SBOMError(f"{binary} is missing: build first (swift build); the linked libraries come from the binaries")
        run = run_tool(["ldd", binary], "the linked libraries come from ldd")
        if run.returncode != 0:
            raise SBOMError(f"ldd {binary} failed: {run.stderr.strip()}")
        for line in run.stdout.splitlines():
            line = line.strip()
            if "=>" in line:
                target = line.split("=>", 1)[1].strip().split(" (", 1)[0].strip()
                if target == "not found":
                    raise SBOMError(f"{binary}: {line}")
            else:
                target = line.split(" (", 1)[0].strip()
            if target.startswith("/"):
                paths.add(target)
    return sorted(paths)


def debian_owner(path):
    """The Debian package that installed `path` (tried as given and as its
    real path, for the /lib and /usr/lib of a merged /usr)."""
    candidates = [path, os.path.realpath(path)]
    for candidate in list(candidates):
        if candidate.startswith("/usr/lib/"):
            candidates.append(candidate[len("/usr"):])
        elif candidate.startswith("/lib/") or candidate.startswith("/lib64/"):
            candidates.append("/usr" + candidate)
    for candidate in candidates:
        run = run_tool(["dpkg", "-S", candidate], "the packages of the linked libraries come from dpkg -S")
        if run.returncode == 0 and run.stdout:
            package = run.stdout.split(":", 1)[0].split(",")[0].strip()
            return package
    raise SBOMError(f"{path} is linked but no Debian package owns it (dpkg -S)")


def swift_runtime_component(libraries):
    run = run_tool(["swift", "--version"], "the Swift runtime's version comes from swift --version")
    match = re.search(r"Swift version (\S+)", run.stdout + run.stderr)
    if run.returncode != 0 or not match:
        raise SBOMError(f"swift --version gave no version: {run.stderr.strip()}")
    licence_file = os.path.join(SWIFT_RUNTIME_PREFIX, "usr", "share", "swift", "LICENSE.txt")
    if not os.path.isfile(licence_file):
        raise SBOMError(f"{licence_file} is missing: the Swift runtime's licence is read from it")
    expression = licence_expression(read_text(licence_file), licence_file)
    return {
        "type": "library",
        "bom-ref": "swift-runtime",
        "name": "swift-runtime",
        "version": match.group(1),
        "description": "the Swift runtime libraries the binaries link (" + ", ".join(sorted(os.path.basename(p) for p in libraries)) + ")",
        "licenses": [licence_entry(expression)],
        "properties": [{"name": "swift:toolchain", "value": SWIFT_RUNTIME_PREFIX}],
    }


def linked_components(root, known):
    """Components for what the binaries link: the Swift runtime, and each
    Debian package not already listed in `known` (bom-refs)."""
    libraries = linked_libraries(root)
    runtime = [path for path in libraries if path.startswith(SWIFT_RUNTIME_PREFIX)]
    packages = {}
    for path in libraries:
        if path.startswith(SWIFT_RUNTIME_PREFIX):
            continue
        packages.setdefault(debian_owner(path), []).append(os.path.basename(path))
    components = [swift_runtime_component(runtime)] if runtime else []
    for package in sorted(packages):
        if f"deb:{package}" in known:
            continue
        component = debian_component({"name": package, "debian": package, "licence": None,
                                      "purpose": "linked by the binaries (" + ", ".join(sorted(packages[package])) + ")"})
        components.append(component)
    return components


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
    system += linked_components(root, {c["bom-ref"] for c in system})
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
                "description": "pumpctl, wandsim and pumpwand-fhir-post: programmer for an implanted intrathecal drug pump",
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
