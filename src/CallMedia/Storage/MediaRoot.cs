namespace CallMedia.Storage;

/// <summary>
/// The media folder. Stored paths are relative to it; a path from the database that would resolve outside it
/// (through <c>..</c> or a rooted path that was not linked in by import) is refused, never opened.
/// </summary>
public sealed class MediaRoot
{
    private readonly string[] _linkRoots;

    /// <param name="root">The media folder.</param>
    /// <param name="linkRoots">Folders whose files may be linked in place (<c>Import:AllowedRoots</c>).</param>
    public MediaRoot(string root, IEnumerable<string>? linkRoots = null)
    {
        Root = Path.GetFullPath(root);
        Directory.CreateDirectory(Root);
        _linkRoots = (linkRoots ?? []).Select(r => Path.GetFullPath(r).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar).ToArray();
    }

    public string Root { get; }

    /// <summary>Transcodes and other derived files live here; they can be deleted at any time.</summary>
    public string CacheDir => Path.Combine(Root, ".cache");

    /// <summary>Files are written here first and renamed into place, so no reader ever sees half a file.</summary>
    public string TempDir => Path.Combine(Root, ".tmp");

    /// <summary>The absolute path of a stored media path; throws for one that escapes the root.</summary>
    public string Resolve(string storedPath)
    {
        if (string.IsNullOrEmpty(storedPath) || storedPath.Contains('\0', StringComparison.Ordinal))
        {
            throw new InvalidDataException("empty or invalid media path");
        }

        var full = Path.GetFullPath(Path.IsPathRooted(storedPath) ? storedPath : Path.Combine(Root, storedPath));
        if (full.StartsWith(Root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            return full;
        }

        // Linked in place by `callmedia import --link`: only inside the folders allowed for that.
        if (Path.IsPathRooted(storedPath) && _linkRoots.Any(r => full.StartsWith(r, StringComparison.Ordinal)))
        {
            return full;
        }

        throw new InvalidDataException("media path is outside the media root and the allowed link folders");
    }

    /// <summary>A fresh temp file name beside the destination's file system.</summary>
    public string NewTempPath(string extension)
    {
        Directory.CreateDirectory(TempDir);
        return Path.Combine(TempDir, $"{Guid.NewGuid():N}.{extension}");
    }
}
