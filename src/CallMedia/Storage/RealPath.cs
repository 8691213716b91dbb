using System.Runtime.InteropServices;

namespace CallMedia.Storage;

/// <summary>
/// Where a path really leads once every symbolic link on the way (in any folder of it, not only the last) is
/// followed, as the kernel would. Confinement checks compare these, so a link inside an allowed folder that points
/// out of it is seen for what it is. On Unix the C library's <c>realpath</c> answers for a path that exists (it runs
/// for every delivery of a linked file: no allocation per folder); the walk here answers the rest.
/// </summary>
public static partial class RealPath
{
    private const int MaxLinks = 40;

    /// <summary>The resolved absolute path; parts that do not exist are kept as written. Null for a link loop.</summary>
    public static string? Of(string path)
    {
        var full = Path.GetFullPath(path);
        return (OperatingSystem.IsWindows() ? null : Native(full)) ?? Walk(full);
    }

    /// <summary><c>realpath(3)</c>: null when any part is missing, for a loop, or on any other failure.</summary>
    internal static string? Native(string full)
    {
        var resolved = NativeRealPath(full, IntPtr.Zero);
        if (resolved == IntPtr.Zero)
        {
            return null;
        }

        try
        {
            return Marshal.PtrToStringUTF8(resolved);
        }
        finally
        {
            NativeFree(resolved);
        }
    }

    [LibraryImport("libc", EntryPoint = "realpath", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr NativeRealPath(string path, IntPtr resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void NativeFree(IntPtr pointer);

    private static string? Walk(string full)
    {
        var root = Path.GetPathRoot(full)!;
        var pending = new Stack<string>(Parts(full[root.Length..]).Reverse());
        var current = root;
        var links = 0;
        while (pending.TryPop(out var part))
        {
            if (part is "" or ".")
            {
                continue;
            }

            if (part == "..")
            {
                current = Path.GetDirectoryName(current) ?? current;
                continue;
            }

            var next = Path.Join(current, part);
            var target = new FileInfo(next).LinkTarget;
            if (target is null)
            {
                current = next;
                continue;
            }

            if (++links > MaxLinks)
            {
                return null;
            }

            // The link's text is walked like the rest of the path, so "sub/../x" inside a link resolves as the kernel does.
            if (Path.IsPathRooted(target))
            {
                current = Path.GetPathRoot(target)!;
                target = target[current.Length..];
            }

            foreach (var t in Parts(target).Reverse())
            {
                pending.Push(t);
            }
        }

        return current;
    }

    /// <summary>True when <paramref name="path"/> is <paramref name="folder"/> itself or lies inside it; both already resolved.</summary>
    public static bool IsUnder(ReadOnlySpan<char> path, string folder) =>
        path.SequenceEqual(folder)
        || (folder.EndsWith(Path.DirectorySeparatorChar)
            ? path.StartsWith(folder, StringComparison.Ordinal)
            : path.Length > folder.Length && path[folder.Length] == Path.DirectorySeparatorChar && path.StartsWith(folder, StringComparison.Ordinal));

    private static string[] Parts(string path) => path.Split(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
}
