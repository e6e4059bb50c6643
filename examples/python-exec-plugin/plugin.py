#!/usr/bin/env python3
"""A Hoist repository plugin in Python, speaking GoCD's package-repository messages.

The repository is a JSON file: {"packages": {"app": [{"version": "1.2", "location": "...",
"built": "2026-01-02T03:04:05Z", "by": "ci"}]}}. Hoist runs this script once per request:
the request name is the first argument, the request body arrives on stdin, and the answer is
printed on stdout. Exit 0 for an answer; anything else is an error (stderr explains).
"""
import json
import os
import sys


def properties():
    return {
        "repository-configuration": {
            "INDEX_FILE": {"display-name": "Index file", "display-order": "0"},
        },
        "package-configuration": {
            "NAME": {"display-name": "Package name", "display-order": "0"},
        },
    }


def values(body, level):
    return {k: v.get("value") for k, v in (body.get(level) or {}).items()}


def version_key(text):
    return [int(p) if p.isdigit() else p for p in text.replace("-", ".").split(".")]


def versions(repo, pkg):
    with open(repo["INDEX_FILE"], encoding="utf-8") as f:
        index = json.load(f)
    found = index.get("packages", {}).get(pkg.get("NAME"), [])
    return sorted(found, key=lambda v: version_key(v["version"]))


def revision(pkg, v):
    return {
        "revision": f"{pkg['NAME']}-{v['version']}",
        "timestamp": v.get("built", "1970-01-01T00:00:00.000Z"),
        "user": v.get("by", "unknown"),
        "data": {"VERSION": v["version"], "LOCATION": v.get("location", "")},
    }


def main():
    request = sys.argv[1] if len(sys.argv) > 1 else ""
    raw = sys.stdin.read()
    body = json.loads(raw) if raw.strip() else {}
    repo = values(body, "repository-configuration")
    pkg = values(body, "package-configuration")
    if request in ("repository-configuration", "package-configuration"):
        return properties()[request]
    if request == "validate-repository-configuration":
        path = repo.get("INDEX_FILE") or ""
        return [] if os.path.isabs(path) else [{"key": "INDEX_FILE", "message": "Index file must be an absolute path"}]
    if request == "validate-package-configuration":
        return [] if pkg.get("NAME") else [{"key": "NAME", "message": "Package name is required"}]
    if request == "check-repository-connection":
        ok = os.path.isfile(repo.get("INDEX_FILE", ""))
        return {"status": "success" if ok else "failure", "messages": [f"Index file {'found' if ok else 'missing'}: {repo.get('INDEX_FILE')}"]}
    if request == "check-package-connection":
        found = versions(repo, pkg)
        if not found:
            return {"status": "failure", "messages": [f"No package named {pkg.get('NAME')}"]}
        return {"status": "success", "messages": [f"Found package '{pkg['NAME']}-{found[-1]['version']}'."]}
    if request == "latest-revision":
        found = versions(repo, pkg)
        return revision(pkg, found[-1]) if found else {}
    if request == "latest-revision-since":
        found = versions(repo, pkg)
        previous = (body.get("previous-revision") or {}).get("data", {}).get("VERSION", "")
        newer = [v for v in found if not previous or version_key(v["version"]) > version_key(previous)]
        return revision(pkg, newer[-1]) if newer else None
    print(f"unknown request {request}", file=sys.stderr)
    sys.exit(2)


if __name__ == "__main__":
    answer = main()
    if answer is not None:
        json.dump(answer, sys.stdout)
