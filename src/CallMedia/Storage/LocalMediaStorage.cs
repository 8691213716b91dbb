using System.Collections.Concurrent;
using System.IO.Hashing;
using Microsoft.Extensions.Options;
using Microsoft.Win32.SafeHandles;

namespace CallMedia.Storage;

/// <summary>
/// The media folder as storage. A file is either plain or encrypted (<see cref="EncryptedFormat"/>, told apart by
/// its first bytes), so a folder being converted by <c>callmedia storage encrypt</c> serves both. New objects are
/// encrypted when <c>Storage:Encryption=on</c>. Every object is written to a temp file in the private
/// <see cref="MediaRoot.TempDir"/> and renamed into place, so no reader sees half an object.
/// </summary>
public sealed class LocalMediaStorage : IMediaStorage, IDisposable
{
    /// <summary>Beside the media, the ids (never the keys) of the master keys its encrypted files use.</summary>
    public const string KeysInUseFile = ".encryption-keys";

    private const int CopyBuffer = 1 << 20;

    /// <summary>Plain files remembered at most; past that the memory starts again empty.</summary>
    private const int MaxPlainKnown = 100_000;

    private readonly MediaRoot _media;

    /// <summary>
    /// Plain files whose first bytes were read, with the identity they had: while it holds it is the same plain file
    /// (encrypting one writes a new file in its place), so a delivery does not open it to look again.
    /// </summary>
    private readonly ConcurrentDictionary<string, FileIdentity> _plain = new(StringComparer.Ordinal);

    /// <summary>Plain files kept open for the next delivery of the same file (Linux: where identities are exact).</summary>
    private readonly OpenFiles _open = new();
    private readonly StorageOptions _options;
    private readonly Lock _gate = new();
    private DateTime _keysStamp;
    private volatile MasterKeys _keys;

    public LocalMediaStorage(MediaRoot media, IOptions<StorageOptions> options)
        : this(media, options.Value, MasterKeys.Load(options.Value, media))
    {
    }

    public LocalMediaStorage(MediaRoot media, StorageOptions options, MasterKeys keys)
    {
        _media = media;
        _options = options;
        _keys = keys;
        _keysStamp = KeyFileStamp();
        EncryptsNewObjects = options.EncryptionOn;
        CheckKeys(media, options, keys);
    }

    /// <summary>The master keys, read again when the key file changed (a rotation added a key) before a write or an unknown key id.</summary>
    public MasterKeys Keys => _keys;

    public bool EncryptsNewObjects { get; }

    /// <summary>
    /// Refuses a configuration that would write without a key, or could not read what is stored: encryption on
    /// without a key, or files encrypted with a master key that is not configured.
    /// </summary>
    public static void CheckKeys(MediaRoot media, StorageOptions options, MasterKeys keys)
    {
        if (options.EncryptionOn && keys.Current is null)
        {
            throw new MediaKeyException($"Storage:Encryption is on but no master key is configured: name a key file in Storage:KeyFile or set {StorageOptions.KeyVariable}");
        }

        var missing = KeysInUse(media).Where(id => keys.Find(id) is null).ToList();
        if (missing.Count > 0)
        {
            throw new MediaKeyException(keys.Current is null
                ? $"media files are encrypted (master key {string.Join(", ", missing)}) but no master key is configured: name the key file in Storage:KeyFile or set {StorageOptions.KeyVariable}"
                : $"media files are encrypted with master key {string.Join(", ", missing)}, which is not among the configured keys ({keys.Source}); the wrong key file?");
        }
    }

