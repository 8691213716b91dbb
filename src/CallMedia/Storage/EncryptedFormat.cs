using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;

namespace CallMedia.Storage;

/// <summary>A chunk of an encrypted media file failed authentication or is missing: the file was altered or cut.</summary>
public sealed class MediaTamperedException(string message) : IOException(message);

/// <summary>
/// The layout of an encrypted media file (version 1): a 128-byte header, then the plaintext in chunks of
/// <see cref="ChunkSize"/> bytes (the last one shorter), each sealed with AES-256-GCM under the file's own random
/// data key and followed by its 16-byte tag.
/// <code>
/// 0   8  magic 89 'C' 'M' 'E' 'N' 'C' 0D 0A
/// 8   2  version (1)          10  2  reserved (0)
/// 12  4  chunk size           16  8  plaintext length
/// 24 16  file id (random)     40  8  master key id
/// 48 12  wrap nonce           60 32  data key, encrypted with the master key
/// 92 16  wrap tag             108 20 zero
/// </code>
/// The data key is wrapped with AES-256-GCM under the master key, bytes 0–47 as associated data (so length, chunk
/// size and file id cannot be changed unnoticed). Chunk i uses the nonce <c>0000 0000 ‖ i</c> (big-endian) and the
/// associated data <c>file id ‖ i ‖ last?</c>: chunks cannot be reordered, swapped between files or cut off.
/// </summary>
public static class EncryptedFormat
{
    public const int HeaderSize = 128;
    public const int TagSize = 16;
    public const int ChunkSize = 64 * 1024;
    public const ushort Version = 1;
    private const int MaxChunkSize = 16 << 20;
    private const int AadSize = 16 + 8 + 1;

    private static ReadOnlySpan<byte> Magic => [0x89, (byte)'C', (byte)'M', (byte)'E', (byte)'N', (byte)'C', 0x0D, 0x0A];

    /// <summary>Whether the bytes start with the encrypted file's magic.</summary>
    public static bool IsEncrypted(ReadOnlySpan<byte> start) => start.Length >= Magic.Length && start[..Magic.Length].SequenceEqual(Magic);

    /// <summary>The size on disk of a plaintext of <paramref name="length"/> bytes.</summary>
    public static long StoredLength(long length, int chunkSize = ChunkSize) => HeaderSize + length + (ChunkCount(length, chunkSize) * TagSize);

    public static long ChunkCount(long length, int chunkSize) => (length + chunkSize - 1) / chunkSize;

    /// <summary>A parsed header; the data key stays wrapped until <see cref="Unwrap"/>.</summary>
    public sealed record Header(int ChunkSize, long Length, byte[] FileId, string KeyId, byte[] Raw)
    {
        /// <summary>The file's data key, unwrapped with the master key the header names.</summary>
        public byte[] Unwrap(MasterKeys keys, string what)
        {
            var master = keys.Find(KeyId)
                ?? throw new MediaKeyException($"{what} is encrypted with master key {KeyId}, which is not among the configured keys ({keys.Source})");
            var dataKey = new byte[MasterKeys.KeySize];
            try
            {
                using var gcm = new AesGcm(master.Key, TagSize);
                gcm.Decrypt(Raw.AsSpan(48, 12), Raw.AsSpan(60, 32), Raw.AsSpan(92, TagSize), dataKey, Raw.AsSpan(0, 48));
            }
            catch (AuthenticationTagMismatchException)
            {
                throw new MediaTamperedException($"{what}: the header of the encrypted file was altered");
            }

            return dataKey;
        }
    }

