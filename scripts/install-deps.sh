#!/usr/bin/env bash
# Installs the Debian packages PumpWand builds and tests with, when missing,
# then the Python packages the tests validate with that Debian does not
# package, in a virtual environment (see below).
# Idempotent: with everything present it changes nothing and needs no network.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

packages=(
    pkg-config
    libusb-1.0-0-dev     # CLibUSB: the USB transport and descriptor checks
    libudev-dev          # CUdev: discovery and hotplug
    libsqlite3-dev       # GRDB: the audit log
    libssl-dev           # pumpwand-bench's C baseline (CBenchBaseline: ChaCha20-Poly1305 in libcrypto)
    libcurl4-openssl-dev # the static Swift runtime build (install.sh): pumpwand-fhir-post's static FoundationNetworking links -lcurl
    umockdev             # umockdev-run: fake USB/udev devices for the tests
    libumockdev-dev
    gir1.2-umockdev-1.0  # the Python umockdev harness (live USB wand)
    python3-gi
    python3-crcmod       # independent CRC-32C check values in tests
    python3-cryptography # scripts/protocol_examples.py (X25519, ChaCha20-Poly1305): ProtocolExamplesScriptTests
    tshark               # the Wireshark dissector test (hardware/wireshark/pumpwand.lua)
    python3-jsonschema   # JSONContractTests: pumpctl --json output against docs/schemas (Debian's package of PyPI jsonschema; pip is externally managed here)
    python3-venv         # the virtual environment for the PyPI validators below
    chromium             # ReportPrintTests: the HTML reports printed to PDF (one A4 page) and the report screenshots
    poppler-utils        # pdfinfo and pdftotext: the printed report's page count and each page's text
)

missing=()
for package in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || missing+=("$package")
done
if [[ ${#missing[@]} -gt 0 ]]; then
    echo "Installing missing system packages: ${missing[*]}" >&2
    sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null || { echo "Run as root or install sudo: apt-get install ${missing[*]}" >&2; exit 1; }
        sudo=(sudo)
    fi
    export DEBIAN_FRONTEND=noninteractive
    # wireshark-common asks whether non-root users may capture; answer no
    # without a prompt (the tests only read trace files).
    echo "wireshark-common wireshark-common/install-setuid boolean false" | "${sudo[@]}" debconf-set-selections
    "${sudo[@]}" apt-get update -q
    "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# PyPI packages Debian does not package: cyclonedx-python-lib validates the
# SBOM (SBOMTests), fhir.resources the FHIR R5 export (FHIRExportTests).
# Debian's pip is externally managed, so they go into a virtual environment
# under .build (kept out of git, like the build); the tests look for it at
# $PUMPWAND_PYTHON_TOOLS or .build/python-tools. Versions are pinned so a
# validator release cannot change what passes.
python_tools="${PUMPWAND_PYTHON_TOOLS:-$root/.build/python-tools}"
python_packages=(
    "cyclonedx-python-lib[json-validation]==11.12.0"
    "fhir.resources==8.3.0"
)
if ! "$python_tools/bin/python3" -c 'import cyclonedx.validation.json, fhir.resources.bundle' 2>/dev/null; then
    echo "Installing Python validators into $python_tools: ${python_packages[*]}" >&2
    base_python=/usr/bin/python3
    [[ -x "$base_python" ]] || base_python="$(command -v python3)"
    "$base_python" -m venv "$python_tools"
    "$python_tools/bin/python3" -m pip install -q --disable-pip-version-check "${python_packages[@]}"
fi
