#!/bin/sh
# Fails, naming them, when a configuration key that broker/app/config*.cpp reads is not documented in the given
# mqttd.json(5) (plain or gzipped) as a ".B key" line. Keys are found where the parser reads them:
# r.find("key"), r.get_*("key", ...), size_value(r, "key", ...), get_string_list(r, "key").
#   packaging/check_documented_keys.sh MAN_PAGE   (from anywhere; reads the sources beside this script)
set -eu
page=$1
sources=$(dirname "$0")/../broker/app
keys=$(grep -ohE '\b(find|get_[a-z_]+)\("[a-z0-9_]+"|\b(size_value|get_string_list)\([a-z_]+, "[a-z0-9_]+"' "$sources"/config*.cpp |
       sed -E 's/.*"([a-z0-9_]+)"$/\1/' | sort -u)
[ -n "$keys" ] || { echo "found no configuration keys in $sources/config*.cpp" >&2; exit 1; }
documented=$(zcat -f "$page" | sed -n 's/^\.B \([a-z0-9_]*\)$/\1/p' | sort -u)
[ -n "$documented" ] || { echo "$page: no \".B key\" lines" >&2; exit 1; }
missing=$(printf '%s\n' "$keys" | grep -vxF "$documented" || true)
if [ -n "$missing" ]; then
    echo "$page does not document:" $missing >&2
    exit 1
fi
echo "$page documents all $(printf '%s\n' "$keys" | wc -l) keys"
