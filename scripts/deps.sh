#!/bin/sh
# Install the Debian packages kvmq needs to build and test (and with the
# argument "bench", to benchmark against its peers):
# only those missing, `apt-get update` only when something is missing,
# nothing at all when everything is there.  Non-interactive (CI, no stdin).

set -e

top=$(cd "$(dirname "$0")/.." && pwd)

PACKAGES="
    build-essential gcc make perl curl
    nginx nginx-dev libyajl-dev libwebsockets-dev
    libmojolicious-perl libredis-perl redis-server
    cppcheck
    wrk libnginx-mod-http-lua lua-resty-core
    chromium nodejs
"

# `scripts/deps.sh bench` (make bench): the peers kvmq is measured against
if [ "${1:-}" = bench ]; then
    PACKAGES="$PACKAGES
    redis-tools webdis libnginx-mod-nchan rabbitmq-server librabbitmq-dev
    "
fi

missing=
for p in $PACKAGES; do
    s=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    if [ "$s" != installed ]; then
        missing="$missing $p"
    fi
done

# npm: Debian's package, unless a node install (e.g. NodeSource's nodejs)
# already brings its own npm, which Debian's would conflict with.
if ! command -v npm >/dev/null 2>&1; then
    missing="$missing npm"
fi

# t/browser.t's node modules (playwright-core 1.61.1, the last release for
# node 18 = Debian 12's nodejs, pinned by
# t/browser/package-lock.json; never a browser download: the test uses
# Debian's chromium).  Run after the packages, and on every `make deps`
# that finds them missing.
npm_deps() {
    if [ ! -f "$top/t/browser/node_modules/playwright-core/package.json" ]; then
        echo "make deps: npm ci in t/browser"
        # the browser test is the only user: when the registry cannot be
        # reached, t/browser.t skips with that reason instead of the whole
        # suite failing here
        if ! (cd "$top/t/browser" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
                npm ci --no-audit --no-fund --loglevel=error); then
            echo "make deps: npm ci failed; t/browser.t will be skipped" >&2
            rm -rf "$top/t/browser/node_modules"
        fi
    fi
}

if [ -z "$missing" ]; then
    echo "make deps: all packages installed"
    npm_deps
    exit 0
fi

echo "make deps: installing$missing"

if [ "$(id -u)" -eq 0 ]; then
    sudo=
elif command -v sudo >/dev/null 2>&1; then
    sudo="sudo -n"
else
    echo "make deps: not root and no sudo; install:$missing" >&2
    exit 1
fi

apt="$sudo env DEBIAN_FRONTEND=noninteractive apt-get"

# Debian's nginx and redis-server packages start their service on install.
# Keep them from doing so (the machine may already use port 80 or 6379, and
# a container has no init): policy-rc.d exit 101 = "action forbidden".
# Only a policy-rc.d we created is removed afterwards.
policy=/usr/sbin/policy-rc.d
ours=
if [ ! -e $policy ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee $policy >/dev/null
    $sudo chmod 755 $policy
    ours=1
fi
cleanup() {
    if [ -n "$ours" ]; then
        $sudo rm -f $policy
    fi
}
trap cleanup EXIT INT TERM

$apt update -q
# shellcheck disable=SC2086
$apt install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    $missing < /dev/null

npm_deps
echo "make deps: done"
