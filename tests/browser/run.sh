#!/usr/bin/env bash
# Runs the browser test: MQTT.js in Debian's Chromium against mqttd over ws:// and wss://.
#
#   bash tests/browser/run.sh PATH/TO/mqttd
#
# Installs only what is missing: the Debian packages chromium (always needed) and nodejs + npm (only when node or
# npm is not already on PATH), then `npm ci` when node_modules is missing or older than package-lock.json.
# Chromium comes from Debian, never from `npx playwright install`.
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 PATH/TO/mqttd" >&2
    exit 2
fi
broker=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)

debian_packages=()
[ -x /usr/bin/chromium ] || debian_packages+=(chromium)
command -v node >/dev/null 2>&1 || debian_packages+=(nodejs)
command -v npm >/dev/null 2>&1 || debian_packages+=(npm)
command -v openssl >/dev/null 2>&1 || debian_packages+=(openssl)
command -v mosquitto_pub >/dev/null 2>&1 || debian_packages+=(mosquitto-clients)
command -v stdbuf >/dev/null 2>&1 || debian_packages+=(coreutils)
if [ ${#debian_packages[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "installing Debian packages: ${debian_packages[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${debian_packages[@]}" >/dev/null
fi

cd "$here"
# npm ci writes node_modules/.package-lock.json; it is newer than package-lock.json after a good install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ] \
   || [ ! -f node_modules/mqtt/dist/mqtt.min.js ] || [ ! -d node_modules/playwright-core ]; then
    echo "npm ci in $here"
    npm ci --no-audit --no-fund --loglevel=error
fi

exec node browser_test.mjs --broker "$broker"
