using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace CallMedia.Storage;

/// <summary>
/// Which file a path leads to, and in what state: device, inode, size, and modification and change times (to the
/// nanosecond), from one <c>statx(2)</c> on Linux. Two equal identities are the same file, unchanged since: writing it
/// moves its modification time; renaming it, linking it elsewhere or changing its mode moves its change time, which no
/// user can set. So a delivery of a file known by its identity opens it only to send it: it need not look at its first
/// bytes again (plain or encrypted) nor follow the links on its path again (where it really is was checked when it was
/// first seen, on the file then opened). Elsewhere (not Linux, or <c>statx</c> refused by a sandbox)
/// <see cref="IsSupported"/> is false: the identity is the length and time alone and says nothing of links.
/// </summary>
public readonly partial record struct FileIdentity(ulong Device, ulong Inode, long Size, long ModifiedNs, long ChangedNs)
{
    private const int AtFdCwd = -100;
    private const int AtEmptyPath = 0x1000;
    // O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC (the same on every Linux .NET runs on); open64 for files past 2 GiB on 32-bit.
    private const int OpenFlags = 0x100 | 0x800 | 0x80000;

    // STATX_TYPE | STATX_MODE | STATX_MTIME | STATX_CTIME | STATX_INO | STATX_SIZE
    private const uint Wanted = 0x1 | 0x2 | 0x40 | 0x80 | 0x100 | 0x200;
    private const int StatxSize = 256;
    private const ushort TypeMask = 0xF000;
    private const ushort RegularFile = 0x8000;

    /// <summary>Whether identities carry device and inode (Linux with <c>statx</c>): probed once.</summary>
    public static bool IsSupported { get; } = Probe();

    /// <summary>The last write time, as the framework reads it (whole 100 ns ticks).</summary>
    public DateTime LastWriteTimeUtc => DateTime.UnixEpoch.AddTicks(ModifiedNs / 100);

    /// <summary>
    /// The regular file <paramref name="path"/> leads to (links followed); null when there is none or it cannot be
    /// looked at (a link loop, a folder the service may not enter): as for a file that is not there.
    /// </summary>
    public static FileIdentity? OfPath(string path)
    {
        if (!IsSupported)
        {
            var info = new FileInfo(path);
            return info.Exists ? FromInfo(info.Length, info.LastWriteTimeUtc) : null;
        }

        Span<byte> buffer = stackalloc byte[StatxSize];
        return Statx(AtFdCwd, path, 0, Wanted, buffer) == 0 ? Regular(buffer) : null;
    }

    /// <summary>The identity of an open file; null when it is not a regular file or cannot be looked at.</summary>
    public static FileIdentity? Of(SafeFileHandle handle)
    {
        if (!IsSupported)
        {
            return FromInfo(RandomAccess.GetLength(handle), File.GetLastWriteTimeUtc(handle));
        }

        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            Span<byte> buffer = stackalloc byte[StatxSize];
            return Statx((int)handle.DangerousGetHandle(), string.Empty, AtEmptyPath, Wanted, buffer) == 0 ? Regular(buffer) : null;
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// Opens a file to read it, nothing more: no advisory lock taken and released, no look at its type (the caller
    /// compares its <see cref="Of"/> with the identity it expects; a FIFO or a device swapped in does not block the
    /// open). Null when it cannot be opened, whatever the reason.
    /// </summary>
    public static SafeFileHandle? OpenRead(string path)
    {
        if (!IsSupported)
        {
            try
            {
                return File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return null;
            }
        }

        var fd = Open(path, OpenFlags);
        return fd >= 0 ? new SafeFileHandle(fd, ownsHandle: true) : null;
    }

    /// <summary>Where an open file really is (Linux: its link in <c>/proc/self/fd</c>); null when that cannot be told.</summary>
    public static string? RealPathOf(SafeFileHandle handle)
    {
        Span<char> path = stackalloc char[PathMax];
        return RealPathOf(handle, path) is var length and >= 0 ? new string(path[..length]) : null;
    }

    /// <summary>
    /// <see cref="RealPathOf(SafeFileHandle)"/> into <paramref name="into"/> (<see cref="PathMax"/> characters hold any
    /// path): its length, or -1 when it cannot be told. One <c>readlinkat(2)</c> in <c>/proc/self/fd</c>, kept open,
    /// and nothing allocated: it runs on every delivery of a linked file.
    /// </summary>
    public static int RealPathOf(SafeFileHandle handle, Span<char> into)
    {
        if (!OperatingSystem.IsLinux() || ProcessFds() is not (>= 0 and var fds))
        {
            return -1;
        }

        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            Span<byte> name = stackalloc byte[16];
            if (!((int)handle.DangerousGetHandle()).TryFormat(name[..^1], out var written, provider: System.Globalization.CultureInfo.InvariantCulture))
            {
                return -1;
            }

            name[written] = 0;
            Span<byte> target = stackalloc byte[PathMax];
            var length = (int)ReadLinkAt(fds, name, target, target.Length);
            // A target as long as the buffer may have been cut short; it is not a path this service can be given.
            if (length <= 0 || length >= target.Length)
            {
                return -1;
            }

            // Invalid UTF-8 decodes to replacement characters, as the framework's own link reading does.
            return System.Text.Unicode.Utf8.ToUtf16(target[..length], into, out _, out var chars) == System.Buffers.OperationStatus.Done ? chars : -1;
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>The longest path <c>readlink</c> can give (Linux's <c>PATH_MAX</c>).</summary>
    public const int PathMax = 4096;

    private static int _processFds = -1;

    /// <summary>
    /// This process's open files (<c>/proc/self/fd</c>), a folder kept open for the life of the process once opened;
    /// -1 while it cannot be (tried again next time: a moment out of descriptors does not turn the check off for good).
    /// O_RDONLY | O_CLOEXEC, the same on every architecture (O_DIRECTORY is not, and readlinkat needs no more).
    /// </summary>
    private static int ProcessFds()
    {
        var fds = Volatile.Read(ref _processFds);
        if (fds >= 0)
        {
            return fds;
        }

        fds = Open("/proc/self/fd", 0x80000);
        if (fds >= 0 && Interlocked.CompareExchange(ref _processFds, fds, -1) != -1)
        {
            // Another thread opened it first: this duplicate is ours alone, and nothing more can be done if closing it fails.
            _ = Close(fds);
            return Volatile.Read(ref _processFds);
        }

        return fds;
    }

    private static FileIdentity FromInfo(long length, DateTime modifiedUtc) =>
        new(0, 0, length, (modifiedUtc - DateTime.UnixEpoch).Ticks * 100, 0);

    private static FileIdentity? Regular(ReadOnlySpan<byte> statx)
    {
        if ((MemoryMarshal.Read<ushort>(statx[28..]) & TypeMask) != RegularFile)
        {
            return null;
        }

        var device = ((ulong)MemoryMarshal.Read<uint>(statx[136..]) << 32) | MemoryMarshal.Read<uint>(statx[140..]);
        return new FileIdentity(device, MemoryMarshal.Read<ulong>(statx[32..]), MemoryMarshal.Read<long>(statx[40..]), Nanoseconds(statx[112..]), Nanoseconds(statx[96..]));
    }

    /// <summary>A <c>statx_timestamp</c>: seconds (64 bits), then nanoseconds (32).</summary>
    private static long Nanoseconds(ReadOnlySpan<byte> timestamp) =>
        (MemoryMarshal.Read<long>(timestamp) * 1_000_000_000) + MemoryMarshal.Read<uint>(timestamp[8..]);

    private static bool Probe()
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        try
        {
            Span<byte> buffer = stackalloc byte[StatxSize];
            return Statx(AtFdCwd, "/", 0, Wanted, buffer) == 0 && (MemoryMarshal.Read<uint>(buffer) & Wanted) == Wanted;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int directory, string path, int flags, uint mask, Span<byte> buffer);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "readlinkat")]
    private static partial nint ReadLinkAt(int directory, ReadOnlySpan<byte> name, Span<byte> buffer, nint size);

    [LibraryImport("libc", EntryPoint = "open64", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);
}