    /// <summary>The master key ids recorded as used by encrypted files.</summary>
    public static IReadOnlyList<string> KeysInUse(MediaRoot media)
    {
        var path = Path.Combine(media.Root, KeysInUseFile);
        return File.Exists(path)
            ? File.ReadAllLines(path).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).Distinct(StringComparer.Ordinal).ToList()
            : [];
    }

    /// <summary>Records exactly these key ids as the ones in use (after a rotation found no file using the others).</summary>
    public void SetKeysInUse(IEnumerable<string> ids)
    {
        var path = Path.Combine(_media.Root, KeysInUseFile);
        var temp = path + ".new";
        File.WriteAllText(temp, "# ids of the master keys that encrypted media files use (not the keys)\n" + string.Concat(ids.Distinct(StringComparer.Ordinal).Select(i => i + "\n")));
        File.Move(temp, path, overwrite: true);
    }

    public Task<StoredObject?> StatAsync(string path, CancellationToken ct) => Task.FromResult(Stat(path));

    public StoredObject? Stat(string path)
    {
        // A file seen before and found plain is known by its identity: the same file, unchanged, so neither its first
        // bytes nor (on Linux) the links on its path need a second look. Elsewhere the links are followed first.
        var (full, linked) = FileIdentity.IsSupported ? _media.Locate(path) : (_media.Resolve(path), false);
        if (FileIdentity.OfPath(full) is not { } now)
        {
            return null;
        }

        if (_plain.TryGetValue(full, out var seen) && seen == now)
        {
            return new StoredObject(now.Size, now.LastWriteTimeUtc, false, full, now);
        }

        // Length and time from the file whose first bytes were read, so what is remembered as plain is that file; a
        // linked one only when where the file opened really is could be checked.
        if (Look(full, linked) is not { } look)
        {
            return null;
        }

        if (look.Header is { } header)
        {
            return new StoredObject(header.Length, look.Identity.LastWriteTimeUtc, true);
        }

        if (look.Checked)
        {
            if (_plain.Count >= MaxPlainKnown)
            {
                _plain.Clear();
            }

            _plain[full] = look.Identity;
        }

        return new StoredObject(look.Identity.Size, look.Identity.LastWriteTimeUtc, false, full, look.Identity);
    }

    /// <summary>
    /// Opens, to send it, the plain file a <see cref="Stat"/> looked at: only that very file (the identity it had
    /// then), and one linked in from an allowed folder only while it really is inside one (a folder on its path moved
    /// out and linked back leads to the same file from elsewhere); null when it is not, or cannot be opened.
    /// </summary>
    public OpenFile? OpenLooked(StoredObject stored)
    {
        if (stored is not { PlainPath: { } full, Identity: { } identity })
        {
            return null;
        }

        // A file kept open since an earlier delivery is that very file, opened and checked then; it is sent while it
        // still has the identity looked at (not written, replaced or deleted since: each moves its change time) and, a
        // linked one, while it really is inside an allowed folder now.
        var linked = _media.IsLinked(full);
        if (FileIdentity.IsSupported && _open.Take(full, identity) is { } kept)
        {
            var sendable = false;
            try
            {
                sendable = IsTheLooked(kept.Handle);
                return sendable ? kept : null;
            }
            finally
            {
                if (!sendable)
                {
                    kept.Dispose();
                }
            }
        }

        if (FileIdentity.OpenRead(full) is not { } handle)
        {
            return null;
        }

        if (IsTheLooked(handle))
        {
            return FileIdentity.IsSupported ? _open.Keep(full, identity, handle) : OpenFile.Alone(handle);
        }

        handle.Dispose();
        return null;

        bool IsTheLooked(SafeFileHandle open) => FileIdentity.Of(open) == identity && (!linked || IsLinkedInside(open, full));
    }

    /// <summary>Where the file opened really is, or where its path leads when that cannot be told: inside an allowed folder?</summary>
    private bool IsLinkedInside(SafeFileHandle handle, string full)
    {
        Span<char> real = stackalloc char[FileIdentity.PathMax];
        var length = FileIdentity.RealPathOf(handle, real);
        return length >= 0 ? _media.IsLinkedInside(real[..length]) : RealPath.Of(full) is { } path && _media.IsLinkedInside(path);
    }

    /// <summary>
    /// A file's first bytes (its encryption header, if any) and identity, from one open; null when it is gone. For a
    /// <paramref name="linked"/> file the links on its path are followed first, and where the file opened really is
    /// checked too: <c>Checked</c> says whether that could be told (so a link swapped in between cannot get another
    /// file remembered).
    /// </summary>
    private (EncryptedFormat.Header? Header, FileIdentity Identity, bool Checked)? Look(string full, bool linked = false)
    {
        if (linked)
        {
            _media.Resolve(full);
        }

        try
        {
            using var handle = File.OpenHandle(full, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var real = linked ? FileIdentity.RealPathOf(handle) : null;
            if (real is not null && !_media.IsLinkedInside(real))
            {
                throw MediaRoot.Outside();
            }

            Span<byte> start = stackalloc byte[EncryptedFormat.HeaderSize];
            var read = RandomAccess.Read(handle, start, 0);
            var identity = FileIdentity.Of(handle) ?? throw new IOException("a media file is not a regular file");
            return (EncryptedFormat.ReadHeader(start[..read], full), identity, !linked || real is not null);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
    }

    public string? PlainLocalPath(string path)
    {
        var full = _media.Resolve(path);
        return File.Exists(full) && ReadHeader(full) is null ? full : null;
    }

    public Stream OpenRead(string path)
    {
        var full = _media.Resolve(path);
        var file = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 0, FileOptions.Asynchronous);
        try
        {
            var start = new byte[EncryptedFormat.HeaderSize];
            var read = RandomAccess.Read(file.SafeFileHandle, start, 0);
            if (EncryptedFormat.ReadHeader(start.AsSpan(0, read), path) is not { } header)
            {
                return file;
            }

            if (Keys.Find(header.KeyId) is null)
            {
                RefreshKeys();
            }

            var dataKey = header.Unwrap(Keys, path);
            return new DecryptingStream(file, header, dataKey, path);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public async Task<LocalInput> OpenLocalInputAsync(string path, string extension, CancellationToken ct)
    {
        if (PlainLocalPath(path) is { } plain)
        {
            return new LocalInput(plain, temporary: false);
        }

        var temp = NewTempPath("plain." + extension);
        try
        {
            await using (var source = OpenRead(path))
            await using (var output = CreatePrivate(temp))
            {
                await source.CopyToAsync(output, CopyBuffer, ct);
            }

            return new LocalInput(temp, temporary: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    public async Task<(long Size, uint Crc)> StoreAsync(string sourceFile, string path, CancellationToken ct)
    {
        var destination = _media.Resolve(path);
        if (!EncryptsNewObjects)
        {
            var copied = await MediaCopier.CopyAsync(sourceFile, destination, _media.NewTempPath("part"), ct);
            _open.Forget(destination);
            return copied;
        }

        await using var source = new FileStream(sourceFile, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
        return await WriteEncryptedAsync(source, destination, ct);
    }

    public string NewTempPath(string extension) => _media.NewTempPath(extension);

    public async Task<(long Size, uint Crc)> CommitAsync(string tempFile, string path, CancellationToken ct)
    {
        var destination = _media.Resolve(path);
        try
        {
            if (!EncryptsNewObjects)
            {
                var hash = await MediaCopier.HashAsync(tempFile, ct);
                Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
                File.Move(tempFile, destination, overwrite: true);
                _open.Forget(destination);
                return hash;
            }

            await using var source = new FileStream(tempFile, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
            return await WriteEncryptedAsync(source, destination, ct);
        }
        finally
        {
            File.Delete(tempFile);
        }
    }

    public async Task<(long Size, uint Crc)> HashAsync(string path, CancellationToken ct)
    {
        if (PlainLocalPath(path) is { } plain)
        {
            return await MediaCopier.HashAsync(plain, ct);
        }

        await using var source = OpenRead(path);
        return await CopyHashingAsync(source, Stream.Null, ct);
    }

    public bool Exists(string path) => File.Exists(_media.Resolve(path));

    public void Delete(string path)
    {
        var full = _media.Resolve(path);
        File.Delete(full);
        _open.Forget(full);
    }

    public void Dispose() => _open.Dispose();

    /// <summary>The master key id of an encrypted object; null for a plain one.</summary>
    public string? KeyIdOf(string path) => ReadHeader(_media.Resolve(path))?.KeyId;

    /// <summary>
    /// Encrypts a plain object in place: the ciphertext goes to a temp file, is flushed to disk and renamed over the
    /// original, so a crash leaves either the old plain file or the new encrypted one. A file whose size or CRC-32
    /// is not <paramref name="expected"/> is left alone (it is not the recorded file). False when already encrypted.
    /// </summary>
    public async Task<bool> EncryptInPlaceAsync(string path, (long Size, uint Crc)? expected, CancellationToken ct)
    {
        var full = _media.Resolve(path);
        if (ReadHeader(full) is not null)
        {
            return false;
        }

        await using var source = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
        await WriteEncryptedAsync(source, full, ct, expected);
        return true;
    }

    /// <summary>
    /// Re-wraps an encrypted object's data key with the current master key; the chunks are copied as they are,
    /// never decrypted. Through a temp file and a rename, like every write. False when plain or already current.
    /// </summary>
    public async Task<bool> RewrapAsync(string path, CancellationToken ct)
    {
        var full = _media.Resolve(path);
        RefreshKeys();
        var current = Keys.Current ?? throw new MediaKeyException("no master key is configured");
        if (ReadHeader(full) is not { } header || header.KeyId == current.Id)
        {
            return false;
        }

        var dataKey = header.Unwrap(Keys, path);
        NoteKeyInUse(current.Id);
        var temp = _media.NewTempPath("part");
        try
        {
            await using (var source = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.Asynchronous | FileOptions.SequentialScan))
            await using (var output = CreatePrivate(temp))
            {
                await output.WriteAsync(EncryptedFormat.Rewrap(header, dataKey, current), ct);
                source.Position = EncryptedFormat.HeaderSize;
                await source.CopyToAsync(output, CopyBuffer, ct);
                output.Flush(flushToDisk: true);
            }

            File.Move(temp, full, overwrite: true);
            _open.Forget(full);
            return true;
        }
        finally
        {
            File.Delete(temp);
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(dataKey);
        }
    }

    private async Task<(long Size, uint Crc)> WriteEncryptedAsync(Stream source, string destination, CancellationToken ct, (long Size, uint Crc)? expected = null)
    {
        RefreshKeys();
        var master = Keys.Current ?? throw new MediaKeyException("no master key is configured");
        NoteKeyInUse(master.Id);
        Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
        var temp = _media.NewTempPath("part");
        try
        {
            (long Size, uint Crc) result;
            await using (var output = CreatePrivate(temp))
            {
                await using var encrypting = new EncryptingStream(output, master);
                result = await CopyHashingAsync(source, encrypting, ct);
                await encrypting.FinishAsync(ct);
                output.Flush(flushToDisk: true);
            }

            if (expected is { } e && e != result)
            {
                throw new InvalidDataException($"{destination} is not the recorded file (size or CRC-32 differ); left as it is");
            }

            File.Move(temp, destination, overwrite: true);
            _open.Forget(destination);
            return result;
        }
        finally
        {
            File.Delete(temp);
        }
    }

    private static async Task<(long Size, uint Crc)> CopyHashingAsync(Stream source, Stream destination, CancellationToken ct)
    {
        var crc = new Crc32();
        long size = 0;
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(CopyBuffer);
        try
        {
            int read;
            while ((read = await source.ReadAsync(buffer.AsMemory(0, CopyBuffer), ct)) > 0)
            {
                crc.Append(buffer.AsSpan(0, read));
                size += read;
                await destination.WriteAsync(buffer.AsMemory(0, read), ct);
            }

            return (size, crc.GetCurrentHashAsUInt32());
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Records a key id as used before a file encrypted with it exists, so a start-up check or a retirement never
    /// misses a key that files need. The small file is read on every write (not remembered), so a rotation that
    /// rewrote it meanwhile is seen.
    /// </summary>
    private void NoteKeyInUse(string id)
    {
        lock (_gate)
        {
            var inUse = KeysInUse(_media);
            if (!inUse.Contains(id))
            {
                File.AppendAllText(Path.Combine(_media.Root, KeysInUseFile), (File.Exists(Path.Combine(_media.Root, KeysInUseFile)) ? "" : "# ids of the master keys that encrypted media files use (not the keys)\n") + id + "\n");
            }
        }
    }

    private void RefreshKeys()
    {
        if (string.IsNullOrWhiteSpace(_options.KeyFile))
        {
            return;
        }

        lock (_gate)
        {
            var stamp = KeyFileStamp();
            if (stamp == _keysStamp)
            {
                return;
            }

            try
            {
                _keys = MasterKeys.Load(_options, _media);
                _keysStamp = stamp;
            }
            catch (MediaKeyException)
            {
                // A key file being edited or broken: the keys read at start (or last) stay in use.
            }
        }
    }

    private DateTime KeyFileStamp() =>
        string.IsNullOrWhiteSpace(_options.KeyFile) ? default : File.GetLastWriteTimeUtc(Path.GetFullPath(_options.KeyFile));

    private static FileStream CreatePrivate(string path) => PrivateFile.Create(path);

    private EncryptedFormat.Header? ReadHeader(string full) => Look(full)?.Header;
}
