"""The build's machinery: plan (pure), resolve, run, store, post-process, hashing, outputs."""
