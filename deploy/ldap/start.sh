#!/usr/bin/env bash
# A private OpenLDAP server for tests and trials: its own config and mdb database in DIR, on loopback.
#
#   bash start.sh DIR PORT [LDIF]    # LDIF defaults to seed.ldif beside this file (read only on first start)
#
# Environment (defaults shown): BASE_DN=dc=ruche,dc=test  ADMIN_PASSWORD=<random, written to DIR/ldap.env>
# Afterwards `source DIR/ldap.env` gives LDAP_URL, LDAP_BASE_DN, LDAP_BIND_DN, LDAP_BIND_PASSWORD and
# LDAP_CA_FILE (the private CA of the server's certificate: STARTTLS works on the same port).
# Stop with `bash stop.sh DIR`. Several may run side by side, each with its own DIR and port.
# Needs Debian's slapd and ldap-utils (deploy/install-test-packages.sh); no root needed.
set -euo pipefail
DIR_ARG=${1:?usage: bash start.sh DIR PORT [LDIF]}
PORT=${2:?usage: bash start.sh DIR PORT [LDIF]}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
LDIF=${3:-$HERE/seed.ldif}
BASE_DN=${BASE_DN:-dc=ruche,dc=test}
PATH="$PATH:/usr/sbin:/sbin"
command -v openssl >/dev/null || { echo "start.sh: openssl is not installed" >&2; exit 1; }
command -v slapd >/dev/null || { echo "start.sh: slapd is not installed (bash deploy/install-test-packages.sh)" >&2; exit 1; }
mkdir -p "$DIR_ARG"
DIR=$(cd "$DIR_ARG" && pwd -P)
mkdir -p "$DIR/db" "$DIR/run"

if [ ! -f "$DIR/ldap.env" ]; then
  ADMIN_PASSWORD=${ADMIN_PASSWORD:-$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')}
  ADMIN_DN="cn=admin,$BASE_DN"
  # A private CA and a server certificate for 127.0.0.1 / localhost, so STARTTLS can be tested
  # with real certificate checks (LDAP_CA_FILE in ldap.env is the CA to trust).
  mkdir -p "$DIR/tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=Ruche test LDAP CA" \
    -keyout "$DIR/tls/ca.key" -out "$DIR/tls/ca.pem" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout "$DIR/tls/server.key" -out "$DIR/tls/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > "$DIR/tls/san.ext"
  openssl x509 -req -in "$DIR/tls/server.csr" -CA "$DIR/tls/ca.pem" -CAkey "$DIR/tls/ca.key" -CAcreateserial \
    -days 30 -extfile "$DIR/tls/san.ext" -out "$DIR/tls/server.pem" 2>/dev/null
  # Old-style slapd.conf: one readable file, no cn=config bootstrap needed for a throwaway server.
  cat > "$DIR/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile $DIR/run/slapd.pid
argsfile $DIR/run/slapd.args
sizelimit 500
database mdb
maxsize 268435456
suffix "$BASE_DN"
rootdn "$ADMIN_DN"
rootpw $ADMIN_PASSWORD
directory $DIR/db
index objectClass eq
index uid,mail eq
TLSCACertificateFile $DIR/tls/ca.pem
TLSCertificateFile $DIR/tls/server.pem
TLSCertificateKeyFile $DIR/tls/server.key
CONF
  chmod 600 "$DIR/slapd.conf"
  # The base entry, from the first RDN of BASE_DN (dc=... or o=...), then the LDIF.
  first_rdn=${BASE_DN%%,*}
  rdn_value=${first_rdn#*=}
  case "${first_rdn%%=*}" in
    dc|DC) base_entry=$(printf 'dn: %s\nobjectClass: top\nobjectClass: dcObject\nobjectClass: organization\ndc: %s\no: %s\n' "$BASE_DN" "$rdn_value" "$rdn_value") ;;
    o|O) base_entry=$(printf 'dn: %s\nobjectClass: top\nobjectClass: organization\no: %s\n' "$BASE_DN" "$rdn_value") ;;
    *) echo "start.sh: BASE_DN must start with dc= or o=, not $first_rdn" >&2; exit 1 ;;
  esac
  { printf '%s\n\n' "$base_entry"; sed "s|dc=ruche,dc=test|$BASE_DN|g" "$LDIF"; } > "$DIR/seed.ldif"
  slapadd -q -f "$DIR/slapd.conf" -b "$BASE_DN" -l "$DIR/seed.ldif" ||
    { echo "start.sh: slapadd could not load $LDIF" >&2; rm -f "$DIR/slapd.conf"; exit 1; }
  {
    echo "LDAP_URL=ldap://127.0.0.1:$PORT"
    echo "LDAP_BASE_DN=$BASE_DN"
    echo "LDAP_BIND_DN=$ADMIN_DN"
    echo "LDAP_BIND_PASSWORD=$ADMIN_PASSWORD"
    echo "LDAP_CA_FILE=$DIR/tls/ca.pem"
  } > "$DIR/ldap.env"
  chmod 600 "$DIR/ldap.env"
else
  sed -i "s|^LDAP_URL=.*|LDAP_URL=ldap://127.0.0.1:$PORT|" "$DIR/ldap.env"
fi

if [ -f "$DIR/run/slapd.pid" ] && kill -0 "$(cat "$DIR/run/slapd.pid")" 2>/dev/null; then
  echo "start.sh: slapd already running in $DIR" >&2
  exit 0
fi
# slapd daemonises; its log goes to DIR/slapd.log (stats only) so a failure can be read.
slapd -f "$DIR/slapd.conf" -h "ldap://127.0.0.1:$PORT/" -s 0 -d 0 < /dev/null > "$DIR/slapd.log" 2>&1 &
# -d keeps it in the foreground; record the PID ourselves, then wait until it answers.
echo $! > "$DIR/run/slapd.pid"
# shellcheck disable=SC1091
. "$DIR/ldap.env"
for _ in $(seq 100); do
  if ldapsearch -x -LLL -H "$LDAP_URL" -D "$LDAP_BIND_DN" -w "$LDAP_BIND_PASSWORD" -b "$LDAP_BASE_DN" -s base dn >/dev/null 2>&1; then
    echo "start.sh: slapd listening on $LDAP_URL (data in $DIR)"
    exit 0
  fi
  if ! kill -0 "$(cat "$DIR/run/slapd.pid")" 2>/dev/null; then
    if grep -q "Address already in use" "$DIR/slapd.log"; then echo "start.sh: port $PORT already in use" >&2; fi
    echo "start.sh: slapd exited:" >&2; tail -20 "$DIR/slapd.log" >&2; exit 1
  fi
  sleep 0.1
done
echo "start.sh: slapd did not answer within 10 s" >&2; tail -20 "$DIR/slapd.log" >&2
exit 1
