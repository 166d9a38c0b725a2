#!/usr/bin/env bash
# Installs pumpctl and wandsim under a prefix, with their manual pages and
# pumpctl's shell completions:
#
#   PREFIX/bin/pumpctl, PREFIX/bin/wandsim
#   PREFIX/libexec/pumpwand/pumpwand-fhir-post    (export fhir --post's HTTP client)
#   PREFIX/share/man/man1/pumpctl.1, wandsim.1                (docs/man)
#   PREFIX/share/bash-completion/completions/pumpctl
#   PREFIX/share/zsh/site-functions/_pumpctl
#   PREFIX/share/fish/vendor_completions.d/pumpctl.fish
#
# Usage: scripts/install.sh [--prefix DIR] [--products DIR]
#   --prefix DIR     where to install (default: $HOME/.local; /usr/local needs sudo)
#   --products DIR   take the binaries already built in DIR (e.g. .build/debug)
#                    instead of building them with `swift build -c release
#                    --static-swift-stdlib`
#
# Then put PREFIX/bin on PATH and PREFIX/share/man on MANPATH if they are
# not already (~/.local/bin usually is).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
prefix="${HOME:+$HOME/.local}"
prefix="${prefix:-/usr/local}"
products=""
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix="${2:?--prefix needs a directory}"; shift 2 ;;
        --products) products="${2:?--products needs a directory}"; shift 2 ;;
        -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "install.sh: unknown argument '$1' (see --help)" >&2; exit 64 ;;
    esac
done

# The Swift runtime and Foundation are linked into the binaries: the
# dynamic loader then maps and relocates 8 fewer Swift libraries at every
# start, which a technician pays once per pumpctl command
# (docs/performance-startup.md). The same flag for the bin path: it names
# the build the flag makes.
swift_build=(swift build -c release --static-swift-stdlib)
if [ -z "$products" ]; then
    (cd "$repo" && "${swift_build[@]}" --product pumpctl && "${swift_build[@]}" --product wandsim \
        && "${swift_build[@]}" --product pumpwand-fhir-post)
    products="$(cd "$repo" && "${swift_build[@]}" --show-bin-path)"
fi
for tool in pumpctl wandsim pumpwand-fhir-post; do
    [ -x "$products/$tool" ] || { echo "install.sh: $products/$tool is not an executable: build it first" >&2; exit 66; }
done

bin="$prefix/bin"
# pumpctl looks for its FHIR poster here, relative to its own executable,
# never on PATH; the folder must be writable by its owner only.
libexec="$prefix/libexec/pumpwand"
man1="$prefix/share/man/man1"
bash_dir="$prefix/share/bash-completion/completions"
zsh_dir="$prefix/share/zsh/site-functions"
fish_dir="$prefix/share/fish/vendor_completions.d"
mkdir -p "$bin" "$libexec" "$man1" "$bash_dir" "$zsh_dir" "$fish_dir"

install -m 0755 "$products/pumpctl" "$bin/pumpctl"
install -m 0755 "$products/wandsim" "$bin/wandsim"
chmod go-w "$libexec"
install -m 0755 "$products/pumpwand-fhir-post" "$libexec/pumpwand-fhir-post"
install -m 0644 "$repo/docs/man/pumpctl.1" "$man1/pumpctl.1"
install -m 0644 "$repo/docs/man/wandsim.1" "$man1/wandsim.1"
# The completions come from the installed parser, so they always match it.
"$bin/pumpctl" --generate-completion-script bash > "$bash_dir/pumpctl"
"$bin/pumpctl" --generate-completion-script zsh > "$zsh_dir/_pumpctl"
"$bin/pumpctl" --generate-completion-script fish > "$fish_dir/pumpctl.fish"

echo "Installed pumpctl and wandsim in $bin, pumpctl's FHIR poster in $libexec, manual pages in $man1, completions for bash, zsh and fish."
case ":${PATH:-}:" in
    *":$bin:"*) ;;
    *) echo "Add $bin to PATH, e.g.: export PATH=\"$bin:\$PATH\"" ;;
esac
