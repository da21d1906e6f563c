#!/usr/bin/python
# -*- coding: utf-8 -*-
# An Ansible module that holds a host to a hosttune profile: audits it with
# `hosttune audit PROFILE --format json`, and applies it with `hosttune apply PROFILE`.
# Copy this directory next to your playbook (library/) or put it on ANSIBLE_LIBRARY.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: hosttune
short_description: Apply or audit a hosttune host-tuning profile
description:
  - Compares a hosttune profile (sysctls, DSR VIPs and ARP settings, NIC rings and channels,
    IRQ affinity, irqbalance) with the live host by running C(hosttune audit PROFILE --format json).
  - With I(state=applied) runs C(hosttune apply PROFILE), which snapshots what it replaces,
    changes only what differs, reads everything back, and undoes every change if any fails.
  - Check mode is an audit; the task reports C(changed) when anything drifts. Diff mode shows,
    per drifted item, the live value (before) and the profile's (after). With I(profile_content),
    check mode audits that text (the profile a play would install) instead of the installed
    file, so a first run and a run that changes the profile tell the truth.
options:
  profile:
    description: A built-in profile name, a name in a profile dir, or a path to a C(.toml) file.
    type: str
    required: true
  state:
    description:
      - C(applied) applies the profile (changed when the apply changed something).
      - C(audited) only reports drift (never changed; see I(fail_on_drift)).
    type: str
    choices: [applied, audited]
    default: applied
  profile_content:
    description:
      - The TOML text the play installs as profile I(profile) (a name, not a path). In check
        mode the audit uses it, from a temporary profile dir searched before I(profile_dir),
        instead of the installed file, which check mode has not written. Ignored outside
        check mode, where the installed file is applied.
    type: str
  state_dir:
    description: hosttune's state dir (C(--state-dir)); default C(/var/lib/hosttune).
    type: path
  root:
    description: Where C(/proc) and C(/sys) are (C(--root)); default C(/).
    type: path
  profile_dir:
    description: Site profile directories (C(--profile-dir)), searched before the built-ins.
    type: list
    elements: path
  allow_host_global:
    description: Inside a network namespace, write host-global settings too (C(--allow-host-global)).
    type: bool
    default: false
  fail_on_drift:
    description: With I(state=audited), fail the task when anything drifts.
    type: bool
    default: false
  binary:
    description: The hosttune binary; default C(hosttune) on the PATH (the package installs
      C(/usr/sbin/hosttune)).
    type: path
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
notes:
  - Exit codes of hosttune apply are 0 (in sync or applied), 1 (a change failed and every
    change was undone: the task fails, the host reads back as before), 2 (an error, such as a bad
    profile or the lock held; or an undo that was incomplete: the task fails).
"""

EXAMPLES = r"""
- name: Hold the web real-server profile
  hosttune:
    profile: web-site-a
    state: applied

- name: Audit the fleet without changing anything
  hosttune:
    profile: web-site-a
    state: audited
  check_mode: true
  diff: true
"""

RETURN = r"""
drift:
  description: The items that differ from the profile before the run (kind, object, desired, live, status).
  type: list
  returned: always
summary:
  description: Item counts by status, from the audit before the run.
  type: dict
  returned: always
in_sync:
  description: Whether nothing drifted before the run.
  type: bool
  returned: always
changes:
  description: The apply's report lines of changes made (C(changed KIND OBJECT: OLD -> NEW)).
  type: list
  returned: when state is applied and not in check mode
snapshot:
  description: The id of the snapshot the apply took (for C(hosttune rollback ID)), if it changed something.
  type: str
  returned: when the apply changed something
