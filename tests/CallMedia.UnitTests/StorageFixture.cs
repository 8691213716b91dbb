using CallMedia.Storage;

namespace CallMedia.UnitTests;

/// <summary>Media storage over temp folders: a data folder with its media folder, and key files kept outside it.</summary>
public static class StorageFixture
{
    public static string SharedDataFolder { get; } = Path.Combine(Path.GetTempPath(), "callmedia-unit-data");

    public static string NewDataFolder()
    {
        var folder = Path.Combine(Path.GetTempPath(), "callmedia-unit-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(folder, "media"));
        return folder;
    }

    public static LocalMediaStorage Plain(string dataFolder) =>
        new(new MediaRoot(Path.Combine(dataFolder, "media")), new StorageOptions(), MasterKeys.None);

    /// <summary>A key file (owner-only) outside any data folder holding the given key lines, first current.</summary>
    public static string KeyFile(params string[] lines)
    {
        var path = Path.Combine(Path.GetTempPath(), "callmedia-unit-key-" + Guid.NewGuid().ToString("N"));
        using (var file = PrivateFile.Create(path))
        using (var writer = new StreamWriter(file))
        {
            writer.Write(string.Join('\n', lines) + "\n");
        }

        return path;
    }

    public static LocalMediaStorage Encrypted(string dataFolder, string keyFile)
    {
        var media = new MediaRoot(Path.Combine(dataFolder, "media"));
        var options = new StorageOptions { Encryption = "on", KeyFile = keyFile };
        return new LocalMediaStorage(media, options, MasterKeys.Load(options, media));
    }
}
