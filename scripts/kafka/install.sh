#!/usr/bin/env bash
# Fetches a Kafka broker (the jars of scripts/kafka/pom.xml, ~46 MB) from Maven Central into
# .cache/kafka/libs, for the tests of the Kafka stream consumer (server/src/test-support/kafka.ts
# starts it). Needs Java 17 and Maven (scripts/test-all.sh installs them with apt-get).
# Fast when already done (stamped with the pom's hash).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
dest="$root/.cache/kafka"
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

need() { command -v "$1" >/dev/null || { echo "plinth: the Kafka tests need $1 ($2; scripts/test-all.sh installs it)" >&2; exit 1; }; }
need java "Java 17, Debian's default-jre-headless"
need mvn "Maven, Debian's maven"

sum="$(sha256sum "$here/pom.xml" | cut -c1-16)"
if [[ -f "$dest/stamp" && "$(cat "$dest/stamp")" == "$sum" ]]; then exit 0; fi
say "Fetching a Kafka broker from Maven Central into $dest"
rm -rf "$dest.tmp"
mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$dest.tmp/libs"
rm -rf "$dest"
mv "$dest.tmp" "$dest"
echo "$sum" > "$dest/stamp"
