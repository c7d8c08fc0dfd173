"""Engine-ready output formats: sprite sheets, Aseprite JSON, GIF, Tiled tilesets, autotiles, 9-slice.

Every function here is pure: images in, images or file *contents* (``bytes``,
``str``, ``dict``) out. The build decides where contents go and writes them
atomically; :mod:`pixelgen.commands.deploy` copies finished files into a game project.
Import the submodules directly (``from pixelgen.formats.sheet import pack_frames``);
this package imports nothing so ``import pixelgen.formats`` stays cheap.
"""
