// Test oracle: parse a sprite-sheet JSON with PixiJS's own Spritesheet parser and
// print what PixiJS understood, as JSON on stdout.
//
// Usage: node parse_spritesheet.mjs sheet.json
// No GPU or DOM is needed: Spritesheet.parse() only builds Texture objects over a
// TextureSource of the sheet's size; nothing is uploaded or drawn.
import { readFileSync } from 'node:fs';

// PixiJS's browser adapter reads `navigator` at import time; Node 20 has none.
globalThis.navigator ??= { userAgent: 'node' };
const { Spritesheet, Texture, TextureSource } = await import('pixi.js');

const data = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const source = new TextureSource({ width: data.meta.size.w, height: data.meta.size.h });
const sheet = new Spritesheet(new Texture({ source }), data);
await sheet.parse();

const keyOf = new Map(Object.entries(sheet.textures).map(([key, texture]) => [texture, key]));
const rect = (r) => (r ? { x: r.x, y: r.y, w: r.width, h: r.height } : null);
const frames = {};
for (const [key, texture] of Object.entries(sheet.textures)) {
  frames[key] = {
    frame: rect(texture.frame),
    orig: rect(texture.orig),
    trim: rect(texture.trim),
    borders: texture.defaultBorders ?? null,
  };
}
const animations = {};
for (const [name, textures] of Object.entries(sheet.animations)) {
  animations[name] = textures.map((texture) => keyOf.get(texture));
}
process.stdout.write(JSON.stringify({ resolution: sheet.resolution, frames, animations }));