    /// <summary>Parses a header (null when the bytes are not an encrypted file's start).</summary>
    public static Header? ReadHeader(ReadOnlySpan<byte> bytes, string what)
    {
        if (bytes.Length < HeaderSize || !IsEncrypted(bytes))
        {
            return null;
        }

        var version = BinaryPrimitives.ReadUInt16BigEndian(bytes[8..]);
        var chunk = BinaryPrimitives.ReadInt32BigEndian(bytes[12..]);
        var length = BinaryPrimitives.ReadInt64BigEndian(bytes[16..]);
        if (version != Version || chunk is <= 0 or > MaxChunkSize || length < 0)
        {
            throw new MediaTamperedException($"{what}: unknown or damaged encrypted file header (version {version})");
        }

        return new Header(chunk, length, bytes.Slice(24, 16).ToArray(), Convert.ToHexString(bytes.Slice(40, 8)).ToLowerInvariant(), bytes[..HeaderSize].ToArray());
    }

    /// <summary>A header for a new file: the data key wrapped with <paramref name="master"/>.</summary>
    public static byte[] NewHeader(long length, byte[] fileId, byte[] dataKey, MasterKey master, int chunkSize = ChunkSize)
    {
        var b = new byte[HeaderSize];
        Magic.CopyTo(b);
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(8), Version);
        BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(12), chunkSize);
        BinaryPrimitives.WriteInt64BigEndian(b.AsSpan(16), length);
        fileId.CopyTo(b, 24);
        Convert.FromHexString(master.Id).CopyTo(b, 40);
        RandomNumberGenerator.Fill(b.AsSpan(48, 12));
        using var gcm = new AesGcm(master.Key, TagSize);
        gcm.Encrypt(b.AsSpan(48, 12), dataKey, b.AsSpan(60, 32), b.AsSpan(92, TagSize), b.AsSpan(0, 48));
        return b;
    }

    /// <summary>The same file's header with its data key wrapped by another master key (the chunks stay as they are).</summary>
    public static byte[] Rewrap(Header header, byte[] dataKey, MasterKey master) =>
        NewHeader(header.Length, header.FileId, dataKey, master, header.ChunkSize);

    internal static void Nonce(Span<byte> nonce, long index)
    {
        nonce[..4].Clear();
        BinaryPrimitives.WriteInt64BigEndian(nonce[4..], index);
    }

    internal static void Aad(Span<byte> aad, byte[] fileId, long index, bool last)
    {
        fileId.CopyTo(aad);
        BinaryPrimitives.WriteInt64BigEndian(aad[16..], index);
        aad[24] = last ? (byte)1 : (byte)0;
    }

    internal static int AadLength => AadSize;
}

/// <summary>
/// A read-only, seekable view of the plaintext of an encrypted file. A read after a seek decrypts only the chunks
/// it touches (the last one is kept for the next read), so a range request or a seek costs one chunk, not the file.
/// A read with room for <see cref="InPlaceMinimum"/> from a chunk boundary (a sender reading into the response's own
/// memory) reads up to <see cref="BatchBytes"/> of ciphertext in one system call and decrypts it straight into the
/// caller's buffer, on the caller's thread: the overlap with sending comes from the response pipe, which takes the
/// next segment while the transport sends the last one. Other sequential reads go through batches, the next one read
/// and decrypted ahead on another thread while the caller copies from this one. A chunk that fails authentication or
/// is missing throws <see cref="MediaTamperedException"/> when the read reaches it.
/// </summary>
public sealed class DecryptingStream : Stream
{
    /// <summary>Plaintext per batch of a sequential read (whole chunks, at least one).</summary>
    public const int BatchBytes = 1024 * 1024;

    /// <summary>A read with at least this much room from a chunk boundary decrypts straight into the caller's buffer.</summary>
    public const int InPlaceMinimum = 256 * 1024;

    private readonly FileStream _file;
    private readonly EncryptedFormat.Header _header;
    private readonly byte[] _dataKey;
    private readonly AesGcm _gcm;
    private readonly string _what;

    // One chunk, for reads that start inside a chunk or have little room: allocated on the first such read.
    private byte[]? _cipher;
    private byte[]? _plain;
    private long _plainChunk = -1;
    private int _plainLength;
    private long _position;

    // Where the last read ended: a read starting there is sequential and goes through the batches.
    private long _next;

