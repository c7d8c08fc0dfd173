#!/usr/bin/env python3
"""Re-create bench/real/images/ from bench/real_renders.json using local git mirrors.

Every entry in renders.json names a public GitHub repository ("owner/name"),
a commit and a path.  This script runs

    git --git-dir=MIRROR show COMMIT:PATH

for each entry, writes the bytes unchanged to OUT/<file>, and checks the
sha256 recorded in renders.json.  Standard library only.

Usage:
    python3 bench/real_collect.py --mirrors /work/.mirror            # rebuild images/
    python3 bench/real_collect.py --mirrors DIR --out /tmp/imgs       # elsewhere
    python3 bench/real_collect.py --verify-only                       # just hash images/

A mirror for "owner/name" is looked for, in order, at
    DIR/owner+name/repo, DIR/owner+name, DIR/owner+name.git,
    DIR/owner/name.git, DIR/owner/name, DIR/name.git, DIR/name
(any bare repository or .git directory that contains the commit works;
`git clone --mirror https://github.com/owner/name DIR/owner+name` is enough).
Exit status is 0 only if every file was produced and every hash matched.
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def candidates(mirrors, repo):
    owner, name = repo.split("/", 1)
    flat = owner + "+" + name
    return [
        os.path.join(mirrors, flat, "repo"),
        os.path.join(mirrors, flat),
        os.path.join(mirrors, flat + ".git"),
        os.path.join(mirrors, owner, name + ".git"),
        os.path.join(mirrors, owner, name),
        os.path.join(mirrors, name + ".git"),
        os.path.join(mirrors, name),
    ]


def git_dir_for(mirrors, repo):
    for c in candidates(mirrors, repo):
        if not os.path.isdir(c):
            continue
        # a work tree clone keeps its git dir in .git
        g = os.path.join(c, ".git") if os.path.isdir(os.path.join(c, ".git")) else c
        r = subprocess.run(["git", "--git-dir", g, "rev-parse", "--git-dir"],
                           capture_output=True)
        if r.returncode == 0:
            return g
    return None


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--renders", default=os.path.join(HERE, "real_renders.json"))
    ap.add_argument("--mirrors", help="directory holding the git mirrors")
    ap.add_argument("--out", default=os.path.join(HERE, "real", "images"))
    ap.add_argument("--verify-only", action="store_true",
                    help="only hash the files already in --out")
    args = ap.parse_args()

    entries = json.load(open(args.renders))
    if not args.verify_only and not args.mirrors:
        ap.error("--mirrors is required unless --verify-only")
    os.makedirs(args.out, exist_ok=True)

    ok = bad = missing = 0
    for e in entries:
        dest = os.path.join(args.out, e["file"])
        if args.verify_only:
            if not os.path.exists(dest):
                print("MISSING ", e["file"]); missing += 1; continue
            data = open(dest, "rb").read()
        else:
            g = git_dir_for(args.mirrors, e["repo"])
            if g is None:
                print("NO MIRROR", e["repo"], "for", e["file"]); missing += 1; continue
            r = subprocess.run(["git", "--git-dir", g, "show",
                                "%s:%s" % (e["commit"], e["path"])],
                               capture_output=True)
            if r.returncode != 0:
                print("GIT FAIL ", e["file"], r.stderr.decode(errors="replace").strip())
                missing += 1; continue
            data = r.stdout
        h = sha256(data)
        if h != e["sha256"]:
            print("SHA MISMATCH", e["file"], h); bad += 1; continue
        if not args.verify_only:
            with open(dest, "wb") as f:
                f.write(data)
        ok += 1
    print("ok %d, mismatched %d, missing %d, of %d" % (ok, bad, missing, len(entries)))
    return 0 if ok == len(entries) else 1


if __name__ == "__main__":
    sys.exit(main())
