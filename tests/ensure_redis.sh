#!/bin/sh
# Make sure the scale-out tests have Debian's redis-server: install it when missing and allowed (root + apt-get).
# Not root and missing: a failure under CI=true, otherwise those tests will skip.
set -eu
if command -v redis-server >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing redis-server for the Celery scale-out tests" >&2
    # apt-get update only when the package lists do not know redis-server yet (a fresh machine)
    if ! apt-cache show redis-server >/dev/null 2>&1; then
        apt-get update -qq
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server
    exit 0
fi
if [ "${CI:-}" = "true" ]; then
    echo "error: redis-server is missing and cannot be installed (not root); the Celery tests cannot run" >&2
    exit 1
fi
echo "note: redis-server is missing (install: apt-get install redis-server); the Celery tests will skip" >&2
