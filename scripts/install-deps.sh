#!/usr/bin/env bash
# Installs the Debian packages PumpWand builds and tests with, when missing.
# Idempotent: with everything present it changes nothing and needs no network.
set -euo pipefail

packages=(
    pkg-config
    libusb-1.0-0-dev     # CLibUSB: the USB transport and descriptor checks
    libudev-dev          # CUdev: discovery and hotplug
    libsqlite3-dev       # GRDB: the audit log
    umockdev             # umockdev-run: fake USB/udev devices for the tests
    libumockdev-dev
    gir1.2-umockdev-1.0  # the Python umockdev harness (live USB wand)
    python3-gi
    python3-crcmod       # independent CRC-32C check values in tests
    tshark               # the Wireshark dissector test (hardware/wireshark/pumpwand.lua)
    python3-jsonschema   # JSONContractTests: pumpctl --json output against docs/schemas (Debian's package of PyPI jsonschema; pip is externally managed here)
)

missing=()
for package in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || missing+=("$package")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

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
