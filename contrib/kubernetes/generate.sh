#!/bin/sh
# Writes hosttune-web.yaml, hosttune-lb.yaml and hosttune-client.yaml from template.yaml.in and
# profiles/ROLE.toml: the role's name, its site profile (in the ConfigMap) and the profile's
# sha256 (the pod template's hosttune.io/profile-sha256 annotation, so that `kubectl apply`
# rolls a profile change out). Run it after editing either; tests/fleet/kubernetes_manifest.rs
# fails while a generated file is stale.
#
#   contrib/kubernetes/generate.sh [OUTDIR]      (default: this directory)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here}
for role in web lb client; do
  profile="$here/profiles/$role.toml"
  sha=$(sha256sum "$profile" | cut -d' ' -f1)
  awk -v role="$role" -v sha="$sha" -v profile="$profile" '
    $0 == "@PROFILE@" {
      while ((getline line < profile) > 0) print (line == "" ? "" : "    " line)
      next
    }
    { gsub(/@ROLE@/, role); gsub(/@SHA256@/, sha); print }
  ' "$here/template.yaml.in" > "$out/hosttune-$role.yaml.tmp"
  mv "$out/hosttune-$role.yaml.tmp" "$out/hosttune-$role.yaml"
done
