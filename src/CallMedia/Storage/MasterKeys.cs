using System.Security.Cryptography;
using System.Text;

namespace CallMedia.Storage;

/// <summary>The master keys are missing, unreadable, badly kept or not the ones the media was encrypted with.</summary>
public sealed class MediaKeyException(string message) : InvalidOperationException(message);

/// <summary>One master key and its public id (a hash of the key, so files name their key without revealing it).</summary>
public sealed record MasterKey(string Id, byte[] Key);

/// <summary>
/// The master keys that wrap each file's data key: from the key file named by <c>Storage:KeyFile</c> (outside the
/// data folder, no access for group or others) or the <c>CALLMEDIA_MASTER_KEY</c> variable. One base64 key of
/// 32 bytes per line (or separated by commas in the variable); the first is current, the others are kept to read
/// files not yet re-wrapped by <c>callmedia storage rotate-key</c>.
/// </summary>
public sealed class MasterKeys
{
    public const int KeySize = 32;

    private MasterKeys(IReadOnlyList<MasterKey> keys, string source)
    {
        All = keys;
        Source = source;
    }

    public IReadOnlyList<MasterKey> All { get; }

    /// <summary>Where the keys came from, for messages (a path or the variable's name, never a key).</summary>
    public string Source { get; }

    /// <summary>The key new files and re-wrapped files use; null when no key is configured.</summary>
    public MasterKey? Current => All.Count > 0 ? All[0] : null;

    public static MasterKeys None { get; } = new([], "no key configured");

    public MasterKey? Find(string id) => All.FirstOrDefault(k => k.Id == id);

    /// <summary>The public id of a key: the first 8 bytes of a SHA-256 over a label and the key, in hex.</summary>
    public static string IdOf(ReadOnlySpan<byte> key)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData([.. "callmedia master key id\n"u8, .. key], hash);
        return Convert.ToHexString(hash[..8]).ToLowerInvariant();
    }

    /// <summary>A fresh random key as a key file line.</summary>
    public static string NewKeyLine() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(KeySize));

    /// <summary>Reads the configured keys; <see cref="None"/> when neither a key file nor the variable is set.</summary>
    public static MasterKeys Load(StorageOptions options, MediaRoot media)
    {
        if (!string.IsNullOrWhiteSpace(options.KeyFile))
        {
            var path = Path.GetFullPath(options.KeyFile);
            CheckKeyFile(path, media);
            string text;
            try
            {
                text = File.ReadAllText(path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new MediaKeyException($"the master key file {path} (Storage:KeyFile) cannot be read: {ex.Message}");
            }

            return new MasterKeys(Parse(text, $"the key file {path}"), path);
        }

        var variable = Environment.GetEnvironmentVariable(StorageOptions.KeyVariable);
        return string.IsNullOrWhiteSpace(variable) ? None : new MasterKeys(Parse(variable, StorageOptions.KeyVariable), StorageOptions.KeyVariable);
    }

    /// <summary>Writes a key file with a new current key before the old ones (owner-only, through a temp file and a rename).</summary>
    public static string AddNewKey(string keyFile, MediaRoot media)
    {
        var path = Path.GetFullPath(keyFile);
        if (File.Exists(path))
        {
            CheckKeyFile(path, media);
        }
        else
        {
            CheckOutsideData(path, media);
        }

        var old = File.Exists(path) ? File.ReadAllText(path) : "";
        var line = NewKeyLine();
        var temp = path + ".new";
        File.Delete(temp);
        using (var file = PrivateFile.Create(temp))
        using (var writer = new StreamWriter(file, new UTF8Encoding(false)))
        {
            writer.Write(line + "\n" + old);
            writer.Flush();
            file.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
        return IdOf(Convert.FromBase64String(line));
    }

    /// <summary>Writes the key file without the keys named (owner-only, through a temp file and a rename).</summary>
    public static void RemoveKeys(string keyFile, IReadOnlySet<string> ids, MediaRoot media)
    {
        var path = Path.GetFullPath(keyFile);
        CheckKeyFile(path, media);
        var kept = File.ReadAllLines(path).Where(l => !IsKey(l, out var id) || !ids.Contains(id)).ToList();
        var temp = path + ".new";
        File.Delete(temp);
        using (var file = PrivateFile.Create(temp))
        using (var writer = new StreamWriter(file, new UTF8Encoding(false)))
        {
            writer.Write(string.Concat(kept.Select(l => l + "\n")));
            writer.Flush();
            file.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
    }

    private static bool IsKey(string line, out string id)
    {
        id = "";
        var t = line.Trim();
        if (t.Length == 0 || t.StartsWith('#'))
        {
            return false;
        }

        var buffer = new byte[KeySize + 3];
        if (Convert.TryFromBase64String(t, buffer, out var n) && n == KeySize)
        {
            id = IdOf(buffer.AsSpan(0, KeySize));
            return true;
        }

        return false;
    }

    private static List<MasterKey> Parse(string text, string where)
    {
        var keys = new List<MasterKey>();
        var entries = text.Split(['\n', '\r', ','], StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i < entries.Length; i++)
        {
            if (entries[i].StartsWith('#'))
            {
                continue;
            }

            var buffer = new byte[KeySize + 3];
            if (!Convert.TryFromBase64String(entries[i], buffer, out var n) || n != KeySize)
            {
                // Never the entry itself: it may be a key with a typo.
                throw new MediaKeyException($"{where}: entry {i + 1} is not a base64 key of {KeySize} bytes");
            }

            var key = buffer[..KeySize];
            keys.Add(new MasterKey(IdOf(key), key));
        }

        if (keys.Count == 0)
        {
            throw new MediaKeyException($"{where} holds no key");
        }

        return keys;
    }

    private static void CheckKeyFile(string path, MediaRoot media)
    {
        CheckOutsideData(path, media);
        if (!File.Exists(path))
        {
            throw new MediaKeyException($"the master key file {path} (Storage:KeyFile) does not exist");
        }

        if (!OperatingSystem.IsWindows())
        {
            var mode = File.GetUnixFileMode(path);
            if ((mode & (UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute)) != 0)
            {
                throw new MediaKeyException($"the master key file {path} may be read by group or others; make it readable by the service only (chmod 600)");
            }
        }
    }

    private static void CheckOutsideData(string path, MediaRoot media)
    {
        var real = RealPath.Of(path) ?? path;
        var data = RealPath.Of(media.DataFolder) ?? media.DataFolder;
        if (RealPath.IsUnder(real, data) || RealPath.IsUnder(real, RealPath.Of(media.Root) ?? media.Root))
        {
            throw new MediaKeyException($"the master key file {path} lies inside the data folder {media.DataFolder}; keep it elsewhere, so a copy of the data carries no key");
        }
    }
}
