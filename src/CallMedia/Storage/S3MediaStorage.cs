using System.Buffers;
using System.IO.Hashing;
using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace CallMedia.Storage;

/// <summary>
/// Media in an S3-compatible bucket (<c>Storage:Kind=s3</c>). A stored path inside the media folder is the object
/// key (<c>2024/05/01/x.wav</c>, <c>.cache/mp3/k.mp3</c>); a file linked in place by <c>import --link</c> stays the
/// operator's local file and is read where it is. Reads are ranged GETs (<see cref="S3ReadStream"/>); ffmpeg reads
/// local copies (<see cref="S3InputCache"/>); writes upload from a local file (in parts when large, the CRC-32 computed
/// on the way) and are checked with a HEAD before the caller records them. Objects are stored plain: encryption at
/// rest is the store's (server-side encryption), <c>Storage:Encryption=on</c> is refused with this kind.
/// </summary>
public sealed class S3MediaStorage(MediaBucket bucket, MediaRoot media, LocalMediaStorage linked, S3InputCache inputs) : IMediaStorage
{
    private const int MaxPartsInFlight = 3;

    /// <summary>How long a HEAD's answer is reused by <see cref="OpenRead"/>: a zip of 1,000 calls asks for each length once (planning), not twice.</summary>
    private const long RecentMs = 10_000;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (Head Head, long At)> _recent = new(StringComparer.Ordinal);

    public bool EncryptsNewObjects => false;

    public MediaBucket Bucket => bucket;

    /// <summary>The object key of a stored path, or null for a file linked in place outside the media folder.</summary>
    public string? KeyOf(string path)
    {
        var full = media.Resolve(path);
        return full.StartsWith(media.Root + Path.DirectorySeparatorChar, StringComparison.Ordinal)
            ? Path.GetRelativePath(media.Root, full).Replace(Path.DirectorySeparatorChar, '/')
            : null;
    }

    /// <remarks>
    /// An object not (yet) in the bucket is looked for in the local media folder, so nodes switched to the bucket
    /// keep serving what <c>storage migrate --to s3</c> has not moved yet.
    /// </remarks>
    public StoredObject? Stat(string path) =>
        KeyOf(path) is { } key ? HeadAsync(key, CancellationToken.None).GetAwaiter().GetResult() ?? linked.Stat(path) : linked.Stat(path);

    /// <inheritdoc cref="Stat"/>
    public async Task<StoredObject?> StatAsync(string path, CancellationToken ct) =>
        KeyOf(path) is { } key ? await HeadAsync(key, ct) ?? linked.Stat(path) : linked.Stat(path);

    public string? PlainLocalPath(string path) => KeyOf(path) is null ? linked.PlainLocalPath(path) : null;

    /// <summary>Objects in the bucket have no identity; a local file not migrated yet is the local storage's.</summary>
    public OpenFile? OpenLooked(StoredObject stored) => linked.OpenLooked(stored);

    public Stream OpenRead(string path)
    {
        if (KeyOf(path) is not { } key)
        {
            return linked.OpenRead(path);
        }

        var head = _recent.TryGetValue(key, out var recent) && Environment.TickCount64 - recent.At < RecentMs
            ? recent.Head
            : HeadObjectAsync(key, CancellationToken.None).GetAwaiter().GetResult();
        return head is not null
            ? new S3ReadStream(bucket, key, head.Stat.Length, head.ETag)
            : linked.OpenRead(path); // not migrated yet: the local file, or FileNotFoundException
    }

    public async Task<LocalInput> OpenLocalInputAsync(string path, string extension, CancellationToken ct)
    {
        if (KeyOf(path) is not { } key)
        {
            return await linked.OpenLocalInputAsync(path, extension, ct);
        }

        if (await HeadObjectAsync(key, ct) is not { } head)
        {
            return await linked.OpenLocalInputAsync(path, extension, ct); // not migrated yet
        }

        return await inputs.GetAsync(key, extension, head.Stat, (target, token) => DownloadAsync(key, head, target, token), ct);
    }

    public Task<(long Size, uint Crc)> StoreAsync(string sourceFile, string path, CancellationToken ct) =>
        UploadAsync(sourceFile, KeyOrRefuse(path), ct);

    public string NewTempPath(string extension) => media.NewTempPath(extension);

    public async Task<(long Size, uint Crc)> CommitAsync(string tempFile, string path, CancellationToken ct)
    {
        try
        {
            return await UploadAsync(tempFile, KeyOrRefuse(path), ct);
        }
        finally
        {
            File.Delete(tempFile);
        }
    }

    public async Task<(long Size, uint Crc)> HashAsync(string path, CancellationToken ct)
    {
        if (KeyOf(path) is not { } key || await HeadAsync(key, ct) is null)
        {
            return await linked.HashAsync(path, ct);
        }

        return await HashObjectAsync(key, ct);
    }

