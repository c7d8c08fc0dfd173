// Unity editor script: slices a pixelgen UI kit sheet with its 9-slice borders on import.
//
// Put this file in an `Editor/` folder of the Unity project and deploy pixelgen's
// outputs under `Assets/` (`pixelgen build … --deploy Assets/Art`). When Unity
// imports `<id>.sheet.png`, this reads `<id>.unity.json` beside it and sets the
// texture up as pixel art: Sprite (Multiple), point filtering, no compression, one
// sprite per element with its `rect` and `spriteBorder` (x = left, y = bottom,
// z = right, w = top, as Unity orders it; rects are already in Unity's bottom-up
// coordinates). Needs the com.unity.nuget.newtonsoft-json package (JsonUtility
// cannot read the JSON object of sprites). Written against Unity 2022 LTS's
// TextureImporter API; not yet run in Unity by this project.
using System.Collections.Generic;
using System.IO;
using Newtonsoft.Json.Linq;
using UnityEditor;
using UnityEngine;

public class PixelgenUnityImporter : AssetPostprocessor
{
    void OnPreprocessTexture()
    {
        if (!assetPath.EndsWith(".sheet.png")) return;
        string json = assetPath.Substring(0, assetPath.Length - ".sheet.png".Length) + ".unity.json";
        if (!File.Exists(json)) return;
        JObject document = JObject.Parse(File.ReadAllText(json));

        var importer = (TextureImporter)assetImporter;
        importer.textureType = TextureImporterType.Sprite;
        importer.spriteImportMode = SpriteImportMode.Multiple;
        importer.filterMode = FilterMode.Point;
        importer.textureCompression = TextureImporterCompression.Uncompressed;
        importer.mipmapEnabled = false;
        importer.spritePixelsPerUnit = (float)(document["pixelsPerUnit"] ?? 1);

        var sprites = new List<SpriteMetaData>();
        foreach (var entry in (JObject)document["sprites"])
        {
            JToken rect = entry.Value["rect"];
            JToken border = entry.Value["spriteBorder"];
            sprites.Add(new SpriteMetaData
            {
                name = entry.Key,
                rect = new Rect((float)rect["x"], (float)rect["y"], (float)rect["width"], (float)rect["height"]),
                border = border == null ? Vector4.zero
                    : new Vector4((float)border["x"], (float)border["y"], (float)border["z"], (float)border["w"]),
                alignment = (int)SpriteAlignment.Center,
                pivot = new Vector2(0.5f, 0.5f),
            });
        }
#pragma warning disable CS0618 // spritesheet is the importer API every 2021+ version still honours
        importer.spritesheet = sprites.ToArray();
#pragma warning restore CS0618
    }
}
