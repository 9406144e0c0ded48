#!/usr/bin/env bash
# deps.sh — install what Causeway needs on Debian 12, and nothing it already has.
#
#   scripts/deps.sh            build + run dependencies (for `make run`)
#   scripts/deps.sh --test     also what the tests need (for `make test`, CI)
#   scripts/deps.sh --dev      also fuzzing and benchmark tools
#
# Only packages that dpkg does not report as installed are passed to
# apt-get; when the package lists are stale, `apt-get update` runs once.
# Pinned npm data packages (package-lock.json) are installed with `npm ci`
# when node_modules is missing or older than the lock file.
set -euo pipefail
cd "$(dirname "$0")/.."

# nodejs/npm: the FHIR definitions and HL7 v2 tables are compiled from pinned npm packages at build time.
# libpcre2-dev: FHIRPath regular expressions (matches, replaceMatches) — linked into the core.
# libxml2-dev: FHIR XML reading and writing (src/xml) — linked into the core.
want=(build-essential cmake pkg-config libmicrohttpd-dev libsqlite3-dev libpq-dev libevent-dev libssl-dev libpcre2-dev libxml2-dev nodejs npm)
for arg in "$@"; do
  case "$arg" in
    --test) want+=(libcmocka-dev curl python3 libpcre2-dev postgresql openssl libxml2-dev) ;;
    --dev)  want+=(libcmocka-dev libpcre2-dev postgresql clang libclang-rt-14-dev libcjson-dev libjansson-dev wrk hyperfine) ;;
    *) echo "deps.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    # nodejs/npm may come from elsewhere (nvm, NodeSource); a working binary is enough.
    case "$p" in nodejs) command -v node >/dev/null 2>&1 && continue ;; npm) command -v npm >/dev/null 2>&1 && continue ;; esac
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
      echo "deps.sh: need root (or sudo) to install: ${missing[*]}" >&2; exit 1
    fi
  fi
  echo "deps.sh: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  if ! $SUDO apt-get install -y --no-install-recommends "${missing[@]}"; then
    $SUDO apt-get update
    $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
  fi
fi

if [ -f package-lock.json ] && command -v npm >/dev/null 2>&1; then
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
    echo "deps.sh: npm ci (pinned data packages)" >&2
    npm ci --no-audit --no-fund --loglevel=error
    touch node_modules
  fi
fi

# FHIR packages npm cannot install as dependencies (tools/fhir-packages.lock):
# fetched with `npm pack`, checked against the pinned sha512, unpacked into
# fhir_packages/NAME/ with a VERSION stamp.
if [ -f tools/fhir-packages.lock ] && command -v npm >/dev/null 2>&1; then
  while read -r name version integrity; do
    case "$name" in ''|'#'*) continue ;; esac
    dest=fhir_packages/$name
    [ "$(cat "$dest/VERSION" 2>/dev/null)" = "$version $integrity" ] && continue
    echo "deps.sh: fetching FHIR package $name@$version" >&2
    tmpd=$(mktemp -d)
    (cd "$tmpd" && npm pack --silent --no-audit --no-fund "$name@$version" >/dev/null)
    tgz=$(ls "$tmpd"/*.tgz)
    got=$(node -e 'const c = require("crypto"), fs = require("fs");
      process.stdout.write("sha512-" + c.createHash("sha512").update(fs.readFileSync(process.argv[1])).digest("base64"))' "$tgz")
    if [ "$got" != "$integrity" ]; then
      echo "deps.sh: $name@$version: integrity $got, tools/fhir-packages.lock pins $integrity" >&2
      rm -rf "$tmpd"
      exit 1
    fi
    rm -rf "$dest"
    mkdir -p "$dest"
    tar -xzf "$tgz" -C "$dest"
    echo "$version $integrity" >"$dest/VERSION"
    rm -rf "$tmpd"
  done < tools/fhir-packages.lock
fi
