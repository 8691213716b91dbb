using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace CallMedia.Storage;

/// <summary>
/// A seekable, read-only view of one object: reads are ranged GETs whose bodies are read as they arrive (the first
/// byte never waits for the whole object). A range starts small where a read starts (a Range request or a seek
/// fetches about what it needs) and doubles up to the block size while reading goes on; the next range is asked
/// for once 64 KiB of the current one are read, so the transfer does not pause between ranges. Memory stays flat:
/// nothing is buffered beyond the socket's own buffers.
/// </summary>
public sealed class S3ReadStream : Stream
{
    private const int FirstRange = 1024 * 1024;

    /// <summary>Once this much of a range is read, reading goes on (it is not a short Range request): the next range is asked for.</summary>
    private const int GoingOn = 64 * 1024;

    /// <summary>A seek forward by at most this much reads and drops the bytes instead of starting a new GET.</summary>
    private const int SkipLimit = 256 * 1024;

    private readonly MediaBucket _bucket;
    private readonly string _key;
    private readonly string? _etag;
    private readonly int _maxRange;
    private long _position;
    private Range? _current;
    private Task<Range>? _next;
    private long _nextStart;

    /// <param name="etag">
    /// The ETag the object had when it was looked at: every ranged GET asks for that version only (If-Match), so an
    /// object replaced while it is read fails the read instead of splicing two versions into one body.
    /// </param>
    public S3ReadStream(MediaBucket bucket, string key, long length, string? etag)
    {
        _bucket = bucket;
        _key = key;
        _etag = etag;
        Length = length;
        _maxRange = Math.Max(1, bucket.Options.ReadBlockMiB) * 1024 * 1024;
    }

    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override bool CanWrite => false;

    public override long Length { get; }

    public override long Position
    {
        get => _position;
        set => Seek(value, SeekOrigin.Begin);
    }

    public override long Seek(long offset, SeekOrigin origin)
    {
        var target = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => Length + offset,
        };
        ArgumentOutOfRangeException.ThrowIfNegative(target);
        if (target != _position && !(_current is { } c && target > _position && target < c.End && target - _position <= SkipLimit))
        {
            DropRanges();
        }
        else if (target > _position)
        {
            _current!.Skip += target - _position;
        }

        _position = target;
        return target;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var rented = System.Buffers.ArrayPool<byte>.Shared.Rent(buffer.Length);
        try
        {
            var read = ReadAsync(rented.AsMemory(0, buffer.Length)).AsTask().GetAwaiter().GetResult();
            rented.AsSpan(0, read).CopyTo(buffer);
            return read;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_position >= Length || buffer.Length == 0)
        {
            return 0;
        }

        while (true)
        {
            var range = await CurrentAsync(cancellationToken);
            int read;
            try
            {
                await range.SkipAsync(cancellationToken);
                var want = (int)Math.Min(buffer.Length, range.End - _position);
                read = await range.Body.ReadAsync(buffer[..want], cancellationToken);
            }
            catch (Exception ex) when (ex is IOException or HttpRequestException or ObjectDisposedException && !cancellationToken.IsCancellationRequested)
            {
                DropRanges();
                throw new MediaStoreUnavailableException($"reading {_key} from the object store failed ({MediaBucket.Reason(ex)})", ex);
            }

            if (read == 0)
            {
                DropRanges();
                throw new MediaStoreUnavailableException($"the object store ended {_key} early, at byte {_position} of {Length}");
            }

            _position += read;
            if (_position >= range.End)
            {
                range.Dispose();
                _current = null;
            }
            else if (_next is null && range.End < Length && _position - range.Start >= Math.Min(GoingOn, (range.End - range.Start) / 2))
            {
                // Reading goes on: ask for the next range now, so its first bytes are on their way when this one ends.
                _nextStart = range.End;
                _next = OpenAsync(range.End, NextSize(range.End - range.Start), CancellationToken.None);
            }

            return read;
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
            DropRanges();
        }

        base.Dispose(disposing);
    }

    private int NextSize(long previous) => (int)Math.Min(_maxRange, Math.Max(FirstRange, previous * 2));

    private async Task<Range> CurrentAsync(CancellationToken ct)
    {
        if (_current is { } current)
        {
            return current;
        }

        if (_next is { } next && _nextStart == _position)
        {
            _next = null;
            try
            {
                return _current = await next.WaitAsync(ct);
            }
            catch (OperationCanceledException)
            {
                _ = DisposeWhenOpenAsync(next); // the range still opening holds a pooled connection: close it when it comes
                throw;
            }
        }

        DropNext();
        return _current = await OpenAsync(_position, FirstRange, ct);
    }

    private async Task<Range> OpenAsync(long start, int size, CancellationToken ct)
    {
        var end = Math.Min(Length, start + size);
        var response = await _bucket.CallAsync(
            async token =>
            {
                try
                {
                    return await _bucket.Client.GetObjectAsync(new GetObjectRequest { BucketName = _bucket.Name, Key = _key, ByteRange = new ByteRange(start, end - 1), EtagToMatch = _etag }, token);
                }
                catch (AmazonS3Exception ex) when (ex.StatusCode == System.Net.HttpStatusCode.PreconditionFailed)
                {
                    throw new MediaStoreUnavailableException($"{_key} was replaced in the object store while being read (at byte {start} of {Length})", ex);
                }
            },
            "reading " + _key,
            ct);
        return new Range(response, start, end);
    }

    private void DropRanges()
    {
        _current?.Dispose();
        _current = null;
        DropNext();
    }

    private void DropNext()
    {
        if (_next is { } next)
        {
            _next = null;
            _ = DisposeWhenOpenAsync(next);
        }
    }

    private static async Task DisposeWhenOpenAsync(Task<Range> opening)
    {
        try
        {
            (await opening).Dispose();
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException or ObjectDisposedException or OperationCanceledException or AmazonServiceException)
        {
            // Nobody waits for it any more.
        }
    }

    private sealed class Range(GetObjectResponse response, long start, long end) : IDisposable
    {
        public long Start { get; } = start;

        public long End { get; } = end;

        public Stream Body => response.ResponseStream;

        /// <summary>Bytes to read and drop before the next read (a short seek forward).</summary>
        public long Skip { get; set; }

        public async Task SkipAsync(CancellationToken ct)
        {
            if (Skip == 0)
            {
                return;
            }

            var scratch = new byte[(int)Math.Min(Skip, 64 * 1024)];
            while (Skip > 0)
            {
                var read = await Body.ReadAsync(scratch.AsMemory(0, (int)Math.Min(Skip, scratch.Length)), ct);
                if (read == 0)
                {
                    throw new MediaStoreUnavailableException("the object store ended a range early");
                }

                Skip -= read;
            }
        }

        public void Dispose() => response.Dispose();
    }
}
