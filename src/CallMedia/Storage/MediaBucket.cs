using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace CallMedia.Storage;

/// <summary>The object store is unreachable or refused a request: the client should retry later (503 + Retry-After).</summary>
public sealed class MediaStoreUnavailableException(string message, Exception? inner = null) : IOException(message, inner);

/// <summary>
/// The configured bucket and a client for it: path-style by default, and checksums only where an operation requires
/// them (the trailing checksums recent SDKs send by default are refused by stores such as Ceph 16), so no
/// environment variable is needed for that.
/// </summary>
public sealed class MediaBucket : IDisposable
{
    public MediaBucket(S3StorageOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.Bucket))
        {
            throw new InvalidOperationException("Storage:S3:Bucket is not set");
        }

        Name = options.Bucket;
        Options = options;
        var config = new AmazonS3Config
        {
            ForcePathStyle = options.PathStyle,
            AuthenticationRegion = options.Region,
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            MaxErrorRetry = 2,
            Timeout = TimeSpan.FromSeconds(30),
            ConnectTimeout = TimeSpan.FromSeconds(5),
            MaxConnectionsPerServer = 256,
        };
        if (string.IsNullOrWhiteSpace(options.ServiceUrl))
        {
            config.RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(options.Region);
        }
        else
        {
            config.ServiceURL = options.ServiceUrl;
        }

        Client = string.IsNullOrEmpty(options.AccessKey)
            ? new AmazonS3Client(config)
            : new AmazonS3Client(new BasicAWSCredentials(options.AccessKey, options.SecretKey ?? ""), config);
    }

    public string Name { get; }

    public S3StorageOptions Options { get; }

    public IAmazonS3 Client { get; }

    /// <summary><c>Storage:S3:TimeoutSeconds</c>: the longest one operation on the store waits, its retries included.</summary>
    public TimeSpan Timeout => TimeSpan.FromSeconds(Math.Max(1, Options.TimeoutSeconds));

    public void Dispose() => Client.Dispose();

    /// <summary>
    /// Runs one operation on the store, bounded by <see cref="Timeout"/> (retries included) and by the caller's token:
    /// a store that hangs fails the operation as unavailable instead of holding the caller for the SDK's timeouts and
    /// retries. Errors reaching the store become <see cref="MediaStoreUnavailableException"/> (or a missing object
    /// <see cref="FileNotFoundException"/>); the caller giving up stays an <see cref="OperationCanceledException"/>.
    /// </summary>
    public async Task<T> CallAsync<T>(Func<CancellationToken, Task<T>> call, string what, CancellationToken ct)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bounded.CancelAfter(Timeout);
        try
        {
            return await call(bounded.Token);
        }
        catch (Exception ex) when (!ct.IsCancellationRequested && bounded.IsCancellationRequested)
        {
            throw new MediaStoreUnavailableException($"{what}: the object store did not answer within {Options.TimeoutSeconds} s", ex);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            throw S3MediaStorage.Unavailable(ex, what);
        }
    }

    /// <summary>
    /// Signs in and looks at the bucket; the reason it cannot be used, naming the setting to fix, or null when it can.
    /// </summary>
    public async Task<string?> ProblemAsync(CancellationToken ct)
    {
        try
        {
            await Client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = Name, MaxKeys = 1 }, ct);
            return null;
        }
        catch (AmazonS3Exception ex) when (ex.ErrorCode is "NoSuchBucket" || ex.StatusCode == HttpStatusCode.NotFound)
        {
            return $"Storage:S3:Bucket: the bucket '{Name}' does not exist at {Where}";
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode is HttpStatusCode.Forbidden or HttpStatusCode.Unauthorized)
        {
            return $"Storage:S3:AccessKey / Storage:S3:SecretKey (or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY): the store at {Where} refused them for bucket '{Name}' ({ex.ErrorCode})";
        }
        catch (AmazonClientException ex) when (ex.Message.Contains("credentials", StringComparison.OrdinalIgnoreCase))
        {
            return "Storage:S3:AccessKey / Storage:S3:SecretKey: no credentials are configured (nor AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)";
        }
        catch (Exception ex) when (ex is AmazonServiceException or AmazonClientException or HttpRequestException or IOException or TaskCanceledException)
        {
            return $"Storage:S3:ServiceUrl: the object store at {Where} is unreachable ({Reason(ex)})";
        }
    }

    private string Where => string.IsNullOrWhiteSpace(Options.ServiceUrl) ? $"AWS {Options.Region}" : Options.ServiceUrl;

    /// <summary>A short reason for an error, without request details.</summary>
    public static string Reason(Exception ex) => ex switch
    {
        AmazonServiceException s when s.StatusCode != 0 => $"{(int)s.StatusCode} {s.ErrorCode}",
        _ when ex.InnerException is { } inner && ex is AmazonClientException or HttpRequestException => Reason(inner),
        _ => ex.GetType().Name + ": " + ex.Message,
    };
}
