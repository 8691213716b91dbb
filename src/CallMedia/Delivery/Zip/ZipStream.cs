using CallMedia.Storage;

namespace CallMedia.Delivery.Zip;

/// <summary>
/// A read-only, seekable view of a <see cref="ZipLayout"/>: headers are generated for the bytes asked for and
/// entry data is read from the files, so memory stays flat whatever the archive's size, and the framework's
/// range processing can serve any slice of it. Reads are asynchronous only.
/// A file that vanished or shrank since the layout was made throws <see cref="IOException"/>, which aborts
/// the response: the client sees a broken transfer, never a complete-looking corrupt archive.
/// </summary>
public sealed class ZipStream(ZipLayout layout, IMediaStorage storage) : Stream
{
    private Stream? _file;
    private int _fileEntry = -1;
    private long _position;

    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override bool CanWrite => false;

    public override long Length => layout.Length;

    public override long Position
    {
        get => _position;
        set => _position = value is >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value));
    }

    public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
    {
        SeekOrigin.Begin => offset,
        SeekOrigin.Current => _position + offset,
        _ => layout.Length + offset,
    };

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>
    /// Fills the buffer as far as the archive goes, so a run of small headers and files is one write, not thousands —
    /// except that a file too large for what is left of the buffer starts the next read instead: its data is then read
    /// in whole buffers from its own start, aligned with an encrypted file's chunks (decrypted in place, never a chunk
    /// twice or through a copy).
    /// </summary>
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var total = 0;
        while (total < buffer.Length && _position < layout.Length && (total == 0 || !StartsLargeFile(buffer.Length - total)))
        {
            total += await ReadPartAsync(buffer[total..], cancellationToken);
        }

        return total;
    }

    /// <summary>Whether the archive goes on with the start of a stored file's data longer than <paramref name="room"/>.</summary>
    private bool StartsLargeFile(int room)
    {
        if (_position >= layout.CentralDirectoryOffset)
        {
            return false;
        }

        var i = layout.EntryAt(_position);
        var entry = layout.Entries[i];
        return _position == layout.DataOffset(i) && entry.Content is null && entry.Size > room;
    }

    private async ValueTask<int> ReadPartAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (_position >= layout.EndRecordsOffset)
        {
            return Copy(layout.EndRecords(), _position - layout.EndRecordsOffset, buffer);
        }

        if (_position >= layout.CentralDirectoryOffset)
        {
            var record = layout.CentralRecordAt(_position);
            return Copy(layout.CentralHeader(record), _position - layout.CentralRecordOffset(record), buffer);
        }

        var i = layout.EntryAt(_position);
        var dataOffset = layout.DataOffset(i);
        if (_position < dataOffset)
        {
            return Copy(layout.LocalHeader(i), _position - layout.LocalHeaderOffset(i), buffer);
        }

        var entry = layout.Entries[i];
        var within = _position - dataOffset;
        var want = (int)Math.Min(buffer.Length, entry.Size - within);
        if (entry.Content is { } content)
        {
            return Copy(content, within, buffer[..want]);
        }

        var file = OpenEntry(i, entry);
        file.Position = within;
        var read = await file.ReadAsync(buffer[..want], cancellationToken);
        if (read == 0)
        {
            throw new IOException($"media file of zip entry '{entry.Name}' is shorter than recorded");
        }

        _position += read;
        return read;
    }

    public override int Read(byte[] buffer, int offset, int count) =>
        throw new NotSupportedException("ZipStream is read asynchronously only");

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _file?.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        if (_file is not null)
        {
            await _file.DisposeAsync();
        }

        await base.DisposeAsync();
    }

    private Stream OpenEntry(int index, ZipEntry entry)
    {
        if (_fileEntry == index && _file is not null)
        {
            return _file;
        }

        _file?.Dispose();
        _file = null;
        // Through the storage: a plain file as it is, an encrypted one decrypted chunk by chunk.
        _file = storage.OpenRead(entry.FilePath!);
        if (_file.Length != entry.Size)
        {
            throw new IOException($"media file of zip entry '{entry.Name}' changed size since it was recorded");
        }

        _fileEntry = index;
        return _file;
    }

    private int Copy(byte[] source, long from, Memory<byte> buffer)
    {
        var n = (int)Math.Min(buffer.Length, source.Length - from);
        source.AsSpan((int)from, n).CopyTo(buffer.Span);
        _position += n;
        return n;
    }
}