    /// <summary>Size and CRC-32 of an object as the store returns it (never a local copy).</summary>
    public async Task<(long Size, uint Crc)> HashObjectAsync(string key, CancellationToken ct)
    {
        var head = await HeadObjectAsync(key, ct) ?? throw new FileNotFoundException($"no object {key} in the bucket");
        await using var source = new S3ReadStream(bucket, key, head.Stat.Length, head.ETag);
        var crc = new Crc32();
        long size = 0;
        var buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            int read;
            while ((read = await source.ReadAsync(buffer.AsMemory(0, 1 << 20), ct)) > 0)
            {
                crc.Append(buffer.AsSpan(0, read));
                size += read;
            }

            return (size, crc.GetCurrentHashAsUInt32());
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// With <c>Storage:S3:RedirectDownloads</c>, a presigned GET of the object a stored path names, valid for
    /// <c>Storage:S3:RedirectSeconds</c> and answered with the download's type and disposition; null when redirects
    /// are off or the file is not in the bucket (linked in place, or not migrated yet).
    /// </summary>
    public async Task<string?> PresignAsync(string path, string contentType, string disposition, CancellationToken ct)
    {
        if (!bucket.Options.RedirectDownloads || KeyOf(path) is not { } key || await HeadAsync(key, ct) is null)
        {
            return null;
        }

        var request = new GetPreSignedUrlRequest
        {
            BucketName = bucket.Name,
            Key = key,
            Verb = HttpVerb.GET,
            // The store checks the expiry against its own clock: the real time, not the service's TimeProvider.
            Expires = TimeProvider.System.GetUtcNow().UtcDateTime.AddSeconds(bucket.Options.RedirectSeconds),
            Protocol = bucket.Options.ServiceUrl?.StartsWith("http://", StringComparison.OrdinalIgnoreCase) == true ? Protocol.HTTP : Protocol.HTTPS,
            ResponseHeaderOverrides = { ContentType = contentType, ContentDisposition = disposition },
        };
        return await bucket.Client.GetPreSignedURLAsync(request);
    }

    /// <summary>Deletes an object from the bucket only (a local copy stays).</summary>
    public async Task DeleteObjectAsync(string key, CancellationToken ct)
    {
        _recent.TryRemove(key, out _);
        await Call(() => bucket.Client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = bucket.Name, Key = key }, ct), "deleting " + key);
    }

    public bool Exists(string path) => Stat(path) is not null;

    public void Delete(string path)
    {
        if (KeyOf(path) is not { } key)
        {
            linked.Delete(path);
            return;
        }

        _recent.TryRemove(key, out _);
        Call(() => bucket.Client.DeleteObjectAsync(bucket.Name, key), "deleting " + key).GetAwaiter().GetResult();
        linked.Delete(path); // a local copy not migrated (or not deleted by the migration) goes too
    }

    /// <summary>Length and time of an object; null when there is none.</summary>
    public async Task<StoredObject?> HeadAsync(string key, CancellationToken ct) => (await HeadObjectAsync(key, ct))?.Stat;

    /// <summary>
    /// Length, time and ETag of an object (null when there is none), asked within <c>Storage:S3:TimeoutSeconds</c>;
    /// the answer is kept a few seconds for <see cref="OpenRead"/>.
    /// </summary>
    private async Task<Head?> HeadObjectAsync(string key, CancellationToken ct)
    {
        var head = await bucket.CallAsync(
            async token =>
            {
                try
                {
                    var response = await bucket.Client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = bucket.Name, Key = key }, token);
                    return new Head(new StoredObject(response.ContentLength, new DateTimeOffset(response.LastModified ?? default, TimeSpan.Zero), false), response.ETag);
                }
                catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound)
                {
                    return null;
                }
            },
            "looking up " + key,
            ct);
        if (head is null)
        {
            _recent.TryRemove(key, out _);
            return null;
        }

        _recent[key] = (head, Environment.TickCount64);
        if (_recent.Count > 100_000)
        {
            _recent.Clear();
        }

        return head;
    }

    /// <summary>
    /// Uploads a local file as the object <paramref name="key"/>: one PUT when small, else a multipart upload with a
    /// few parts in flight; the file is read once, its CRC-32 computed on the way. The object is checked with a HEAD
    /// (its length) before this returns, so a caller records only what is really stored. A failed multipart upload
    /// is aborted (no orphan parts).
    /// </summary>
    public async Task<(long Size, uint Crc)> UploadAsync(string sourceFile, string key, CancellationToken ct)
    {
        _recent.TryRemove(key, out _);
        var partSize = Math.Max(5, bucket.Options.PartSizeMiB) * 1024 * 1024;
        await using var source = new FileStream(sourceFile, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
        var length = source.Length;
        var crc = new Crc32();
        if (length <= partSize)
        {
            var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Max(1, length));
            try
            {
                await source.ReadExactlyAsync(buffer.AsMemory(0, (int)length), ct);
                crc.Append(buffer.AsSpan(0, (int)length));
                using var body = new MemoryStream(buffer, 0, (int)length, writable: false);
                await Call(() => bucket.Client.PutObjectAsync(new PutObjectRequest { BucketName = bucket.Name, Key = key, InputStream = body, AutoCloseStream = false, Headers = { ContentLength = length } }, ct), "uploading " + key);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
        else
        {
            await UploadPartsAsync(source, key, length, partSize, crc, ct);
        }

        var stored = await HeadAsync(key, ct);
        if (stored?.Length != length)
        {
            throw new MediaStoreUnavailableException($"uploading {key}: the store holds {stored?.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "no object"} instead of {length} bytes");
        }

        return (length, crc.GetCurrentHashAsUInt32());
    }

    private async Task UploadPartsAsync(FileStream source, string key, long length, int partSize, Crc32 crc, CancellationToken ct)
    {
        var upload = await Call(() => bucket.Client.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest { BucketName = bucket.Name, Key = key }, ct), "uploading " + key);
        var parts = new List<PartETag>();
        var inFlight = new List<Task<PartETag>>();
        try
        {
            var number = 0;
            for (long offset = 0; offset < length; offset += partSize)
            {
                var size = (int)Math.Min(partSize, length - offset);
                var buffer = ArrayPool<byte>.Shared.Rent(size);
                await source.ReadExactlyAsync(buffer.AsMemory(0, size), ct);
                crc.Append(buffer.AsSpan(0, size));
                inFlight.Add(UploadPartAsync(upload.UploadId, key, ++number, buffer, size, ct));
                if (inFlight.Count >= MaxPartsInFlight)
                {
                    var done = await Task.WhenAny(inFlight);
                    inFlight.Remove(done);
                    parts.Add(await done);
                }
            }

            parts.AddRange(await Task.WhenAll(inFlight));
            inFlight.Clear();
            parts.Sort((a, b) => (a.PartNumber ?? 0).CompareTo(b.PartNumber ?? 0));
            // Some stores (Ceph) answer with an empty ETag here: the HEAD after this is the check.
            await Call(() => bucket.Client.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest { BucketName = bucket.Name, Key = key, UploadId = upload.UploadId, PartETags = parts }, ct), "uploading " + key);
        }
        catch
        {
            try
            {
                await Task.WhenAll(inFlight);
            }
            catch (Exception)
            {
                // Already failing; the abort below discards whatever parts arrived.
            }

            try
            {
                await bucket.Client.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = bucket.Name, Key = key, UploadId = upload.UploadId }, CancellationToken.None);
            }
            catch (Exception ex) when (ex is AmazonServiceException or AmazonClientException or HttpRequestException or IOException)
            {
                // The store is away: its own lifecycle rules remove incomplete uploads.
            }

            throw;
        }
    }

    private async Task<PartETag> UploadPartAsync(string uploadId, string key, int number, byte[] buffer, int size, CancellationToken ct)
    {
        try
        {
            using var body = new MemoryStream(buffer, 0, size, writable: false);
            var response = await Call(() => bucket.Client.UploadPartAsync(new UploadPartRequest { BucketName = bucket.Name, Key = key, UploadId = uploadId, PartNumber = number, InputStream = body, PartSize = size }, ct), "uploading " + key);
            return new PartETag(number, response.ETag);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task DownloadAsync(string key, Head head, string target, CancellationToken ct)
    {
        await using var source = new S3ReadStream(bucket, key, head.Stat.Length, head.ETag);
        await using var output = PrivateFile.Create(target);
        await source.CopyToAsync(output, 1 << 20, ct);
    }

    private string KeyOrRefuse(string path) =>
        KeyOf(path) ?? throw new InvalidOperationException("with Storage:Kind=s3 new objects are written to the bucket, never outside the media folder");

    private static async Task<T> Call<T>(Func<Task<T>> call, string what)
    {
        try
        {
            return await call();
        }
        catch (Exception ex) when (ex is AmazonServiceException or AmazonClientException or HttpRequestException or IOException and not MediaStoreUnavailableException)
        {
            throw Unavailable(ex, what);
        }
    }

    /// <summary>An error reaching the store as the exception delivery turns into 503 + Retry-After.</summary>
    internal static Exception Unavailable(Exception ex, string what) => ex switch
    {
        MediaStoreUnavailableException or FileNotFoundException => ex,
        AmazonS3Exception { StatusCode: HttpStatusCode.NotFound } => new FileNotFoundException($"{what}: no such object", ex),
        AmazonServiceException or AmazonClientException or HttpRequestException or IOException or TaskCanceledException or TimeoutException =>
            new MediaStoreUnavailableException($"{what}: the object store is unavailable ({MediaBucket.Reason(ex)})", ex),
        _ => ex,
    };

    /// <summary>What a HEAD tells of an object: its length and time, and the ETag its reads are pinned to.</summary>
    private sealed record Head(StoredObject Stat, string? ETag);
}
