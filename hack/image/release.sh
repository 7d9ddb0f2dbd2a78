#!/usr/bin/env bash
# release.sh [--image-dir DIR] [--out DIR] — signs the image digest and records it in the ledger,
# with the `remembrancer` CLI's own commands (ADR 0060):
#   1. the image manifest (the bytes whose sha256 IS the image digest) is copied to
#      OUT/vaultmesh-<version>.manifest.json and checked against DIR/digest;
#   2. `remembrancer sign` writes .sig.json (Ed25519) and .asc (OpenPGP) beside it;
#   3. `remembrancer timestamp` writes .tsr (RFC 3161, from the TSA at REMEMBRANCER_TSA_URL);
#   4. `remembrancer record --type deployment --artifact` appends a receipt whose
#      payload.artifact.sha256 is the image digest (recording the same release again is a no-op);
#   5. `remembrancer export-proof` writes .proof.json, and `remembrancer verify-full` checks the
#      whole chain offline, as anyone can later:
#        remembrancer verify-full OUT/vaultmesh-<version>.manifest.json \
#          --trust <keys>/trust.json --trust <TSA CA certificate>
# Needs DATABASE_URL (the ledger's Postgres), REMEMBRANCER_KEY_DIR (`remembrancer keygen --dir`),
# REMEMBRANCER_TSA_URL (verify-full requires the timestamps; for development,
# `remembrancer tsa serve --port 0 --dir DIR`) and REMEMBRANCER_TSA_CA (that TSA's CA certificate,
# DIR/tsa-ca.crt for the development TSA); optional REMEMBRANCER_ORIGIN.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
image_dir=$root/.cache/image
out=$root/.cache/release
while [ $# -gt 0 ]; do
  case $1 in
    --image-dir) image_dir=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "release: unknown argument '$1' (expected --image-dir DIR or --out DIR)" >&2; exit 2 ;;
  esac
done
die() { echo "release: $*" >&2; exit 1; }
node=$root/node_modules/.bin/node
[ -x "$node" ] || die "missing $node: run 'make node-deps'"
[ -n "${DATABASE_URL:-}" ] || die "DATABASE_URL is not set: the Postgres URL of the ledger to record the release in"
[ -n "${REMEMBRANCER_KEY_DIR:-}" ] || die "REMEMBRANCER_KEY_DIR is not set: the signing key directory (create one with 'remembrancer keygen --dir DIR')"
[ -n "${REMEMBRANCER_TSA_URL:-}" ] || die "REMEMBRANCER_TSA_URL is not set: the RFC 3161 TSA that timestamps the release (for development: 'remembrancer tsa serve --port 0 --dir DIR')"
[ -n "${REMEMBRANCER_TSA_CA:-}" ] || die "REMEMBRANCER_TSA_CA is not set: the PEM CA certificate of the TSA at REMEMBRANCER_TSA_URL (DIR/tsa-ca.crt for the development TSA)"
[ -f "$REMEMBRANCER_TSA_CA" ] || die "REMEMBRANCER_TSA_CA: no such file: $REMEMBRANCER_TSA_CA"
tsa_ca=$(cd "$(dirname "$REMEMBRANCER_TSA_CA")" && pwd)/$(basename "$REMEMBRANCER_TSA_CA")
[ -f "$image_dir/digest" ] || die "no image in $image_dir: run 'make image' first"

digest=$(cat "$image_dir/digest")
[[ $digest =~ ^sha256:[0-9a-f]{64}$ ]] || die "$image_dir/digest: expected sha256:<64 hex>, got '$digest'"
blob=$image_dir/oci/blobs/sha256/${digest#sha256:}
[ -f "$blob" ] || die "$image_dir/oci has no manifest blob for $digest"
[ "sha256:$(sha256sum <"$blob" | cut -d' ' -f1)" = "$digest" ] ||
  die "the manifest blob of $digest does not hash to it: rebuild with 'make image'"
version=$("$node" -p 'require(process.argv[1]).version' "$root/package.json")
reference=$IMAGE_REPOSITORY:$version

mkdir -p "$out"
file=$out/vaultmesh-$version.manifest.json
cp "$blob" "$file"
cd "$out"
name=$(basename "$file")
remembrancer() { "$node" "$root/bin/remembrancer.js" "$@"; }

remembrancer sign "$name" >&2
remembrancer timestamp "$name" --tsa-ca "$tsa_ca" >&2
subject=$(printf '{"image":"%s","digest":"%s"}' "$reference" "$digest")
remembrancer record --type deployment --subject "$subject" \
  --payload "$(printf '{"image":"%s","digest":"%s","mediaType":"application/vnd.oci.image.manifest.v1+json"}' "$reference" "$digest")" \
  --artifact "$name" --tsa-ca "$tsa_ca" >&2
remembrancer export-proof "$name" --out "$name.proof.json" --tsa-ca "$tsa_ca" >&2
remembrancer verify-full "$name" --key-dir "$REMEMBRANCER_KEY_DIR" --trust "$tsa_ca" >&2
echo "release: $reference@$digest signed, timestamped and recorded; evidence in $out/$name.{sig.json,asc,tsr,proof.json}" >&2
echo "$file"