"""

import json
import os
import re
import shutil
import tempfile

from ansible.module_utils.basic import AnsibleModule

APPLIED_RE = re.compile(r"^apply .*: (\d+) changed, snapshot (\S+)$")


def base_command(module, first_dir=None):
    p = module.params
    binary = p["binary"] or module.get_bin_path(
        "hosttune", required=True, opt_dirs=["/usr/sbin", "/usr/local/sbin"]
    )
    cmd = [binary]
    if p["root"]:
        cmd += ["--root", p["root"]]
    if p["state_dir"]:
        cmd += ["--state-dir", p["state_dir"]]
    for d in ([first_dir] if first_dir else []) + (p["profile_dir"] or []):
        cmd += ["--profile-dir", d]
    if p["allow_host_global"]:
        cmd.append("--allow-host-global")
    return cmd


def audit(module, cmd):
    args = cmd + ["audit", module.params["profile"], "--format", "json"]
    rc, out, err = module.run_command(args)
    if rc not in (0, 1):
        module.fail_json(
            msg="hosttune audit failed: %s" % (err.strip() or out.strip()),
            rc=rc,
            cmd=args,
            stdout=out,
            stderr=err,
        )
    try:
        doc = json.loads(out)
    except ValueError as e:
        module.fail_json(msg="hosttune audit printed no JSON: %s" % e, rc=rc, stdout=out, stderr=err)
    return doc


def item_line(item, field):
    return "%s %s = %s\n" % (item["kind"], item["object"], item[field])


def main():
    module = AnsibleModule(
        argument_spec=dict(
            profile=dict(type="str", required=True),
            profile_content=dict(type="str"),
            state=dict(type="str", choices=["applied", "audited"], default="applied"),
            state_dir=dict(type="path"),
            root=dict(type="path"),
            profile_dir=dict(type="list", elements="path"),
            allow_host_global=dict(type="bool", default=False),
            fail_on_drift=dict(type="bool", default=False),
            binary=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    # hosttune's messages are English and its numbers plain; keep the environment's locale out.
    module.run_command_environ_update = dict(LANG="C", LC_ALL="C", LC_MESSAGES="C")
    profile = module.params["profile"]
    content = module.params["profile_content"]
    staged = None
    if content is not None and module.check_mode:
        if "/" in profile or profile.endswith(".toml"):
            module.fail_json(msg="profile_content needs a profile name, not the path %s" % profile)
        # The profile as the play would install it, found first by its name.
        staged = tempfile.mkdtemp(prefix="hosttune-check-")
        with open(os.path.join(staged, profile + ".toml"), "w") as f:
            f.write(content)
    cmd = base_command(module, staged)

    try:
        doc = audit(module, cmd)
    finally:
        if staged:
            shutil.rmtree(staged, ignore_errors=True)
    drift = [i for i in doc.get("items", []) if i.get("status") == "drift"]
    result = dict(
        changed=False,
        profile=doc.get("profile", profile),
        host=doc.get("host"),
        summary=doc.get("summary", {}),
        drift=drift,
        in_sync=not drift,
    )
    if module._diff:
        result["diff"] = dict(
            before_header="live (%s)" % result["host"],
            after_header="profile %s" % result["profile"],
            before="".join(item_line(i, "live") for i in drift),
            after="".join(item_line(i, "desired") for i in drift),
        )

    if module.params["state"] == "audited":
        if drift and module.params["fail_on_drift"]:
            module.fail_json(msg="%d item(s) drift from profile %s" % (len(drift), profile), **result)
        module.exit_json(**result)

    if module.check_mode:
        result["changed"] = bool(drift)
        module.exit_json(**result)

    args = cmd + ["apply", profile]
    rc, out, err = module.run_command(args)
    result.update(rc=rc, stdout=out, stderr=err, cmd=args)
    result["changes"] = [
        line for line in out.splitlines() if line.startswith(("changed ", "clamped "))
    ]
    if rc == 1:
        module.fail_json(
            msg="hosttune apply %s failed and every change was undone (the host reads back as "
            "before): %s" % (profile, err.strip()),
            **result
        )
    if rc != 0:
        module.fail_json(msg="hosttune apply %s: %s" % (profile, err.strip() or out.strip()), **result)
    for line in out.splitlines():
        m = APPLIED_RE.match(line.strip())
        if m:
            result["changed"] = int(m.group(1)) > 0
            result["snapshot"] = m.group(2)
    if not result["changed"]:
        result["changed"] = bool(result["changes"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
