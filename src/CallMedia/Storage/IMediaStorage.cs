namespace CallMedia.Storage;

/// <summary>
/// What storage knows of a stored object: the plaintext's length and when it was written; for a plain file on a local
/// disk also the file itself (<see cref="IMediaStorage.PlainLocalPath"/> as of this look) and its identity as seen, so a
/// request that looked once need not look again, and sends exactly the file it looked at.
/// </summary>
public sealed record StoredObject(long Length, DateTimeOffset LastModified, bool Encrypted, string? PlainPath = null, FileIdentity? Identity = null);

/// <summary>
/// The one way to media bytes: every read and write of a recording, a prepared video or a transcode (delivery,
/// zips, ffmpeg inputs and outputs, import, checksums) goes through it, so nothing reads ciphertext or writes
/// plaintext by mistake, and another backend (object storage) can take the local folder's place. Paths are stored
/// paths: relative to the media folder, or absolute inside it or an allowed link folder.
/// </summary>
public interface IMediaStorage
{
    /// <summary>Whether new objects are written encrypted (<c>Storage:Encryption=on</c>).</summary>
    bool EncryptsNewObjects { get; }

    /// <summary>Length and time of an object, null when it is not there.</summary>
    StoredObject? Stat(string path);

    /// <summary><see cref="Stat"/> for a request: given up when the request is (a store's answer waited for asynchronously).</summary>
    Task<StoredObject?> StatAsync(string path, CancellationToken ct);

    /// <summary>
    /// The local file itself when the object is a plain file on a local disk (the fast path: sent with the
    /// server's file sending, read by ffmpeg in place); null when only <see cref="OpenRead"/> can read it.
    /// </summary>
    string? PlainLocalPath(string path);

    /// <summary>
    /// Opens, to send it, the plain local file a <see cref="Stat"/> looked at (one with an identity): that very file,
    /// still where it may be read from; null when it is not (replaced, moved, gone) or the object is no such file.
    /// The file may be shared with other deliveries of it: read its handle, dispose the <see cref="OpenFile"/>.
    /// </summary>
    OpenFile? OpenLooked(StoredObject stored);

    /// <summary>A seekable stream of the plaintext, its length the plaintext's; reads are asynchronous or synchronous.</summary>
    Stream OpenRead(string path);

    /// <summary>
    /// The plaintext as a local file for a tool that opens files (ffmpeg): the file itself when plain, else a
    /// private temp copy removed when the handle is disposed.
    /// </summary>
    Task<LocalInput> OpenLocalInputAsync(string path, string extension, CancellationToken ct);

    /// <summary>Copies a local file (an import) into a new object; returns the plaintext's size and CRC-32.</summary>
    Task<(long Size, uint Crc)> StoreAsync(string sourceFile, string path, CancellationToken ct);

    /// <summary>A private temp path for a tool's output, to hand to <see cref="CommitAsync"/>.</summary>
    string NewTempPath(string extension);

    /// <summary>Turns a finished temp file (a tool's output) into the object at <paramref name="path"/>, replacing any; the temp file is gone afterwards. Returns size and CRC-32 of the plaintext.</summary>
    Task<(long Size, uint Crc)> CommitAsync(string tempFile, string path, CancellationToken ct);

    /// <summary>Size and CRC-32 of the plaintext of an object, read once.</summary>
    Task<(long Size, uint Crc)> HashAsync(string path, CancellationToken ct);

    bool Exists(string path);

    void Delete(string path);
}

/// <summary>
/// A local file holding an object's plaintext; disposing removes it when it was a temp copy, or tells its owner
/// (<paramref name="released"/>: a cache that may now evict it) that it is no longer in use.
/// </summary>
public sealed class LocalInput(string path, bool temporary, Action? released = null) : IAsyncDisposable
{
    public string Path { get; } = path;

    public ValueTask DisposeAsync()
    {
        released?.Invoke();
        if (temporary)
        {
            File.Delete(Path);
        }

        return ValueTask.CompletedTask;
    }
}