    // Batches, allocated on the first sequential read: _front is what reads copy from, _back is being filled by
    // _ahead (the batch starting at plaintext offset _aheadStart) with its own cipher buffer and AES-GCM instance.
    private AesGcm? _batchGcm;
    private byte[]? _batchCipher;
    private byte[]? _front;
    private byte[]? _back;
    private long _frontStart;
    private int _frontLength;
    private Task<int>? _ahead;
    private long _aheadStart;
    private int _released;

    public DecryptingStream(FileStream file, EncryptedFormat.Header header, byte[] dataKey, string what)
    {
        _file = file;
        _header = header;
        _what = what;
        _dataKey = dataKey;
        _gcm = new AesGcm(dataKey, EncryptedFormat.TagSize);
    }

    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override bool CanWrite => false;

    public override long Length => _header.Length;

    public override long Position
    {
        get => _position;
        set => _position = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value));
    }

    private int BatchChunks => Math.Max(1, BatchBytes / _header.ChunkSize);

    public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
    {
        SeekOrigin.Begin => offset,
        SeekOrigin.Current => _position + offset,
        _ => Length + offset,
    };

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    /// <summary>Synchronous reads take one chunk at a time (they never wait for a batch read ahead).</summary>
    public override int Read(Span<byte> buffer)
    {
        var total = 0;
        while (total < buffer.Length && _position < Length)
        {
            if (TryCopyOut(buffer[total..], out var copied))
            {
                total += copied;
            }
            else if (CanDecryptInPlace(buffer.Length - total))
            {
                try
                {
                    total += DecryptInPlace(buffer[total..]);
                }
                catch (MediaTamperedException) when (total > 0)
                {
                    // What is in the buffer is authentic: it goes out, and the next read throws at that chunk.
                    break;
                }
            }
            else
            {
                var (index, length) = Locate();
                Fill(index, RandomAccess.Read(_file.SafeFileHandle, ChunkCipher().AsSpan(0, length + EncryptedFormat.TagSize), Offset(index)), length);
            }
        }

        _next = _position;
        return total;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var total = 0;
        while (total < buffer.Length && _position < Length)
        {
            if (TryCopyOut(buffer.Span[total..], out var copied))
            {
                total += copied;
            }
            else if (CanDecryptInPlace(buffer.Length - total))
            {
                try
                {
                    total += DecryptInPlace(buffer.Span[total..]);
                }
                catch (MediaTamperedException) when (total > 0)
                {
                    break;
                }
            }
            else if (_position == _next && (_position > 0 || buffer.Length - total >= _header.ChunkSize))
            {
                TakeBatch(await Ahead(BatchStart()).WaitAsync(cancellationToken));
            }
            else
            {
                var (index, length) = Locate();
                Fill(index, await RandomAccess.ReadAsync(_file.SafeFileHandle, ChunkCipher().AsMemory(0, length + EncryptedFormat.TagSize), Offset(index), cancellationToken), length);
            }
        }

        _next = _position;
        return total;
    }

    /// <summary>
    /// Whether the read can decrypt straight into the caller's buffer: it starts at a chunk boundary, has room for
    /// <see cref="InPlaceMinimum"/> (or the rest of the file), and no batch is being read ahead (which would share the
    /// cipher buffer). A sender that reads in large pieces (the response body's own memory) so never copies plaintext.
    /// </summary>
    private bool CanDecryptInPlace(int room) =>
        _ahead is null && _position % _header.ChunkSize == 0 && room >= Math.Min(InPlaceMinimum, Length - _position);

    /// <summary>
    /// Reads the whole chunks that fit into <paramref name="destination"/> (at most a batch, the last chunk of the
    /// file included) in one system call and decrypts them straight into it. A chunk that fails authentication after
    /// the first ends the read there; the next read starts with it and throws.
    /// </summary>
    private int DecryptInPlace(Span<byte> destination)
    {
        var (index, plain, read) = ReadInPlace(destination.Length);
        var done = OpenChunks(_gcm, index, _batchCipher.AsSpan(0, read), plain, destination);
        _position += done;
        return done;
    }

    /// <summary>Reads the ciphertext of the whole chunks that fit into <paramref name="room"/> from the position.</summary>
    private (long Index, int Plain, int Read) ReadInPlace(int room)
    {
        var size = _header.ChunkSize;
        var left = Length - _position;
        room = Math.Min(room, BatchChunks * size);
        var plain = left <= room ? (int)left : room / size * size;
        var chunks = (int)EncryptedFormat.ChunkCount(plain, size);
        var index = _position / size;
        _batchCipher ??= ArrayPool<byte>.Shared.Rent(BatchChunks * (size + EncryptedFormat.TagSize));
        return (index, plain, ReadFully(_batchCipher.AsSpan(0, plain + (chunks * EncryptedFormat.TagSize)), Offset(index)));
    }

    /// <summary>Copies from the current batch or the kept chunk when either holds the position.</summary>
    private bool TryCopyOut(Span<byte> destination, out int copied)
    {
        if (_front is not null && _position >= _frontStart && _position < _frontStart + _frontLength)
        {
            copied = CopyOut(_front, (int)(_position - _frontStart), _frontLength, destination);
            return true;
        }

        if (_plainChunk >= 0 && _position / _header.ChunkSize == _plainChunk)
        {
            copied = CopyOut(_plain!, (int)(_position % _header.ChunkSize), _plainLength, destination);
            return true;
        }

        copied = 0;
        return false;
    }

    private int CopyOut(byte[] source, int from, int length, Span<byte> destination)
    {
        var n = Math.Min(destination.Length, length - from);
        source.AsSpan(from, n).CopyTo(destination);
        _position += n;
        return n;
    }

    private long BatchStart() => _position / _header.ChunkSize * _header.ChunkSize;

    /// <summary>
    /// The fill of the batch starting at <paramref name="start"/>: the one under way when it is that one, else a new
    /// one, started once any other fill has finished (they share the cipher buffer and the back buffer).
    /// </summary>
    private Task<int> Ahead(long start)
    {
        if (_ahead is { } running && _aheadStart == start)
        {
            return running;
        }

        // Pooled: a zip reads a thousand files in a row, and fresh large arrays would cost a full collection each few.
        _front ??= ArrayPool<byte>.Shared.Rent(BatchChunks * _header.ChunkSize);
        _back ??= ArrayPool<byte>.Shared.Rent(BatchChunks * _header.ChunkSize);
        _batchCipher ??= ArrayPool<byte>.Shared.Rent(BatchChunks * (_header.ChunkSize + EncryptedFormat.TagSize));
        _batchGcm ??= new AesGcm(_dataKey, EncryptedFormat.TagSize);
        var back = _back;
        var index = start / _header.ChunkSize;
        _aheadStart = start;
        _ahead = _ahead is { } other
            ? other.ContinueWith(t => { _ = t.Exception; return FillBatch(index, back); }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default)
            : Task.Run(() => FillBatch(index, back));
        return _ahead;
    }

    /// <summary>The filled back buffer becomes the current batch, and the one after it is started.</summary>
    private void TakeBatch(int length)
    {
        _ahead = null;
        (_front, _back) = (_back, _front);
        _frontStart = _aheadStart;
        _frontLength = length;
        if (_frontStart + length < Length)
        {
            Ahead(_frontStart + length);
        }
    }

    /// <summary>Reads the chunks of one batch in one system call and decrypts them into <paramref name="destination"/>.</summary>
    private int FillBatch(long index, byte[] destination)
    {
        var size = _header.ChunkSize;
        var chunks = (int)Math.Min(BatchChunks, EncryptedFormat.ChunkCount(Length, size) - index);
        var plain = (int)Math.Min((long)chunks * size, Length - (index * size));
        var read = ReadFully(_batchCipher.AsSpan(0, plain + (chunks * EncryptedFormat.TagSize)), Offset(index));
        return OpenChunks(_batchGcm!, index, _batchCipher.AsSpan(0, read), plain, destination);
    }

    /// <summary>Reads until the span is full or the file ends; returns how much was read.</summary>
    private int ReadFully(Span<byte> cipher, long offset)
    {
        var read = 0;
        while (read < cipher.Length)
        {
            var n = RandomAccess.Read(_file.SafeFileHandle, cipher[read..], offset + read);
            if (n == 0)
            {
                break;
            }

            read += n;
        }

        return read;
    }

    /// <summary>
    /// Authenticates and decrypts the consecutive chunks from <paramref name="index"/> held in
    /// <paramref name="cipher"/> (as much of them as was read) into <paramref name="destination"/>; returns the
    /// plaintext bytes written.
    /// </summary>
    private int OpenChunks(AesGcm gcm, long index, ReadOnlySpan<byte> cipher, int plain, Span<byte> destination)
    {
        var size = _header.ChunkSize;
        var stride = size + EncryptedFormat.TagSize;
        var chunks = (int)EncryptedFormat.ChunkCount(plain, size);
        for (var c = 0; c < chunks; c++)
        {
            var length = Math.Min(size, plain - (c * size));
            try
            {
                Open(gcm, index + c, cipher.Slice(Math.Min(c * stride, cipher.Length), Math.Clamp(cipher.Length - (c * stride), 0, length + EncryptedFormat.TagSize)), length, destination.Slice(c * size, length));
            }
            catch (MediaTamperedException) when (c > 0)
            {
                // The chunks before it are authentic and may be all the reader wants: the read ends there, and the
                // next one starts with this chunk, which then fails for the reader that reaches it.
                return c * size;
            }
        }

        return plain;
    }

    private (long Index, int Length) Locate()
    {
        var size = _header.ChunkSize;
        var index = _position / size;
        return (index, (int)Math.Min(size, Length - (index * size)));
    }

    private long Offset(long index) => EncryptedFormat.HeaderSize + (index * (_header.ChunkSize + EncryptedFormat.TagSize));

    private byte[] ChunkCipher() => _cipher ??= new byte[_header.ChunkSize + EncryptedFormat.TagSize];

    private void Fill(long index, int read, int length)
    {
        _plainChunk = -1;
        _plain ??= new byte[_header.ChunkSize];
        Open(_gcm, index, _cipher!.AsSpan(0, read), length, _plain.AsSpan(0, length));
        _plainChunk = index;
        _plainLength = length;
    }

    private void Open(AesGcm gcm, long index, ReadOnlySpan<byte> sealedChunk, int length, Span<byte> destination)
    {
        if (sealedChunk.Length < length + EncryptedFormat.TagSize)
        {
            throw new MediaTamperedException($"{_what}: the encrypted file is cut short at chunk {index}");
        }

        Span<byte> nonce = stackalloc byte[12];
        Span<byte> aad = stackalloc byte[EncryptedFormat.AadLength];
        EncryptedFormat.Nonce(nonce, index);
        var last = (index + 1) * _header.ChunkSize >= Length;
        EncryptedFormat.Aad(aad, _header.FileId, index, last);
        try
        {
            gcm.Decrypt(nonce, sealedChunk[..length], sealedChunk.Slice(length, EncryptedFormat.TagSize), destination, aad);
        }
        catch (AuthenticationTagMismatchException)
        {
            destination.Clear();
            throw new MediaTamperedException($"{_what}: chunk {index} of the encrypted file failed authentication (altered or damaged)");
        }
    }

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            // A batch still being read ahead uses the file and the key: they are released once it ends.
            if (_ahead is { } ahead)
            {
                _ahead = null;
                ahead.ContinueWith(t => { _ = t.Exception; Release(); }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
            }
            else
            {
                Release();
            }
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        if (_ahead is { } ahead)
        {
            _ahead = null;
            await ahead.ContinueWith(t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        }

        await base.DisposeAsync();
    }

    private void Release()
    {
        if (Interlocked.Exchange(ref _released, 1) != 0)
        {
            return;
        }

        _gcm.Dispose();
        _batchGcm?.Dispose();
        _file.Dispose();
        CryptographicOperations.ZeroMemory(_dataKey);
        CryptographicOperations.ZeroMemory(_plain);
        foreach (var buffer in (byte[]?[])[_front, _back])
        {
            if (buffer is not null)
            {
                // Plaintext goes back to the pool wiped.
                CryptographicOperations.ZeroMemory(buffer.AsSpan(0, Math.Min(buffer.Length, BatchChunks * _header.ChunkSize)));
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        // The cipher buffer only ever holds ciphertext (decryption writes elsewhere): it goes back as it is.
        if (_batchCipher is not null)
        {
            ArrayPool<byte>.Shared.Return(_batchCipher);
        }

        _front = _back = _batchCipher = null;
    }
}

/// <summary>
/// Writes the encrypted form of a plaintext written to it into a seekable file: chunks are sealed as they fill (one
/// full chunk is held back until more comes, since the last chunk is marked as such), and <see cref="FinishAsync"/>
/// seals the last one and writes the header, which needs the length, at the start.
/// </summary>
public sealed class EncryptingStream : Stream
{
    private readonly Stream _output;
    private readonly MasterKey _master;
    private readonly byte[] _dataKey = RandomNumberGenerator.GetBytes(MasterKeys.KeySize);
    private readonly byte[] _fileId = RandomNumberGenerator.GetBytes(16);
    private readonly AesGcm _gcm;
    private readonly byte[] _plain = new byte[EncryptedFormat.ChunkSize];
    private readonly byte[] _cipher = new byte[EncryptedFormat.ChunkSize + EncryptedFormat.TagSize];
    private int _filled;
    private long _index;
    private long _length;
    private bool _finished;

    public EncryptingStream(Stream output, MasterKey master)
    {
        _output = output;
        _master = master;
        _gcm = new AesGcm(_dataKey, EncryptedFormat.TagSize);
        _output.Position = EncryptedFormat.HeaderSize;
    }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => !_finished;

    public override long Length => _length;

    public override long Position
    {
        get => _length;
        set => throw new NotSupportedException();
    }

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("EncryptingStream is written asynchronously only");

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_finished, this);
        while (buffer.Length > 0)
        {
            if (_filled == _plain.Length)
            {
                await SealAsync(last: false, cancellationToken);
            }

            var n = Math.Min(buffer.Length, _plain.Length - _filled);
            buffer.Span[..n].CopyTo(_plain.AsSpan(_filled));
            _filled += n;
            _length += n;
            buffer = buffer[n..];
        }
    }

    /// <summary>Seals the last chunk and writes the header; the output then holds the complete encrypted file.</summary>
    public async Task FinishAsync(CancellationToken ct)
    {
        if (_filled > 0)
        {
            await SealAsync(last: true, ct);
        }

        _finished = true;
        _output.Position = 0;
        await _output.WriteAsync(EncryptedFormat.NewHeader(_length, _fileId, _dataKey, _master), ct);
        await _output.FlushAsync(ct);
    }

    private async ValueTask SealAsync(bool last, CancellationToken ct)
    {
        var nonce = new byte[12];
        var aad = new byte[EncryptedFormat.AadLength];
        EncryptedFormat.Nonce(nonce, _index);
        EncryptedFormat.Aad(aad, _fileId, _index, last);
        _gcm.Encrypt(nonce, _plain.AsSpan(0, _filled), _cipher.AsSpan(0, _filled), _cipher.AsSpan(_filled, EncryptedFormat.TagSize), aad);
        await _output.WriteAsync(_cipher.AsMemory(0, _filled + EncryptedFormat.TagSize), ct);
        _index++;
        _filled = 0;
    }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _gcm.Dispose();
            CryptographicOperations.ZeroMemory(_dataKey);
            CryptographicOperations.ZeroMemory(_plain);
        }

        base.Dispose(disposing);
    }
}
