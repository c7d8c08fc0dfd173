import textwrap
from pathlib import Path

from pixelgen.commands.status import compute_status
from pixelgen.core.plan import make_plan
from pixelgen.core.resolve import Resolved
from pixelgen.manifest import load_manifest
from pixelgen.records.lock import Lock, LockEntry

RESOLVED = Resolved(models={"tiny": {"builtin": "tiny-sdxl", "recipe": 1}}, loras={}, model_files={})


def _plan(tmp_path: Path):
    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent("""\
        version: 1
        name: s
        models: {tiny: {builtin: tiny-sdxl}}
        defaults: {size: [8, 8], render: {width: 64, height: 64}}
        assets:
          - {id: a, kind: sprite, prompt: one}
          - {id: b, kind: sprite, prompt: two}
          - {id: c, kind: sprite, prompt: three}
        """))
    return make_plan(load_manifest(path), RESOLVED)


def _entry(post, sha):
    return LockEntry(asset=post.asset_id, image=post.image, render_key=post.render_key, post_key=post.key, sha256=sha,
                     inputs=post.inputs, model="tiny", seed=0, batch_size=1)


def test_states_and_reasons(tmp_path: Path):
    from pixelgen.files.hashing import sha256_bytes

    plan = _plan(tmp_path)
    out = tmp_path / "out"
    a, b, c = plan.posts
    (out / "a").mkdir(parents=True)
    (out / a.output).write_bytes(b"A")
    (out / "b").mkdir()
    (out / b.output).write_bytes(b"edited")
    lock = Lock(manifest="s", outputs={
        a.output: _entry(a, sha256_bytes(b"A")),
        b.output: _entry(b, sha256_bytes(b"B")),
        "gone/default.png": LockEntry("gone", "default", "r", "p", "s", {}, "tiny", 0, 1),
    })
    states = {s.asset_id: s for s in compute_status(plan, lock, out)}
    assert states["a"].up_to_date
    assert states["b"].reasons == ["output modified"]
    assert states["c"].reasons == ["new"]
    assert states["gone"].removed
    # With a selection, assets outside it are not reported as removed.
    selected = compute_status(plan, lock, out, selection=frozenset({"a"}))
    assert "gone" not in {s.asset_id for s in selected}
