namespace CallMedia.Storage;

/// <summary>
/// The media folder. Stored paths are relative to it; a path from the database that would resolve outside it
/// (through <c>..</c> or a rooted path that was not linked in by import) is refused, never opened.
/// </summary>
public sealed class MediaRoot
{
    /// <summary>A temp file unchanged this long, and not held open by a copy, was left by an import that died.</summary>
    public static readonly TimeSpan LeftoverAge = TimeSpan.FromMinutes(5);

    private readonly string[] _linkRoots;

    private readonly string[] _realLinkRoots;

    private readonly string _realDataFolder;

    /// <param name="root">The media folder.</param>
    /// <param name="linkRoots">Folders whose files may be linked in place (<c>Import:AllowedRoots</c>).</param>
    public MediaRoot(string root, IEnumerable<string>? linkRoots = null)
    {
        Root = Path.GetFullPath(root);
        Directory.CreateDirectory(Root);
        _linkRoots = (linkRoots ?? []).Select(r => Path.GetFullPath(r).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar).ToArray();
        _realLinkRoots = _linkRoots.Select(r => RealPath.Of(r) ?? r).ToArray();
        _realDataFolder = RealPath.Of(DataFolder) ?? DataFolder;
    }

    public string Root { get; }

    /// <summary>The data folder holding the media root (and, by default, the database): never a source of media.</summary>
    public string DataFolder => Path.GetDirectoryName(Root)!;

    /// <summary>Transcodes and other derived files live here; they can be deleted at any time.</summary>
    public string CacheDir => Path.Combine(Root, ".cache");

    /// <summary>Files are written here first and renamed into place, so no reader ever sees half a file.</summary>
    public string TempDir => Path.Combine(Root, ".tmp");

    /// <summary>The absolute path of a stored media path; throws for one that escapes the root.</summary>
    public string Resolve(string storedPath)
    {
        var (full, linked) = Locate(storedPath);
        // Linked in place by `callmedia import --link`: only where it really leads (a link swapped in since import
        // cannot point elsewhere).
        if (linked && (RealPath.Of(full) is not { } real || !IsLinkedInside(real)))
        {
            throw Outside();
        }

        return full;
    }

    /// <summary>
    /// The absolute path of a stored media path as written, links on the way not followed, and whether it was linked
    /// in place by <c>callmedia import --link</c> (outside the media root, inside an allowed link folder as written:
    /// where it really leads is still to be checked, <see cref="IsLinkedInside"/>). Throws for one that escapes both.
    /// </summary>
    public (string Full, bool Linked) Locate(string storedPath)
    {
        if (string.IsNullOrEmpty(storedPath) || storedPath.Contains('\0', StringComparison.Ordinal))
        {
            throw new InvalidDataException("empty or invalid media path");
        }

        var full = Path.GetFullPath(Path.IsPathRooted(storedPath) ? storedPath : Path.Combine(Root, storedPath));
        if (full.StartsWith(Root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            return (full, false);
        }

        return Path.IsPathRooted(storedPath) && _linkRoots.Any(r => full.StartsWith(r, StringComparison.Ordinal)) ? (full, true) : throw Outside();
    }

    /// <summary>Whether a path <see cref="Locate"/> gave is a linked one (outside the media root).</summary>
    public bool IsLinked(string located) => !located.StartsWith(Root + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    /// <summary>Whether a linked file's real path (every link followed) is inside an allowed link folder and not in the data folder.</summary>
    public bool IsLinkedInside(ReadOnlySpan<char> realPath)
    {
        if (RealPath.IsUnder(realPath, _realDataFolder))
        {
            return false;
        }

        foreach (var root in _realLinkRoots)
        {
            if (RealPath.IsUnder(realPath, root))
            {
                return true;
            }
        }

        return false;
    }

    public static InvalidDataException Outside() => new("media path is outside the media root and the allowed link folders");

    /// <summary>
    /// A fresh temp file name beside the destination's file system, in a folder only the service may enter (a tool's
    /// plaintext output or a decrypted input for ffmpeg waits there).
    /// </summary>
    public string NewTempPath(string extension)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(TempDir);
        }
        else
        {
            Directory.CreateDirectory(TempDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        return Path.Combine(TempDir, $"{Guid.NewGuid():N}.{extension}");
    }

    /// <summary>
    /// Deletes the <c>.part</c> files of copies that never finished (the import was killed). A live copy holds its
    /// file locked and keeps writing it, so only files both unlocked and untouched for <see cref="LeftoverAge"/>
    /// go. Returns how many were removed.
    /// </summary>
    public int RemoveLeftovers()
    {
        if (!Directory.Exists(TempDir))
        {
            return 0;
        }

        // File times are wall-clock times, so they are compared with the wall clock, not an injected one.
        var cutoff = TimeProvider.System.GetUtcNow().UtcDateTime - LeftoverAge;
        var removed = 0;
        // .part: a copy or an encryption that never finished; .plain.*: a decrypted input of a tool that died.
        var files = new DirectoryInfo(TempDir).EnumerateFiles("*.part").Concat(new DirectoryInfo(TempDir).EnumerateFiles("*.plain.*"));
        foreach (var file in files)
        {
            if (file.LastWriteTimeUtc > cutoff)
            {
                continue;
            }

            try
            {
                // An exclusive open fails while a copy has the file open (FileShare.None locks it on every platform).
                using (new FileStream(file.FullName, FileMode.Open, FileAccess.Read, FileShare.None))
                {
                }

                file.Delete();
                removed++;
            }
            catch (IOException)
            {
                // Still being written by another import, or gone already.
            }
        }

        return removed;
    }
}
