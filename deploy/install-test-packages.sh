#!/usr/bin/env bash
# Debian packages the tests need: the mail stack (Dovecot, Postfix) and Chromium for browser tests.
# Idempotent: installs only what is missing. Keeps the packages' own daemons from starting.
set -euo pipefail
PKGS="dovecot-imapd dovecot-lmtpd dovecot-sieve dovecot-managesieved postfix chromium chromium-driver fonts-dejavu-core gettext"
# The directory's LDAP feed is tested against a private slapd (deploy/ldap/start.sh).
PKGS="$PKGS slapd ldap-utils"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
[ "$(id -u)" = 0 ] || { echo "install-test-packages: need root to install:$missing" >&2; exit 1; }
echo "install-test-packages: installing$missing"
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
# No system LDAP database: the tests run their own slapd with its own config.
echo "slapd slapd/no_configuration boolean true" | debconf-set-selections
tmp_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; tmp_policy=1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 $missing >/dev/null ||
  { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 $missing >/dev/null; }
if [ -n "$tmp_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi
