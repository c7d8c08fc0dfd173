"""pixelgen: declarative, content-addressed generation of game-ready pixel art."""

__version__ = "0.1.0"
